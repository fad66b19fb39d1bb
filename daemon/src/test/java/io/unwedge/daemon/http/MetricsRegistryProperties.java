package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.RecoveryReport;
import java.math.BigDecimal;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

class MetricsRegistryProperties {

    /**
     * Against a plain count in whole milliseconds and microseconds: each le bucket holds the attempts at or
     * below it (a duration exactly on a bound included: ms and µs become seconds without missing one), count
     * is all of them, sum their total.
     */
    @Property(tries = 200, seed = "6")
    void bucketsMatchAPlainCount(@ForAll("millis") List<Long> millis, @ForAll("micros") List<Long> micros) {
        var r = new MetricsRegistry();
        long seq = 1;
        for (long ms : millis) r.finished(report(wedge("card0", "0000:03:00.0", seq++), RecoveryMethod.REBIND, RecoveryReport.Result.RECOVERED, ms, null));
        for (long us : micros) r.finished(report(wedge("card1", "0000:06:00.0", seq++), RecoveryMethod.REBIND, RecoveryReport.Result.REFUSED, 0, us));
        var e = MetricsRegistryTest.scrape(r);
        if (!millis.isEmpty()) {
            for (double bound : MetricsRegistry.DURATION_SECONDS) {
                long boundMs = Math.round(bound * 1000);
                assertThat(e.value("unwedge_recovery_duration_seconds_bucket{method=\"rebind\",le=\"" + plain(bound) + "\"}")).as("le " + bound)
                        .isEqualTo(millis.stream().filter(m -> m <= boundMs).count());
            }
            assertThat(e.value("unwedge_recovery_duration_seconds_bucket{method=\"rebind\",le=\"+Inf\"}")).isEqualTo(millis.size());
            assertThat(e.value("unwedge_recovery_duration_seconds_count{method=\"rebind\"}")).isEqualTo(millis.size());
            assertThat(e.value("unwedge_recovery_duration_seconds_sum{method=\"rebind\"}"))
                    .isCloseTo(millis.stream().mapToLong(Long::longValue).sum() / 1e3, within(1e-6));
        } else {
            assertThat(e.has("unwedge_recovery_duration_seconds")).isFalse();
        }
        for (double bound : MetricsRegistry.LATENCY_SECONDS) {
            long boundUs = Math.round(bound * 1e6);
            assertThat(e.value("unwedge_unbind_latency_seconds_bucket{le=\"" + plain(bound) + "\"}")).as("le " + bound)
                    .isEqualTo(micros.stream().filter(u -> u <= boundUs).count());
        }
        assertThat(e.value("unwedge_unbind_latency_seconds_count")).isEqualTo(micros.size());
        assertThat(e.value("unwedge_unbind_latency_seconds_sum")).isCloseTo(micros.stream().mapToLong(Long::longValue).sum() / 1e6, within(1e-9));
    }

    /** Any, and often a bound or next to one. */
    static Arbitrary<List<Long>> around(double[] bounds, double unitsPerSecond) {
        var near = new java.util.ArrayList<Long>();
        for (double b : bounds) {
            long u = Math.round(b * unitsPerSecond);
            near.addAll(List.of(u - 1, u, u + 1));
        }
        return Arbitraries.oneOf(Arbitraries.longs().between(0, 200_000), Arbitraries.of(near)).list().ofMaxSize(40);
    }

    @Provide
    Arbitrary<List<Long>> millis() {
        return around(MetricsRegistry.DURATION_SECONDS, 1e3);
    }

    @Provide
    Arbitrary<List<Long>> micros() {
        return around(MetricsRegistry.LATENCY_SECONDS, 1e6);
    }

    static String plain(double d) {
        return new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
    }
}
