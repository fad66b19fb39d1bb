package io.unwedge.daemon.http;

import io.unwedge.daemon.EventLog;
import java.io.IOException;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;

/**
 * One {@code /metrics} answer, put together when it is asked for: the daemon's own counters
 * ({@link io.unwedge.daemon.Supervisor.Stats}), the {@link MetricsRegistry}'s, then gauges read now (the
 * cards in sysfs, the journal's quarantines). docs/metrics.md lists every family; they are written in that order.
 */
final class Scrape {

    private final MetricsRegistry registry;
    private final MetricsServer.Sources sources;
    private final EventLog log;
    private final AtomicBoolean journalFailing = new AtomicBoolean();

    Scrape(MetricsRegistry registry, MetricsServer.Sources sources, EventLog log) {
        this.registry = Objects.requireNonNull(registry);
        this.sources = Objects.requireNonNull(sources);
        this.log = Objects.requireNonNull(log);
    }

    Health health() {
        return sources.health().get();
    }

    String text() {
        var out = new Exposition();
        out.family("unwedge_up", Exposition.Type.GAUGE, "1 while the daemon serves this endpoint.")
                .sample("unwedge_up", 1);
        out.family("unwedge_build_info", Exposition.Type.GAUGE, "Always 1; the daemon's version is the label.")
                .sample("unwedge_build_info", 1, "version", sources.version());
        var s = sources.stats().get();
        out.family("unwedge_uevents_total", Exposition.Type.COUNTER, "Uevents received from the kernel and accepted, of every subsystem.")
                .sample("unwedge_uevents_total", s.events());
        out.family("unwedge_wedges_total", Exposition.Type.COUNTER, "WEDGED= events recognised, handled or ignored.")
                .sample("unwedge_wedges_total", s.wedges());
        out.family("unwedge_wedges_ignored_total", Exposition.Type.COUNTER,
                        "Wedges not handled: seen while stopping, or a WEDGED= event that could not be trusted.")
                .sample("unwedge_wedges_ignored_total", s.ignoredWedges());
        out.family("unwedge_uevents_dropped_total", Exposition.Type.COUNTER,
                        "Netlink messages dropped before parsing, by why: spoofed (not from the kernel), malformed, truncated.")
                .sample("unwedge_uevents_dropped_total", s.malformed(), "kind", "malformed")
                .sample("unwedge_uevents_dropped_total", s.spoofed(), "kind", "spoofed")
                .sample("unwedge_uevents_dropped_total", s.truncated(), "kind", "truncated");
        out.family("unwedge_netlink_overflows_total", Exposition.Type.COUNTER,
                        "Times the kernel dropped uevents for a full socket buffer (ENOBUFS); sysfs was re-read each time.")
                .sample("unwedge_netlink_overflows_total", s.overflows());
        registry.writeTo(out);
        out.family("unwedge_cards", Exposition.Type.GAUGE, "GPU cards (DRM primary minors of PCI devices) in sysfs now.")
                .sample("unwedge_cards", sources.cards().getAsInt());
        int quarantined = quarantined();
        out.family("unwedge_journal_up", Exposition.Type.GAUGE, "1 when this scrape could read the journal, else 0.")
                .sample("unwedge_journal_up", quarantined >= 0 ? 1 : 0);
        // left out when the journal cannot say: a 0 would claim nothing is quarantined
        if (quarantined >= 0) {
            out.family("unwedge_quarantined_devices", Exposition.Type.GAUGE, "Devices quarantined now; `unwedge release DEVICE` ends one.")
                    .sample("unwedge_quarantined_devices", quarantined);
        }
        return out.text();
    }

    /** The journal's count, or -1; a failure is logged when it starts and when it ends, not at every scrape. */
    private int quarantined() {
        try {
            int n = sources.quarantined().count();
            if (journalFailing.compareAndSet(true, false)) log.info("metrics-journal-ok", "the journal can be read again");
            return n;
        } catch (IOException | RuntimeException e) {
            if (journalFailing.compareAndSet(false, true)) {
                log.warn("metrics-journal-failed", "error", String.valueOf(e.getMessage()),
                        "unwedge_journal_up is 0 and unwedge_quarantined_devices left out until it can be read; ignoring");
            }
            return -1;
        }
    }
}
