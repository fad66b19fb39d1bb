package io.unwedge.core.safety;

/** What a quarantined device is left as, until an operator releases it. */
public enum QuarantineMode {
    /** without a driver: nothing can use it, nothing wedges it again */
    UNBOUND,
    /** as it is (bound or not), its wedges ignored: for keeping the device's state for a post-mortem */
    EXCLUDED;

    public static java.util.Optional<QuarantineMode> parse(String s) {
        for (var m : values()) if (m.toString().equals(s)) return java.util.Optional.of(m);
        return java.util.Optional.empty();
    }

    @Override
    public String toString() {
        return name().toLowerCase(java.util.Locale.ROOT);
    }
}
