package io.unwedge.daemon.journal;

import io.unwedge.core.PciAddress;
import java.time.Instant;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * A device unwedge has stopped recovering until a person releases it ({@link Journal#quarantine},
 * {@link Journal#release}); at most one is active per device.
 */
public record Quarantine(long id, PciAddress bdf, Instant since, String reason, Mode mode) {

    public Quarantine {
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(since);
        Objects.requireNonNull(reason);
        Objects.requireNonNull(mode);
    }

    /** The state the device is kept in. */
    public enum Mode {
        /** its driver was unbound and is left so: nothing can use the device */
        UNBOUND,
        /** left as it is, driver and all; unwedge only ignores its wedges */
        EXCLUDED;

        /** {@code unbound}, {@code excluded}. */
        public static Optional<Mode> parse(String s) {
            for (var m : values()) if (m.toString().equals(s)) return Optional.of(m);
            return Optional.empty();
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }
}
