package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.journal.JournalException;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/** A whole /metrics answer: the daemon's counters, the registry's, the gauges read at scrape time. */
class ScrapeTest {

    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final EventLog log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8),
            InstantSource.fixed(Instant.parse("2026-11-25T10:00:00Z")), EventLog.Level.DEBUG);
    final AtomicReference<Supervisor.Stats> stats = new AtomicReference<>(new Supervisor.Stats(7, 2, 1, 3, 4, 5, 6));
    final AtomicReference<MetricsServer.QuarantineCount> quarantined = new AtomicReference<>(() -> 1);
    final MetricsRegistry registry = new MetricsRegistry();
    final Scrape scrape = new Scrape(registry, new MetricsServer.Sources(stats::get, () -> 2, () -> quarantined.get().count(),
            () -> Health.OK, "0.1.0 \"test\"\\build"), log);

    static final java.util.Map<String, String> HELP = java.util.Map.ofEntries(
            java.util.Map.entry("unwedge_up", "1 while the daemon serves this endpoint."),
            java.util.Map.entry("unwedge_build_info", "Always 1; the daemon's version is the label."),
            java.util.Map.entry("unwedge_uevents_total", "Uevents received from the kernel and accepted, of every subsystem."),
            java.util.Map.entry("unwedge_wedges_total", "WEDGED= events recognised, handled or ignored."),
            java.util.Map.entry("unwedge_wedges_ignored_total", "Wedges not handled: seen while stopping, or a WEDGED= event that could not be trusted."),
            java.util.Map.entry("unwedge_uevents_dropped_total", "Netlink messages dropped before parsing, by why: spoofed (not from the kernel), malformed, truncated."),
            java.util.Map.entry("unwedge_netlink_overflows_total", "Times the kernel dropped uevents for a full socket buffer (ENOBUFS); sysfs was re-read each time."),
            java.util.Map.entry("unwedge_cards", "GPU cards (DRM primary minors of PCI devices) in sysfs now."),
            java.util.Map.entry("unwedge_journal_up", "1 when this scrape could read the journal, else 0."),
            java.util.Map.entry("unwedge_quarantined_devices", "Devices quarantined now; `unwedge release DEVICE` ends one."));

    @Test
    void theWholeAnswer() {
        registry.finished(report(wedge("card1", "0000:06:00.0", 9), RecoveryMethod.REBIND, RecoveryReport.Result.RECOVERED, 412, 850L));
        String text = scrape.text();
        var e = Exposed.parse(text);
        // the daemon's own families, then the registry's exactly as it scrapes alone, all sorted by name
        var own = new java.util.LinkedHashMap<String, Double>();
        own.put("unwedge_up", 1.0);
        own.put("unwedge_build_info{version=\"0.1.0 \\\"test\\\"\\\\build\"}", 1.0);
        own.put("unwedge_uevents_total", 7.0);
        own.put("unwedge_wedges_total", 2.0);
        own.put("unwedge_wedges_ignored_total", 1.0);
        own.put("unwedge_uevents_dropped_total{kind=\"malformed\"}", 4.0);
        own.put("unwedge_uevents_dropped_total{kind=\"spoofed\"}", 3.0);
        own.put("unwedge_uevents_dropped_total{kind=\"truncated\"}", 5.0);
        own.put("unwedge_netlink_overflows_total", 6.0);
        own.put("unwedge_cards", 2.0);
        own.put("unwedge_journal_up", 1.0);
        own.put("unwedge_quarantined_devices", 1.0);
        var registryAlone = MetricsRegistryTest.scrape(registry);
        var expected = new java.util.LinkedHashMap<String, Double>(own);
        expected.putAll(registryAlone.samples());
        Exposed.assertSeries(e.samples(), expected);
        assertThat(e.names()).isSortedAccordingTo(Exposed.CLIENT_ORDER).hasSize(HELP.size() + registryAlone.families().size());
        for (var f : e.families()) {
            if (HELP.containsKey(f.name())) assertThat(f.help()).as(f.name()).isEqualTo(HELP.get(f.name()));
            else assertThat(f).as(f.name()).isEqualTo(registryAlone.family(f.name()));
            assertThat(f.type()).as(f.name()).isEqualTo(f.name().endsWith("_total") ? "counter"
                    : f.name().endsWith("_seconds") ? "histogram" : "gauge");
        }
        // the label value escaped as the format says: backslash, quote (and line feed)
        assertThat(text).contains("unwedge_build_info{version=\"0.1.0 \\\"test\\\"\\\\build\"} 1\n");
        assertThat(e.value("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"}")).isEqualTo(1);
    }

    @Test
    void countersAndGaugesAreReadAtEachScrape() {
        assertThat(Exposed.parse(scrape.text()).value("unwedge_uevents_total")).isEqualTo(7);
        stats.set(new Supervisor.Stats(8, 2, 1, 3, 4, 5, 6));
        quarantined.set(() -> 0);
        var e = Exposed.parse(scrape.text());
        assertThat(e.value("unwedge_uevents_total")).isEqualTo(8);
        assertThat(e.value("unwedge_quarantined_devices")).isZero();
    }

    @Test
    void aSourceThatThrowsFailsTheScrapeWithItsError() {
        stats.set(null);
        assertThatThrownBy(scrape::text).isInstanceOf(NullPointerException.class);
    }

    @Test
    void aJournalThatCannotBeReadLeavesTheGaugeOutSaysJournalUp0AndIsLoggedOncePerOutage() {
        quarantined.set(() -> {
            throw new JournalException("read the quarantined devices: database is locked");
        });
        for (int i = 0; i < 3; i++) {
            var e = Exposed.parse(scrape.text());
            assertThat(e.value("unwedge_journal_up")).isZero();
            assertThat(e.has("unwedge_quarantined_devices")).isFalse();
            assertThat(e.value("unwedge_cards")).isEqualTo(2);
        }
        quarantined.set(() -> 3);
        var back = Exposed.parse(scrape.text());
        assertThat(back.value("unwedge_journal_up")).isEqualTo(1);
        assertThat(back.value("unwedge_quarantined_devices")).isEqualTo(3);
        assertThat(back.family("unwedge_quarantined_devices").help()).isEqualTo(HELP.get("unwedge_quarantined_devices"));
        var lines = logBytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).contains(" warn ", "metrics-journal-failed", "database is locked", "ignoring");
        assertThat(lines.get(1)).contains("metrics-journal-ok");
    }
}
