package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class HistogramTest {

    static String write(Histogram h, String... labels) {
        var out = new Exposition();
        h.writeTo(out, "t_seconds", labels);
        return out.text();
    }

    @Test
    void bucketsAreCumulativeUpperBoundsInclusiveWithSumAndCount() {
        var h = new Histogram(3, 100, 500, 1000);
        for (long ms : new long[] {0, 100, 101, 500, 999, 1000, 1001, 60_000}) h.observe(ms);
        assertThat(write(h, "method", "rebind")).isEqualTo("""
                t_seconds_bucket{method="rebind",le="0.1"} 2
                t_seconds_bucket{method="rebind",le="0.5"} 4
                t_seconds_bucket{method="rebind",le="1"} 6
                t_seconds_bucket{method="rebind",le="+Inf"} 8
                t_seconds_sum{method="rebind"} 63.701
                t_seconds_count{method="rebind"} 8
                """);
    }

    @Test
    void emptyIsEveryBucketZero() {
        assertThat(write(new Histogram(6, 500, 1000))).isEqualTo("""
                t_seconds_bucket{le="0.0005"} 0
                t_seconds_bucket{le="0.001"} 0
                t_seconds_bucket{le="+Inf"} 0
                t_seconds_sum 0
                t_seconds_count 0
                """);
    }

    @Test
    void aNegativeObservationCountsAsZero() {
        var h = new Histogram(3, 100);
        h.observe(-5);
        assertThat(write(h)).contains("t_seconds_bucket{le=\"0.1\"} 1\n", "t_seconds_sum 0\n");
    }

    @Test
    void boundsMustAscend() {
        assertThatThrownBy(() -> new Histogram(3, 100, 100)).hasMessageContaining("strictly ascending");
        assertThatThrownBy(() -> new Histogram(3)).hasMessageContaining("at least one bound");
    }

    @Test
    void concurrentObserversLoseNothing() throws Exception {
        var h = new Histogram(3, 1, 2, 3);
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int t = 0; t < 8; t++) pool.submit(() -> {
                for (int i = 0; i < 10_000; i++) h.observe(i % 5);
            });
        }
        // per thread: 2000 each of 0..4; sum 20000
        assertThat(write(h)).isEqualTo("""
                t_seconds_bucket{le="0.001"} 32000
                t_seconds_bucket{le="0.002"} 48000
                t_seconds_bucket{le="0.003"} 64000
                t_seconds_bucket{le="+Inf"} 80000
                t_seconds_sum 160
                t_seconds_count 80000
                """);
    }
}
