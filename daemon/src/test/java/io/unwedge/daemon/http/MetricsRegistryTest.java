package io.unwedge.daemon.http;

import static io.unwedge.core.RecoveryMethod.BUS_RESET;
import static io.unwedge.core.RecoveryMethod.REBIND;
import static io.unwedge.daemon.RecoveryReport.Result.DRY_RUN;
import static io.unwedge.daemon.RecoveryReport.Result.FAILED;
import static io.unwedge.daemon.RecoveryReport.Result.HANDED_OFF;
import static io.unwedge.daemon.RecoveryReport.Result.NOTHING_TO_DO;
import static io.unwedge.daemon.RecoveryReport.Result.RECOVERED;
import static io.unwedge.daemon.RecoveryReport.Result.REFUSED;
import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.RecoveryReport;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

    static String text(MetricsRegistry r) {
        var out = new Exposition();
        r.writeTo(out);
        return out.text();
    }

    static final String EMPTY = """
            # HELP unwedge_recoveries_total Wedge handlings ended, one per attempt (an escalation is several), by the method tried and how it ended.
            # TYPE unwedge_recoveries_total counter
            # HELP unwedge_recovery_duration_seconds Wall time of each attempt that acted (recovered, failed or handed-off), from its start to its end, by method.
            # TYPE unwedge_recovery_duration_seconds histogram
            # HELP unwedge_unbind_latency_seconds From the kernel's delivery of a wedge event to its first unbind write returning (the drain included), once per wedge.
            # TYPE unwedge_unbind_latency_seconds histogram
            unwedge_unbind_latency_seconds_bucket{le="0.0005"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.001"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.002"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.005"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.01"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.05"} 0
            unwedge_unbind_latency_seconds_bucket{le="0.1"} 0
            unwedge_unbind_latency_seconds_bucket{le="+Inf"} 0
            unwedge_unbind_latency_seconds_sum 0
            unwedge_unbind_latency_seconds_count 0
            """;

    @Test
    void beforeAnyReportEachFamilyIsDeclaredAndTheLatencyHistogramIsZero() {
        assertThat(text(new MetricsRegistry())).isEqualTo(EMPTY);
    }

    @Test
    void aKnownSequenceOfReportsGivesExactlyThisText() {
        var r = new MetricsRegistry();
        var card1 = wedge("card1", "0000:06:00.0", 10);
        // an escalation: two reports of one wedge, both carrying its first unbind's latency (counted once)
        r.finished(report(card1, REBIND, FAILED, 2400, 1500L));
        r.finished(report(card1, BUS_RESET, RECOVERED, 5000, 1500L));
        r.finished(report(wedge("card0", "0000:03:00.0", 11), REBIND, RECOVERED, 412, 850L));
        r.finished(report(wedge("card0", "0000:03:00.0", 12), null, NOTHING_TO_DO, 3, null));
        r.finished(report(wedge("card0", "0000:03:00.0", 13), null, REFUSED, 1, null));
        // on a bound: le is inclusive
        r.finished(report(wedge("card0", "0000:03:00.0", 14), REBIND, RECOVERED, 100, 100_000L));
        r.finished(report(wedge("card0", "0000:03:00.0", 15), REBIND, DRY_RUN, 0, null));
        assertThat(text(r)).isEqualTo("""
                # HELP unwedge_recoveries_total Wedge handlings ended, one per attempt (an escalation is several), by the method tried and how it ended.
                # TYPE unwedge_recoveries_total counter
                unwedge_recoveries_total{method="bus-reset",result="recovered"} 1
                unwedge_recoveries_total{method="none",result="nothing-to-do"} 1
                unwedge_recoveries_total{method="none",result="refused"} 1
                unwedge_recoveries_total{method="rebind",result="dry-run"} 1
                unwedge_recoveries_total{method="rebind",result="failed"} 1
                unwedge_recoveries_total{method="rebind",result="recovered"} 2
                # HELP unwedge_recovery_duration_seconds Wall time of each attempt that acted (recovered, failed or handed-off), from its start to its end, by method.
                # TYPE unwedge_recovery_duration_seconds histogram
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="0.1"} 0
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="0.5"} 0
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="1"} 0
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="2"} 0
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="5"} 1
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="10"} 1
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="30"} 1
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="60"} 1
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="120"} 1
                unwedge_recovery_duration_seconds_bucket{method="bus-reset",le="+Inf"} 1
                unwedge_recovery_duration_seconds_sum{method="bus-reset"} 5
                unwedge_recovery_duration_seconds_count{method="bus-reset"} 1
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="0.1"} 1
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="0.5"} 2
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="1"} 2
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="2"} 2
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="5"} 3
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="10"} 3
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="30"} 3
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="60"} 3
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="120"} 3
                unwedge_recovery_duration_seconds_bucket{method="rebind",le="+Inf"} 3
                unwedge_recovery_duration_seconds_sum{method="rebind"} 2.912
                unwedge_recovery_duration_seconds_count{method="rebind"} 3
                # HELP unwedge_unbind_latency_seconds From the kernel's delivery of a wedge event to its first unbind write returning (the drain included), once per wedge.
                # TYPE unwedge_unbind_latency_seconds histogram
                unwedge_unbind_latency_seconds_bucket{le="0.0005"} 0
                unwedge_unbind_latency_seconds_bucket{le="0.001"} 1
                unwedge_unbind_latency_seconds_bucket{le="0.002"} 2
                unwedge_unbind_latency_seconds_bucket{le="0.005"} 2
                unwedge_unbind_latency_seconds_bucket{le="0.01"} 2
                unwedge_unbind_latency_seconds_bucket{le="0.05"} 2
                unwedge_unbind_latency_seconds_bucket{le="0.1"} 3
                unwedge_unbind_latency_seconds_bucket{le="+Inf"} 3
                unwedge_unbind_latency_seconds_sum 0.10235
                unwedge_unbind_latency_seconds_count 3
                """);
    }

    @Test
    void onlyAttemptsThatActedAreTimed() {
        for (var result : RecoveryReport.Result.values()) {
            var r = new MetricsRegistry();
            r.finished(report(wedge("card0", "0000:03:00.0", 1), RecoveryMethod.VENDOR_SPECIFIC, result, 700, null));
            assertThat(text(r)).as(result.toString())
                    .contains("unwedge_recoveries_total{method=\"vendor-specific\",result=\"" + result + "\"} 1\n");
            boolean timed = result == RECOVERED || result == FAILED || result == HANDED_OFF;
            assertThat(text(r).contains("unwedge_recovery_duration_seconds_count{method=\"vendor-specific\"} 1\n")).as(result.toString()).isEqualTo(timed);
        }
    }

    @Test
    void reportsFromManyActorsAtOnceAreAllCounted() throws Exception {
        var r = new MetricsRegistry();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int d = 0; d < 16; d++) {
                String bdf = String.format("0000:%02x:00.0", d + 1);
                pool.submit(() -> {
                    for (int i = 0; i < 500; i++) r.finished(report(wedge("card0", bdf, 1000 + i), REBIND, RECOVERED, 300, 700L));
                });
            }
        }
        assertThat(text(r)).contains("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"} 8000\n",
                "unwedge_recovery_duration_seconds_count{method=\"rebind\"} 8000\n",
                "unwedge_recovery_duration_seconds_sum{method=\"rebind\"} 2400\n",
                "unwedge_unbind_latency_seconds_count 8000\n", "unwedge_unbind_latency_seconds_sum 5.6\n");
    }
}
