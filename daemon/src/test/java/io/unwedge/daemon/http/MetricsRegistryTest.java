package io.unwedge.daemon.http;

import static io.unwedge.core.RecoveryMethod.BUS_RESET;
import static io.unwedge.core.RecoveryMethod.REBIND;
import static io.unwedge.daemon.RecoveryReport.Result.DRY_RUN;
import static io.unwedge.daemon.RecoveryReport.Result.FAILED;
import static io.unwedge.daemon.RecoveryReport.Result.HANDED_OFF;
import static io.unwedge.daemon.RecoveryReport.Result.NOTHING_TO_DO;
import static io.unwedge.daemon.RecoveryReport.Result.RECOVERED;
import static io.unwedge.daemon.RecoveryReport.Result.REFUSED;
import static io.unwedge.daemon.http.Reports.drain;
import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.step;
import static io.unwedge.daemon.http.Reports.wedge;
import static java.util.Map.entry;
import static org.assertj.core.api.Assertions.assertThat;

import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult.Outcome;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Map;
import java.util.concurrent.Executors;
import org.junit.jupiter.api.Test;

class MetricsRegistryTest {

    /** The registry's families alone, as the client's 0.0.4 writer puts them. */
    static String text(MetricsRegistry r) {
        var out = new ByteArrayOutputStream();
        try {
            PrometheusTextFormatWriter.create().write(out, r.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    static Exposed scrape(MetricsRegistry r) {
        return Exposed.parse(text(r));
    }

    /** The latency histogram's series with every bucket at {@code counts} (cumulative, +Inf last), its sum and count. */
    static Map<String, Double> latency(double sum, long... counts) {
        return histogram("unwedge_unbind_latency_seconds", "", new String[] {"0.0005", "0.001", "0.002", "0.005", "0.01", "0.05", "0.1", "+Inf"}, sum, counts);
    }

    static Map<String, Double> duration(String method, double sum, long... counts) {
        return histogram("unwedge_recovery_duration_seconds", "method=\"" + method + "\",",
                new String[] {"0.1", "0.5", "1", "2", "5", "10", "30", "60", "120", "+Inf"}, sum, counts);
    }

    static Map<String, Double> histogram(String name, String labels, String[] le, double sum, long... counts) {
        assertThat(counts).hasSameSizeAs(le);
        var m = new LinkedHashMap<String, Double>();
        for (int i = 0; i < le.length; i++) m.put(name + "_bucket{" + labels + "le=\"" + le[i] + "\"}", (double) counts[i]);
        String plain = labels.isEmpty() ? "" : "{" + labels.substring(0, labels.length() - 1) + "}";
        m.put(name + "_sum" + plain, sum);
        m.put(name + "_count" + plain, (double) counts[counts.length - 1]);
        return m;
    }

    static final Map<String, String> HELP = Map.of(
            "unwedge_recoveries_total", "Wedge handlings ended, one per attempt (an escalation is several), by the method tried and how it ended.",
            "unwedge_recovery_duration_seconds", "Wall time of each attempt that acted (recovered, failed or handed-off), from its start to its end, by method.",
            "unwedge_unbind_latency_seconds", "From the kernel's delivery of a wedge event to its first unbind write returning (the drain included), once per wedge.",
            "unwedge_wedge_events_total", "Wedges handled, once each (not per attempt), by the driver the device was bound to and the WEDGED= value.",
            "unwedge_drains_total", "Drains of the device's holders before an unbind, by outcome: ok (the device was free) or refused (holders remained).",
            "unwedge_journal_errors_total", "Journal writes or reads that failed (journal-failed and journal-prune-failed in the log).");

    @Test
    void beforeAnyReportOnlyTheUnlabelledAndFixedSeriesAreThereAtZero() {
        var e = scrape(new MetricsRegistry());
        // a labelled family with no series yet is not written at all (the client's way): no HELP, no TYPE
        assertThat(e.names()).containsExactly("unwedge_drains_total", "unwedge_journal_errors_total", "unwedge_unbind_latency_seconds");
        var expected = new LinkedHashMap<String, Double>();
        expected.put("unwedge_drains_total{outcome=\"ok\"}", 0.0);
        expected.put("unwedge_drains_total{outcome=\"refused\"}", 0.0);
        expected.put("unwedge_journal_errors_total", 0.0);
        expected.putAll(latency(0, 0, 0, 0, 0, 0, 0, 0, 0));
        Exposed.assertSeries(e.samples(), expected);
    }

    @Test
    void aKnownSequenceOfReportsGivesExactlyTheseSeries() {
        var r = new MetricsRegistry();
        var card1 = wedge("card1", "0000:06:00.0", 10);
        // an escalation: two reports of one wedge, both carrying its first unbind's latency (counted once), one wedge event
        r.finished(report(card1, REBIND, FAILED, 2400, 1500L, "xe", drain(Outcome.OK), step(Step.UNBIND), step(Step.BIND)));
        r.finished(report(card1, BUS_RESET, RECOVERED, 5000, 1500L, "xe", drain(Outcome.OK), step(Step.UNBIND), step(Step.RESET)));
        r.finished(report(wedge("card0", "0000:03:00.0", 11), REBIND, RECOVERED, 412, 850L, "xe", drain(Outcome.OK), step(Step.UNBIND)));
        r.finished(report(wedge("card0", "0000:03:00.0", 12, "none"), null, NOTHING_TO_DO, 3, null));
        // the device gone before it could be resolved: no driver
        r.finished(report(wedge("card0", "0000:03:00.0", 13), null, REFUSED, 1, null, null));
        // on a bound: le is inclusive
        r.finished(report(wedge("card0", "0000:03:00.0", 14), REBIND, RECOVERED, 100, 100_000L, "xe", drain(Outcome.OK)));
        r.finished(report(wedge("card0", "0000:03:00.0", 15), REBIND, DRY_RUN, 0, null));
        // a WEDGED= value the kernel cannot have built: methods="unknown", whatever was sent
        r.finished(report(wedge("card2", "0000:09:00.0", 16, "rebind,reboot"), RecoveryMethod.UNKNOWN, HANDED_OFF, 30, null, "i915"));
        r.finished(report(wedge("card0", "0000:03:00.0", 17, "rebind"), REBIND, REFUSED, 7, null, "xe", drain(Outcome.REFUSED)));
        var e = scrape(r);
        assertThat(e.names()).as("families sorted by name").isSortedAccordingTo(Exposed.CLIENT_ORDER).containsExactlyInAnyOrderElementsOf(HELP.keySet());
        for (var f : e.families()) {
            assertThat(f.help()).as(f.name()).isEqualTo(HELP.get(f.name()));
            assertThat(f.type()).as(f.name()).isEqualTo(f.name().endsWith("_total") ? "counter" : "histogram");
        }
        var expected = new LinkedHashMap<String, Double>(Map.ofEntries(
                entry("unwedge_recoveries_total{method=\"bus-reset\",result=\"recovered\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"none\",result=\"nothing-to-do\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"none\",result=\"refused\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"rebind\",result=\"dry-run\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"rebind\",result=\"failed\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"}", 2.0),
                entry("unwedge_recoveries_total{method=\"rebind\",result=\"refused\"}", 1.0),
                entry("unwedge_recoveries_total{method=\"unknown\",result=\"handed-off\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind,bus-reset\"}", 4.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"none\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"unknown\",methods=\"rebind,bus-reset\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"i915\",methods=\"unknown\"}", 1.0),
                entry("unwedge_drains_total{outcome=\"ok\"}", 4.0),
                entry("unwedge_drains_total{outcome=\"refused\"}", 1.0),
                entry("unwedge_journal_errors_total", 0.0)));
        expected.putAll(duration("bus-reset", 5, 0, 0, 0, 0, 1, 1, 1, 1, 1, 1));
        expected.putAll(duration("rebind", 2.912, 1, 2, 2, 2, 3, 3, 3, 3, 3, 3));
        expected.putAll(duration("unknown", 0.03, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1));
        expected.putAll(latency(0.10235, 0, 1, 2, 2, 2, 2, 3, 3));
        Exposed.assertSeries(e.samples(), expected);
        // within a family, series come sorted by their labels
        var recoveryLines = text(r).lines().filter(l -> l.startsWith("unwedge_recoveries_total{")).toList();
        assertThat(recoveryLines).hasSize(8).isSorted();
    }

    @Test
    void onlyAttemptsThatActedAreTimed() {
        for (var result : RecoveryReport.Result.values()) {
            var r = new MetricsRegistry();
            r.finished(report(wedge("card0", "0000:03:00.0", 1), RecoveryMethod.VENDOR_SPECIFIC, result, 700, null));
            var e = scrape(r);
            assertThat(e.value("unwedge_recoveries_total{method=\"vendor-specific\",result=\"" + result + "\"}")).as(result.toString()).isEqualTo(1);
            boolean timed = result == RECOVERED || result == FAILED || result == HANDED_OFF;
            assertThat(e.has("unwedge_recovery_duration_seconds")).as(result.toString()).isEqualTo(timed);
            if (timed) {
                assertThat(e.value("unwedge_recovery_duration_seconds_count{method=\"vendor-specific\"}")).isEqualTo(1);
                assertThat(e.value("unwedge_recovery_duration_seconds_bucket{method=\"vendor-specific\",le=\"0.5\"}")).isZero();
                assertThat(e.value("unwedge_recovery_duration_seconds_bucket{method=\"vendor-specific\",le=\"1\"}")).isEqualTo(1);
            }
        }
    }

    @Test
    void aWedgeIsCountedOnceHoweverManyAttemptsAndItsLatencyWhenALaterAttemptUnbound() {
        var r = new MetricsRegistry();
        var e = wedge("card0", "0000:03:00.0", 40);
        // the rebind's unbind write never returned (no latency); the bus reset's did
        r.finished(report(e, REBIND, FAILED, 30_000, null, "xe", drain(Outcome.OK)));
        r.finished(report(e, BUS_RESET, RECOVERED, 4000, 3000L, "xe", drain(Outcome.OK)));
        // the same device wedges again: a new event
        r.finished(report(wedge("card0", "0000:03:00.0", 41), REBIND, RECOVERED, 800, 900L, "xe", drain(Outcome.OK)));
        var s = scrape(r);
        assertThat(s.value("unwedge_wedge_events_total{methods=\"rebind,bus-reset\",driver=\"xe\"}")).isEqualTo(2);
        assertThat(s.value("unwedge_unbind_latency_seconds_count")).isEqualTo(2);
        assertThat(s.value("unwedge_unbind_latency_seconds_bucket{le=\"0.001\"}")).isEqualTo(1);
        assertThat(s.value("unwedge_unbind_latency_seconds_bucket{le=\"0.005\"}")).isEqualTo(2);
        assertThat(s.value("unwedge_unbind_latency_seconds_sum")).isCloseTo(0.0039, org.assertj.core.api.Assertions.within(1e-12));
        assertThat(s.value("unwedge_drains_total{outcome=\"ok\"}")).as("each attempt drains").isEqualTo(3);
    }

    @Test
    void theMethodsLabelIsTheKernelsValueOrUnknown() {
        var r = new MetricsRegistry();
        String[][] cases = {
                {"rebind,bus-reset", "rebind,bus-reset"}, {"none", "none"}, {"cold-reset", "cold-reset"},
                {"bus-reset,rebind", "unknown"}, // out of the kernel's order
                {"rebind,rebind", "unknown"}, {"", "unknown"}, {"reboot", "unknown"}, {"unknown", "unknown"},
                {"rebind,bus-reset,vendor-specific", "unknown"}, // longer than the kernel's buffer: it would have been cut
                {"rebind\"} 1\n# evil", "unknown"}};
        for (int i = 0; i < cases.length; i++) {
            r.finished(report(wedge("card0", String.format("0000:%02x:00.0", i + 1), 100 + i, cases[i][0]), null, REFUSED, 1, null, "xe"));
        }
        var s = scrape(r);
        assertThat(s.family("unwedge_wedge_events_total").samples()).containsOnly(
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind,bus-reset\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"none\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"cold-reset\"}", 1.0),
                entry("unwedge_wedge_events_total{driver=\"xe\",methods=\"unknown\"}", 7.0));
    }

    @Test
    void journalErrorsAreTheJournalFailureLinesLoggedAtAnyLevelSetting() {
        var r = new MetricsRegistry();
        // a log that writes nothing below error still tells its listeners of every event
        var log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.ERROR);
        log.listen(r);
        log.error("journal-failed", "bdf", "0000:03:00.0", "error", "disk I/O error", "the recovery's end is not journaled");
        log.error("journal-failed", "recovery", 7, "error", "database is locked");
        log.error("journal-prune-failed", "error", "database or disk is full");
        log.warn("metrics-journal-failed", "error", "locked"); // a scrape's read: unwedge_journal_up says that
        log.info("journal-pruned", "by_age", 3);
        log.error("recovery-end", "outcome", "failed");
        assertThat(scrape(r).value("unwedge_journal_errors_total")).isEqualTo(3);
    }

    @Test
    void reportsFromManyActorsAtOnceAreAllCounted() throws Exception {
        var r = new MetricsRegistry();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int d = 0; d < 16; d++) {
                String bdf = String.format("0000:%02x:00.0", d + 1);
                pool.submit(() -> {
                    for (int i = 0; i < 500; i++) r.finished(report(wedge("card0", bdf, 1000 + i), REBIND, RECOVERED, 300, 700L, "xe", drain(Outcome.OK)));
                });
            }
        }
        var s = scrape(r);
        assertThat(s.value("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"}")).isEqualTo(8000);
        assertThat(s.value("unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind,bus-reset\"}")).isEqualTo(8000);
        assertThat(s.value("unwedge_drains_total{outcome=\"ok\"}")).isEqualTo(8000);
        assertThat(s.value("unwedge_recovery_duration_seconds_count{method=\"rebind\"}")).isEqualTo(8000);
        assertThat(s.value("unwedge_recovery_duration_seconds_bucket{method=\"rebind\",le=\"0.1\"}")).isZero();
        assertThat(s.value("unwedge_recovery_duration_seconds_bucket{method=\"rebind\",le=\"0.5\"}")).isEqualTo(8000);
        assertThat(s.value("unwedge_recovery_duration_seconds_sum{method=\"rebind\"}")).isCloseTo(2400, org.assertj.core.api.Assertions.within(1e-6));
        assertThat(s.value("unwedge_unbind_latency_seconds_count")).isEqualTo(8000);
        assertThat(s.value("unwedge_unbind_latency_seconds_sum")).isCloseTo(5.6, org.assertj.core.api.Assertions.within(1e-9));
    }
}
