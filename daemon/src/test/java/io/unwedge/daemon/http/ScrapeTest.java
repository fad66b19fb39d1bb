package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;

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

    static final String HEAD = """
            # HELP unwedge_up 1 while the daemon serves this endpoint.
            # TYPE unwedge_up gauge
            unwedge_up 1
            # HELP unwedge_build_info Always 1; the daemon's version is the label.
            # TYPE unwedge_build_info gauge
            unwedge_build_info{version="0.1.0 \\"test\\"\\\\build"} 1
            # HELP unwedge_uevents_total Uevents received from the kernel and accepted, of every subsystem.
            # TYPE unwedge_uevents_total counter
            unwedge_uevents_total 7
            # HELP unwedge_wedges_total WEDGED= events recognised, handled or ignored.
            # TYPE unwedge_wedges_total counter
            unwedge_wedges_total 2
            # HELP unwedge_wedges_ignored_total Wedges not handled: seen while stopping, or a WEDGED= event that could not be trusted.
            # TYPE unwedge_wedges_ignored_total counter
            unwedge_wedges_ignored_total 1
            # HELP unwedge_uevents_dropped_total Netlink messages dropped before parsing, by why: spoofed (not from the kernel), malformed, truncated.
            # TYPE unwedge_uevents_dropped_total counter
            unwedge_uevents_dropped_total{kind="malformed"} 4
            unwedge_uevents_dropped_total{kind="spoofed"} 3
            unwedge_uevents_dropped_total{kind="truncated"} 5
            # HELP unwedge_netlink_overflows_total Times the kernel dropped uevents for a full socket buffer (ENOBUFS); sysfs was re-read each time.
            # TYPE unwedge_netlink_overflows_total counter
            unwedge_netlink_overflows_total 6
            """;

    static final String TAIL = """
            # HELP unwedge_cards GPU cards (DRM primary minors of PCI devices) in sysfs now.
            # TYPE unwedge_cards gauge
            unwedge_cards 2
            # HELP unwedge_journal_up 1 when this scrape could read the journal, else 0.
            # TYPE unwedge_journal_up gauge
            unwedge_journal_up 1
            # HELP unwedge_quarantined_devices Devices quarantined now; `unwedge release DEVICE` ends one.
            # TYPE unwedge_quarantined_devices gauge
            unwedge_quarantined_devices 1
            """;

    @Test
    void theWholeAnswerInOrder() {
        registry.finished(report(wedge("card1", "0000:06:00.0", 9), RecoveryMethod.REBIND, RecoveryReport.Result.RECOVERED, 412, 850L));
        assertThat(scrape.text()).isEqualTo(HEAD + MetricsRegistryTest.text(registry) + TAIL);
        assertThat(scrape.text()).contains("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"} 1\n");
    }

    @Test
    void countersAndGaugesAreReadAtEachScrape() {
        assertThat(scrape.text()).contains("unwedge_uevents_total 7\n");
        stats.set(new Supervisor.Stats(8, 2, 1, 3, 4, 5, 6));
        quarantined.set(() -> 0);
        assertThat(scrape.text()).contains("unwedge_uevents_total 8\n", "unwedge_quarantined_devices 0\n");
    }

    @Test
    void aJournalThatCannotBeReadLeavesTheGaugeOutSaysJournalUp0AndIsLoggedOncePerOutage() {
        quarantined.set(() -> {
            throw new JournalException("read the quarantined devices: database is locked");
        });
        for (int i = 0; i < 3; i++) {
            String text = scrape.text();
            assertThat(text).endsWith("""
                    unwedge_cards 2
                    # HELP unwedge_journal_up 1 when this scrape could read the journal, else 0.
                    # TYPE unwedge_journal_up gauge
                    unwedge_journal_up 0
                    """).doesNotContain("unwedge_quarantined_devices");
        }
        quarantined.set(() -> 3);
        assertThat(scrape.text()).endsWith("unwedge_journal_up 1\n# HELP unwedge_quarantined_devices Devices quarantined now; `unwedge release DEVICE` ends one.\n"
                + "# TYPE unwedge_quarantined_devices gauge\nunwedge_quarantined_devices 3\n");
        var lines = logBytes.toString(StandardCharsets.UTF_8).lines().toList();
        assertThat(lines).hasSize(2);
        assertThat(lines.get(0)).contains(" warn ", "metrics-journal-failed", "database is locked", "ignoring");
        assertThat(lines.get(1)).contains("metrics-journal-ok");
    }
}
