package io.unwedge.daemon.http;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.RecoveryListener;
import io.unwedge.daemon.RecoveryReport;
import java.util.Comparator;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.LongAdder;

/**
 * What the daemon counts from the {@link RecoveryReport}s its actors hand out (one per attempt: an
 * escalation is several): how each ended, how long each took, and how soon after the kernel's event the
 * unbind was written. Thread-safe (every device's actor reports from its own thread); counting takes no lock.
 *
 * <p>A series appears with its first report (a method and result never seen are not written as 0), and
 * series are written sorted by their label values, so a scrape is deterministic.
 */
public final class MetricsRegistry implements RecoveryListener {

    /** The {@code method} label of a report that names none: refused before a plan, or {@code WEDGED=none}. */
    public static final String NO_METHOD = "none";

    /** {@code unwedge_recovery_duration_seconds}: 0.1 s to 2 min, in ms (a cold reset's power cycle alone is 2 s). */
    static final long[] DURATION_MS = {100, 500, 1000, 2000, 5000, 10_000, 30_000, 60_000, 120_000};

    /** {@code unwedge_unbind_latency_seconds}: 0.5 ms to 100 ms, in µs (the drain is in it: holders' exits). */
    static final long[] LATENCY_US = {500, 1000, 2000, 5000, 10_000, 50_000, 100_000};

    private record Outcome(String method, String result) {}

    private static final Comparator<Outcome> BY_LABELS = Comparator.comparing(Outcome::method).thenComparing(Outcome::result);

    private final Map<Outcome, LongAdder> recoveries = new ConcurrentHashMap<>();
    private final Map<String, Histogram> durations = new ConcurrentHashMap<>();
    private final Histogram unbindLatency = new Histogram(6, LATENCY_US);
    private final Map<PciAddress, Long> latencySeen = new ConcurrentHashMap<>(); // the wedge (seqnum) whose latency a device's last count was

    @Override
    public void finished(RecoveryReport report) {
        String method = report.method().map(RecoveryMethod::token).orElse(NO_METHOD);
        recoveries.computeIfAbsent(new Outcome(method, report.result().toString()), o -> new LongAdder()).increment();
        if (acted(report.result())) durations.computeIfAbsent(method, m -> new Histogram(3, DURATION_MS)).observe(report.totalMillis());
        // every attempt of a wedge carries the latency of its first unbind: counted once per wedge
        report.latencyMicros().ifPresent(us -> {
            Long previous = latencySeen.put(report.bdf(), report.event().seqnum());
            if (previous == null || previous != report.event().seqnum()) unbindLatency.observe(us);
        });
    }

    /** The attempts whose time was spent on the device or in the operator's command; refusals and plans take none worth timing. */
    static boolean acted(RecoveryReport.Result result) {
        return switch (result) {
            case RECOVERED, FAILED, HANDED_OFF -> true;
            case REFUSED, NOTHING_TO_DO, DRY_RUN -> false;
        };
    }

    /** The three families, in this order: recoveries, their durations, the unbind latency. */
    void writeTo(Exposition out) {
        out.family("unwedge_recoveries_total", Exposition.Type.COUNTER,
                "Wedge handlings ended, one per attempt (an escalation is several), by the method tried and how it ended.");
        recoveries.entrySet().stream().sorted(Map.Entry.comparingByKey(BY_LABELS)).forEach(e ->
                out.sample("unwedge_recoveries_total", e.getValue().sum(), "method", e.getKey().method(), "result", e.getKey().result()));
        out.family("unwedge_recovery_duration_seconds", Exposition.Type.HISTOGRAM,
                "Wall time of each attempt that acted (recovered, failed or handed-off), from its start to its end, by method.");
        durations.entrySet().stream().sorted(Map.Entry.comparingByKey()).forEach(e ->
                e.getValue().writeTo(out, "unwedge_recovery_duration_seconds", "method", e.getKey()));
        out.family("unwedge_unbind_latency_seconds", Exposition.Type.HISTOGRAM,
                "From the kernel's delivery of a wedge event to its first unbind write returning (the drain included), once per wedge.");
        unbindLatency.writeTo(out, "unwedge_unbind_latency_seconds");
    }
}
