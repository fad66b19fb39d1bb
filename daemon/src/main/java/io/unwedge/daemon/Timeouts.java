package io.unwedge.daemon;

import java.time.Duration;

/**
 * How long each step may take before it has failed.
 *
 * @param write  a sysfs write must return (a real unbind blocks until the driver's remove() is done)
 * @param unbind the driver link must be gone after the unbind write
 * @param bind   the driver must be bound and a cardN minor present after the bind write
 * @param settle the window after a recovery in which a new wedge of the device means it failed
 */
public record Timeouts(Duration write, Duration unbind, Duration bind, Duration settle) {
    public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(30), Duration.ofSeconds(30),
            Duration.ofSeconds(60), Duration.ofSeconds(10));

    public Timeouts {
        for (var d : new Duration[] {write, unbind, bind}) {
            if (!d.isPositive()) throw new IllegalArgumentException("write, unbind and bind timeouts must be positive");
        }
        if (settle.isNegative()) throw new IllegalArgumentException("settle window must not be negative");
    }

    /** The longest a recovery can take once started: how long a clean shutdown waits for one to end. */
    public Duration worstCase() {
        return write.multipliedBy(2).plus(unbind).plus(bind).plus(settle);
    }
}
