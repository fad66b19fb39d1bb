package io.unwedge.daemon.http;

import io.unwedge.daemon.LoopHeartbeat;
import java.time.Duration;
import java.util.Objects;
import java.util.function.Supplier;

/** What {@code /healthz} answers: the event loop is alive, or why not. */
public sealed interface Health {

    record Ok() implements Health {}

    record Unhealthy(String reason) implements Health {
        public Unhealthy {
            Objects.requireNonNull(reason);
        }
    }

    Health OK = new Ok();

    /**
     * The event loop's health as the watchdog judges it ({@link LoopHeartbeat#alive}): waiting in receive
     * is alive however long it lasts; working on one delivery for {@code stuckAfter} or more is stuck; a
     * loop that has ended is not alive.
     */
    static Supplier<Health> of(LoopHeartbeat heartbeat, Duration stuckAfter) {
        Objects.requireNonNull(heartbeat);
        if (!stuckAfter.isPositive()) throw new IllegalArgumentException("stuckAfter must be more than zero: " + stuckAfter);
        return () -> {
            if (heartbeat.hasEnded()) return new Unhealthy("the event loop has ended: the daemon is stopping");
            if (heartbeat.alive(stuckAfter)) return OK;
            return new Unhealthy("the event loop has been out of receive for " + heartbeat.busyFor().toMillis()
                    + " ms (stuck after " + stuckAfter.toMillis() + " ms)");
        };
    }
}
