package io.unwedge.daemon.http;

import io.prometheus.metrics.config.PrometheusProperties;
import io.prometheus.metrics.core.metrics.Counter;
import io.prometheus.metrics.core.metrics.Histogram;
import io.prometheus.metrics.model.registry.PrometheusRegistry;
import io.prometheus.metrics.model.snapshots.MetricSnapshots;
import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryListener;
import io.unwedge.daemon.RecoveryReport;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.stream.Collectors;

/**
 * What the daemon counts, on the official Prometheus client: from the {@link RecoveryReport}s its actors hand
 * out (one per attempt: an escalation is several) how each ended, how long each took, how soon after the
 * kernel's event the unbind was written, each wedge by driver and {@code WEDGED=} value, and each drain's
 * outcome; from the {@link EventLog}, the journal's failures. Thread-safe: every device's actor reports from
 * its own thread, into the client's counters and histograms.
 *
 * <p>A labelled series appears with its first report (a method and result never seen are not written as 0),
 * except the drains' two outcomes, which are always there.
 */
public final class MetricsRegistry implements RecoveryListener, EventLog.Listener {

    /** The {@code method} label of a report that names none: refused before a plan, or {@code WEDGED=none}. */
    public static final String NO_METHOD = "none";

    /** The {@code driver} label of a wedge whose device could not be resolved (gone, or an event that broke the contract). */
    public static final String NO_DRIVER = "unknown";

    /** The log events that are a journal error: a write or read a recovery, telemetry or a restart needed, and retention. */
    static final Set<String> JOURNAL_ERRORS = Set.of("journal-failed", "journal-prune-failed");

    /**
     * The client's defaults, not the environment's: {@code PrometheusProperties.get()} would read
     * {@code prometheus.properties} and {@code io.prometheus.*} properties, which could change the buckets
     * docs/metrics.md promises.
     */
    static final PrometheusProperties PROPERTIES = PrometheusProperties.builder().build();

    /** {@code unwedge_recovery_duration_seconds}: 0.1 s to 2 min (a cold reset's power cycle alone is 2 s). */
    static final double[] DURATION_SECONDS = {0.1, 0.5, 1, 2, 5, 10, 30, 60, 120};

    /** {@code unwedge_unbind_latency_seconds}: 0.5 ms to 100 ms (the drain is in it: holders' exits). */
    static final double[] LATENCY_SECONDS = {0.0005, 0.001, 0.002, 0.005, 0.01, 0.05, 0.1};

    private final PrometheusRegistry registry = new PrometheusRegistry();

    private final Counter recoveries = Counter.builder(PROPERTIES).name("unwedge_recoveries_total")
            .help("Wedge handlings ended, one per attempt (an escalation is several), by the method tried and how it ended.")
            .labelNames("method", "result").withoutExemplars().register(registry);

    private final Histogram durations = Histogram.builder(PROPERTIES).name("unwedge_recovery_duration_seconds")
            .help("Wall time of each attempt that acted (recovered, failed or handed-off), from its start to its end, by method.")
            .labelNames("method").classicOnly().classicUpperBounds(DURATION_SECONDS).withoutExemplars().register(registry);

    private final Histogram unbindLatency = Histogram.builder(PROPERTIES).name("unwedge_unbind_latency_seconds")
            .help("From the kernel's delivery of a wedge event to its first unbind write returning (the drain included), once per wedge.")
            .classicOnly().classicUpperBounds(LATENCY_SECONDS).withoutExemplars().register(registry);

    private final Counter wedgeEvents = Counter.builder(PROPERTIES).name("unwedge_wedge_events_total")
            .help("Wedges handled, once each (not per attempt), by the driver the device was bound to and the WEDGED= value.")
            .labelNames("driver", "methods").withoutExemplars().register(registry);

    private final Counter drains = Counter.builder(PROPERTIES).name("unwedge_drains_total")
            .help("Drains of the device's holders before an unbind, by outcome: ok (the device was free) or refused (holders remained).")
            .labelNames("outcome").withoutExemplars().register(registry);

    private final Counter journalErrors = Counter.builder(PROPERTIES).name("unwedge_journal_errors_total")
            .help("Journal writes or reads that failed (journal-failed and journal-prune-failed in the log).")
            .withoutExemplars().register(registry);

    /** Per device, the wedge (seqnum) its last report was of, and whether that wedge's latency was counted. */
    private record Seen(long seqnum, boolean latencyCounted) {}

    private final Map<PciAddress, Seen> seen = new ConcurrentHashMap<>();

    public MetricsRegistry() {
        for (var outcome : new String[] {"ok", "refused"}) drains.initLabelValues(outcome);
    }

    @Override
    public void finished(RecoveryReport report) {
        String method = report.method().map(RecoveryMethod::token).orElse(NO_METHOD);
        recoveries.labelValues(method, report.result().toString()).inc();
        if (acted(report.result())) durations.labelValues(method).observe(report.totalMillis() / 1e3);
        for (var step : report.steps()) {
            if (step.step() != Step.DRAIN) continue;
            switch (step.outcome()) {
                case OK -> drains.labelValues("ok").inc();
                case REFUSED -> drains.labelValues("refused").inc();
                case TIMEOUT, ERROR, REWEDGED -> { } // a drain ends ok or refused; anything else is no drain's
            }
        }
        // Every attempt of a wedge reports the same event, and carries the latency of its first unbind (which a
        // later attempt may have made): each is counted once per wedge. One device's reports all come from its
        // actor, in order, so this device's entry has no other writer.
        long seqnum = report.event().seqnum();
        var before = seen.get(report.bdf());
        boolean newWedge = before == null || before.seqnum() != seqnum;
        boolean countLatency = report.latencyMicros().isPresent() && (newWedge || !before.latencyCounted());
        seen.put(report.bdf(), new Seen(seqnum, countLatency || !newWedge && before.latencyCounted()));
        if (newWedge) wedgeEvents.labelValues(report.driver().orElse(NO_DRIVER), methods(report)).inc();
        if (countLatency) unbindLatency.observe(report.latencyMicros().get() / 1e6);
    }

    /** Counts the journal's failures, from the lines the daemon logs for them. */
    @Override
    public void logged(EventLog.Level level, String event) {
        if (JOURNAL_ERRORS.contains(event)) journalErrors.inc();
    }

    /**
     * The {@code WEDGED=} value as the kernel builds it from the methods read: the raw value when it is one
     * drm_dev_wedged_event() can produce, else {@code unknown}. So the label has at most 32 values, whatever
     * a sender puts in the event.
     */
    static String methods(RecoveryReport report) {
        return report.event().methods().stream().map(RecoveryMethod::token).collect(Collectors.joining(","));
    }

    /** The attempts whose time was spent on the device or in the operator's command; refusals and plans take none worth timing. */
    static boolean acted(RecoveryReport.Result result) {
        return switch (result) {
            case RECOVERED, FAILED, HANDED_OFF -> true;
            case REFUSED, NOTHING_TO_DO, DRY_RUN -> false;
        };
    }

    /** Every family this registry holds, as the client snapshots them now. */
    MetricSnapshots scrape() {
        return registry.scrape();
    }
}
