package io.unwedge.daemon;

import java.time.Duration;

/**
 * How long each step may take before it has failed.
 *
 * @param write    a sysfs write must return (a real unbind blocks until the driver's remove() is done)
 * @param unbind   the driver link must be gone after the unbind write
 * @param bind     the driver must be bound and a cardN minor present after the bind write
 * @param settle   the window after a recovery in which a new wedge of the device means it failed
 * @param reset    a {@code reset} write must be done, or a removed function must be back after the rescan or
 *                 the slot's power on (bus-reset, cold-reset)
 * @param powerOff how long a slot stays powered off in a cold reset (contract §4: "after ~2 s")
 */
public record Timeouts(Duration write, Duration unbind, Duration bind, Duration settle, Duration reset, Duration powerOff) {
    public static final Timeouts DEFAULT = new Timeouts(Duration.ofSeconds(30), Duration.ofSeconds(30),
            Duration.ofSeconds(60), Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(2));

    /** The most sysfs writes one recovery makes: a cold reset's unbind, remove, power 0, power 1, rescan, bind. */
    static final int MOST_WRITES = 6;

    public Timeouts {
        for (var d : new Duration[] {write, unbind, bind, reset, powerOff}) {
            if (!d.isPositive()) throw new IllegalArgumentException("write, unbind, bind, reset and power-off timeouts must be positive");
        }
        if (settle.isNegative()) throw new IllegalArgumentException("settle window must not be negative");
    }

    /**
     * The longest a recovery can take once started: how long a clean shutdown waits for one to end. The
     * longest path is a cold reset: six writes, the unbind, the slot powered off, the function coming back,
     * the bind and the settle window.
     */
    public Duration worstCase() {
        return write.multipliedBy(MOST_WRITES).plus(unbind).plus(powerOff).plus(reset).plus(bind).plus(settle);
    }
}
