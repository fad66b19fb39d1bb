package io.unwedge.core.safety;

import java.time.Instant;
import java.util.Objects;
import java.util.Optional;

/**
 * One earlier recovery attempt of a device, as the journal has it. Several attempts of one wedge (an
 * escalation) share {@code eventId}.
 *
 * @param ranSteps  whether it touched the device (a disruptive method got past planning: not refused, not a dry run)
 * @param recovered whether it ended recovered
 */
public record PastRecovery(long eventId, Instant startedAt, Optional<Instant> endedAt, boolean ranSteps, boolean recovered) {
    public PastRecovery {
        Objects.requireNonNull(startedAt);
        Objects.requireNonNull(endedAt);
    }
}
