package io.unwedge.daemon.journal;

import io.unwedge.core.Step;
import java.time.Duration;
import java.time.Instant;
import java.util.Optional;

/**
 * One step of a recovery. An intent without an end is a step the daemon may or may not have carried out
 * when it died: the device's state must be read to know.
 *
 * @param intentAt  when the intent was asked for
 * @param startedAt when the intent was durable and the step let go
 * @param endedAt   when the step's effect was seen, or it failed
 */
public record StepRow(long id, long recoveryId, Step step, Instant intentAt, Optional<Instant> startedAt,
                      Optional<Instant> endedAt, Optional<String> outcome, Optional<String> detail) {

    public Optional<Duration> duration() {
        return startedAt.flatMap(s -> endedAt.map(e -> Duration.between(s, e)));
    }
}
