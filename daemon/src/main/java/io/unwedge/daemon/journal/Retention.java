package io.unwedge.daemon.journal;

import io.unwedge.daemon.EventLog;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;

/**
 * The journal's retention, run by the daemon: a {@link Journal#prune} at start and then every {@code every}
 * (a day), on one virtual thread. A prune that fails is logged and tried again next time: keeping too much
 * history must never stop the daemon.
 */
public final class Retention implements AutoCloseable {

    public static final Duration DAILY = Duration.ofDays(1);

    private final Journal journal;
    private final EventLog log;
    private final Duration maxAge;
    private final long maxBytes;
    private final Duration keep;
    private final ScheduledExecutorService timer;

    Retention(Journal journal, EventLog log, Duration maxAge, long maxBytes, Duration keep) {
        this.journal = journal;
        this.log = log;
        this.maxAge = maxAge;
        this.maxBytes = maxBytes;
        this.keep = keep;
        this.timer = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("unwedge-retention").factory());
    }

    /**
     * Prunes now (on the retention thread, beside the daemon's start) and then every {@code every}.
     *
     * @param keep what the size limit may not prune: the safety rules' lookback ({@code Config.safetyMemory()})
     */
    public static Retention start(Journal journal, EventLog log, Duration maxAge, long maxBytes, Duration keep, Duration every) {
        if (maxAge.isNegative() || maxAge.isZero()) throw new IllegalArgumentException("the retention age must be positive: " + maxAge);
        if (maxBytes < 1) throw new IllegalArgumentException("the retention size must be positive: " + maxBytes);
        if (keep.isNegative()) throw new IllegalArgumentException("the kept lookback must not be negative: " + keep);
        var r = new Retention(journal, log, maxAge, maxBytes, keep);
        r.timer.scheduleWithFixedDelay(r::runOnce, 0, every.toMillis(), TimeUnit.MILLISECONDS);
        return r;
    }

    /** One prune, logged; never throws (a throw would cancel the schedule). */
    void runOnce() {
        try {
            var p = journal.prune(maxAge, maxBytes, keep);
            log.info("journal-pruned", "by_age", p.byAge(), "by_size", p.bySize(), "events", p.events(),
                    "telemetry", p.telemetry(), "dump_files", p.dumpFiles(), "dump_bytes", p.dumpBytes(), "quarantines", p.quarantines(),
                    "bytes_before", p.bytesBefore(), "bytes_after", p.bytesAfter(), "max_days", maxAge.toDays(), "max_bytes", maxBytes);
            for (var e : p.dumpErrors()) log.warn("journal-dump-kept", "error", e, "its telemetry row was pruned; the file stays");
            if (!p.underCap()) {
                log.warn("journal-over-cap", "bytes", p.bytesAfter(), "max_bytes", maxBytes,
                        "what must be kept (the last recovery of each device, the unfinished ones, everything of the last "
                                + keep.toDays() + " days the safety rules count) is larger than the size limit");
            }
        } catch (JournalException | RuntimeException e) {
            log.error("journal-prune-failed", "error", e.getMessage(), "retention failed; it is tried again at the next run");
        }
    }

    /** Stops the schedule; a prune under way finishes first (the journal is closed after this). */
    @Override
    public void close() {
        timer.shutdownNow();
        try {
            if (!timer.awaitTermination(30, TimeUnit.SECONDS)) log.warn("journal-prune-slow", "a prune is still running at shutdown");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
