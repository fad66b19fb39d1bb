package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.MetricsRegistry.PROPERTIES;

import io.prometheus.metrics.core.metrics.CounterWithCallback;
import io.prometheus.metrics.core.metrics.Gauge;
import io.prometheus.metrics.core.metrics.GaugeWithCallback;
import io.prometheus.metrics.core.metrics.Info;
import io.prometheus.metrics.expositionformats.PrometheusTextFormatWriter;
import io.prometheus.metrics.model.registry.MultiCollector;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot;
import io.prometheus.metrics.model.snapshots.GaugeSnapshot.GaugeDataPointSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshot;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Supervisor;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.util.ArrayList;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.function.ToLongFunction;

/**
 * One {@code /metrics} answer, put together when it is asked for, in the client's text format 0.0.4: the
 * daemon's own counters ({@link Supervisor.Stats}, read through callbacks), the {@link MetricsRegistry}'s,
 * and gauges read now (the cards in sysfs, the journal's quarantines). The client writes families sorted by
 * name and each family's series sorted by their labels. docs/metrics.md lists every family.
 */
final class Scrape {

    /** The content type a scraper is told: {@code text/plain; version=0.0.4; charset=utf-8}. */
    static final String CONTENT_TYPE = PrometheusTextFormatWriter.CONTENT_TYPE;

    // 0.0.4, without _created series (the client's default for this format): a restart shows as counters going back to 0
    private static final PrometheusTextFormatWriter WRITER = PrometheusTextFormatWriter.create();

    private final MetricsServer.Sources sources;
    private final EventLog log;
    private final PrometheusRegistry registry = new PrometheusRegistry();
    private final AtomicBoolean journalFailing = new AtomicBoolean();

    Scrape(MetricsRegistry recoveries, MetricsServer.Sources sources, EventLog log) {
        Objects.requireNonNull(recoveries);
        this.sources = Objects.requireNonNull(sources);
        this.log = Objects.requireNonNull(log);
        Gauge.builder(PROPERTIES).name("unwedge_up").help("1 while the daemon serves this endpoint.").register(registry).set(1);
        Info.builder(PROPERTIES).name("unwedge_build_info").help("Always 1; the daemon's version is the label.")
                .labelNames("version").register(registry).addLabelValues(sources.version());
        stat("unwedge_uevents_total", "Uevents received from the kernel and accepted, of every subsystem.", Supervisor.Stats::events);
        stat("unwedge_wedges_total", "WEDGED= events recognised, handled or ignored.", Supervisor.Stats::wedges);
        stat("unwedge_wedges_ignored_total", "Wedges not handled: seen while stopping, or a WEDGED= event that could not be trusted.",
                Supervisor.Stats::ignoredWedges);
        CounterWithCallback.builder(PROPERTIES).name("unwedge_uevents_dropped_total")
                .help("Netlink messages dropped before parsing, by why: spoofed (not from the kernel), malformed, truncated.")
                .labelNames("kind").callback(c -> {
                    var s = sources.stats().get();
                    c.call(s.malformed(), "malformed");
                    c.call(s.spoofed(), "spoofed");
                    c.call(s.truncated(), "truncated");
                }).register(registry);
        stat("unwedge_netlink_overflows_total",
                "Times the kernel dropped uevents for a full socket buffer (ENOBUFS); sysfs was re-read each time.", Supervisor.Stats::overflows);
        GaugeWithCallback.builder(PROPERTIES).name("unwedge_cards").help("GPU cards (DRM primary minors of PCI devices) in sysfs now.")
                .callback(g -> g.call(sources.cards().getAsInt())).register(registry);
        registry.register((MultiCollector) this::journal);
        registry.register((MultiCollector) recoveries::scrape);
    }

    /** An unlabelled counter read from the supervisor's stats at each scrape. */
    private void stat(String name, String help, ToLongFunction<Supervisor.Stats> value) {
        CounterWithCallback.builder(PROPERTIES).name(name).help(help)
                .callback(c -> c.call(value.applyAsLong(sources.stats().get()))).register(registry);
    }

    Health health() {
        return sources.health().get();
    }

    /** @throws RuntimeException what a source threw (a bug): the server answers 500 */
    String text() {
        var out = new ByteArrayOutputStream(8192);
        try {
            WRITER.write(out, registry.scrape());
        } catch (IOException e) {
            throw new UncheckedIOException(e); // a ByteArrayOutputStream does not fail
        }
        return out.toString(StandardCharsets.UTF_8);
    }

    /**
     * {@code unwedge_journal_up}, and {@code unwedge_quarantined_devices} only when the journal could say:
     * a 0 would claim nothing is quarantined. Both from one read.
     */
    private MetricSnapshots journal() {
        int quarantined = quarantined();
        var families = new ArrayList<MetricSnapshot>(2);
        families.add(gauge("unwedge_journal_up", "1 when this scrape could read the journal, else 0.", quarantined >= 0 ? 1 : 0));
        if (quarantined >= 0) {
            families.add(gauge("unwedge_quarantined_devices", "Devices quarantined now; `unwedge release DEVICE` ends one.", quarantined));
        }
        return new MetricSnapshots(families);
    }

    private static GaugeSnapshot gauge(String name, String help, double value) {
        return GaugeSnapshot.builder().name(name).help(help).dataPoint(GaugeDataPointSnapshot.builder().value(value).build()).build();
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
