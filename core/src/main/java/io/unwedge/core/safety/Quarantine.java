package io.unwedge.core.safety;

import io.unwedge.core.PciAddress;
import java.time.Instant;
import java.util.Objects;

/** A device unwedge will not recover again until an operator releases it ({@code unwedge release}). */
public record Quarantine(PciAddress bdf, Instant since, String reason, QuarantineMode mode) {
    public Quarantine {
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(since);
        Objects.requireNonNull(reason);
        Objects.requireNonNull(mode);
    }
}
