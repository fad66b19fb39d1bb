package io.unwedge.daemon.journal;

import io.unwedge.core.PciAddress;
import java.time.Duration;
import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One recovery as the journal holds it, with the event that started it. {@code result} and
 * {@code endedAt} are empty while it runs, or when the daemon died before it ended.
 *
 * @param methods the driver's {@code WEDGED=} value, as received
 * @param method  the method the recovery used, once decided
 * @param result  the {@code RecoveryReport.Result} word: recovered, failed, refused, nothing-to-do, dry-run
 * @param driver  the driver the recovery unbound (and must bind again), once it got that far; empty in rows
 *                written before schema v2
 * @param escalatedFrom the recovery of the same event this one escalates from (schema v3); empty for a
 *                first attempt
 */
public record RecoveryRow(long id, long eventId, long seqnum, PciAddress bdf, String card, String methods,
                          Optional<String> task, Instant receivedAt, Instant startedAt, Optional<String> method,
                          Optional<String> result, Optional<String> reason, Optional<Instant> endedAt,
                          Optional<String> cardAfter, Optional<Long> latencyMicros, Optional<String> driver,
                          Optional<Long> escalatedFrom) {

    public RecoveryRow {
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(card);
        Objects.requireNonNull(startedAt);
        Objects.requireNonNull(escalatedFrom);
    }

    public boolean finished() {
        return endedAt.isPresent();
    }

    /** From the start of the recovery to its end, when it ended. */
    public Optional<Duration> duration() {
        return endedAt.map(e -> Duration.between(startedAt, e));
    }
}
