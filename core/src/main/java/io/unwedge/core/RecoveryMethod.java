package io.unwedge.core;

import java.util.Optional;

/**
 * The recovery methods a driver may name in {@code WEDGED=} (include/drm/drm_drv.h), in the kernel's
 * bit order: least side-effects first. {@link #UNKNOWN} is what the kernel sends when it has no token,
 * and what unwedge reads when it cannot trust what it got.
 */
public enum RecoveryMethod {
    /** bit 0: nothing to recover; optional telemetry (v7.1+ meaning) */
    NONE("none"),
    /** bit 1: unbind and bind the driver */
    REBIND("rebind"),
    /** bit 2: unbind, reset the bus device, bind */
    BUS_RESET("bus-reset"),
    /** bit 3: the vendor's documented procedure (xe: survivability mode → firmware flash) */
    VENDOR_SPECIFIC("vendor-specific"),
    /** bit 4: remove, slot power cycle, rescan */
    COLD_RESET("cold-reset"),
    /** no bit: the driver does not know, or the event could not be trusted */
    UNKNOWN("unknown");

    private final String token;

    RecoveryMethod(String token) {
        this.token = token;
    }

    /** The word on the wire, e.g. {@code bus-reset}. */
    public String token() {
        return token;
    }

    public static Optional<RecoveryMethod> ofToken(String token) {
        for (var m : values()) if (m.token.equals(token)) return Optional.of(m);
        return Optional.empty();
    }

    /** Whether the method takes the device away from its users (everything but none and unknown). */
    public boolean isDisruptive() {
        return this != NONE && this != UNKNOWN;
    }

    @Override
    public String toString() {
        return token;
    }
}
