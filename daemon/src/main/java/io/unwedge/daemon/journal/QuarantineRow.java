package io.unwedge.daemon.journal;

import io.unwedge.core.PciAddress;
import io.unwedge.core.safety.QuarantineMode;
import java.time.Instant;
import java.util.Objects;

/**
 * A device unwedge has stopped recovering until a person releases it ({@link Journal#quarantine},
 * {@link Journal#release}); at most one is active per device.
 */
public record QuarantineRow(long id, PciAddress bdf, Instant since, String reason, QuarantineMode mode) {

    public QuarantineRow {
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(since);
        Objects.requireNonNull(reason);
        Objects.requireNonNull(mode);
    }
}
