package io.unwedge.core.safety;

import java.time.Duration;
import java.util.Objects;

/**
 * The limits that stop unwedge from thrashing a machine.
 *
 * @param budget       recoveries (wedges that led to disruptive steps) allowed per device per {@code budgetWindow}
 * @param flapCount    re-wedges within {@code flapWindow} of a successful recovery, in a row, that make a device flapping
 * @param quarantine   what a quarantined device is left as
 * @param maxConcurrent disruptive recoveries at once, host-wide
 */
public record SafetyPolicy(int budget, Duration budgetWindow, int flapCount, Duration flapWindow, QuarantineMode quarantine,
                           int maxConcurrent) {

    public static final SafetyPolicy DEFAULT = new SafetyPolicy(3, Duration.ofHours(1), 3, Duration.ofMinutes(10),
            QuarantineMode.UNBOUND, 1);

    public SafetyPolicy {
        if (budget < 1) throw new IllegalArgumentException("budget must be at least 1: " + budget);
        if (flapCount < 1) throw new IllegalArgumentException("flap count must be at least 1: " + flapCount);
        if (maxConcurrent < 1) throw new IllegalArgumentException("max concurrent recoveries must be at least 1: " + maxConcurrent);
        if (!budgetWindow.isPositive() || !flapWindow.isPositive()) throw new IllegalArgumentException("windows must be positive");
        Objects.requireNonNull(quarantine);
    }
}
