package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.LongRange;
import net.jqwik.api.constraints.Size;

class HistogramProperties {

    /** Against a reference: each le bucket is the count of observations at or below it; count and sum are the plain ones. */
    @Property(tries = 300, seed = "6")
    void bucketsMatchAPlainCount(@ForAll @Size(max = 60) List<@LongRange(min = 0, max = 200_000) Long> millis) {
        long[] bounds = MetricsRegistry.DURATION_MS;
        var h = new Histogram(3, bounds);
        millis.forEach(h::observe);
        var expected = new ArrayList<String>();
        for (long b : bounds) {
            expected.add("t_seconds_bucket{le=\"" + Exposition.seconds(b, 3) + "\"} " + millis.stream().filter(m -> m <= b).count());
        }
        expected.add("t_seconds_bucket{le=\"+Inf\"} " + millis.size());
        expected.add("t_seconds_sum " + Exposition.seconds(millis.stream().mapToLong(Long::longValue).sum(), 3));
        expected.add("t_seconds_count " + millis.size());
        assertThat(HistogramTest.write(h).lines().toList()).containsExactlyElementsOf(expected);
    }
}
