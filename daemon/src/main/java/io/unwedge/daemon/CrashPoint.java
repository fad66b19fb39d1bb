package io.unwedge.daemon;

import io.unwedge.core.Step;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Signals;
import java.util.List;
import java.util.Map;
import java.util.Optional;

/**
 * TEST ONLY: makes the daemon SIGKILL itself at a named point of a recovery, so the crash tests can check
 * what a restart makes of each state the journal and the device can be left in. Armed once at start from
 * {@code UNWEDGE_CRASH_AT=<point>} (the daemon command reads it); unset, every {@link #reached} is a read of
 * one null field. Never set it in production: the daemon dies with the device in whatever state the point
 * leaves it, exactly as on a power cut.
 *
 * <p>The points sit at the step boundaries of {@link Recovery}: after a step's intent is durable, after its
 * sysfs write returned, after its effect was seen (and journaled), and before the recovery's end is journaled.
 */
public final class CrashPoint {

    public static final String ENV = "UNWEDGE_CRASH_AT";

    /** The points a rebind passes, in order. */
    public static final List<String> REBIND = List.of("after-intent:unbind", "after-write:unbind", "after-unbound",
            "after-intent:bind", "after-write:bind", "after-bound", "after-intent:settle", "before-end");

    /** The points only a bus reset ({@code reset}) or a cold reset (remove, slot power, rescan) passes, in order. */
    public static final List<String> RESETS = List.of("after-write:reset", "after-write:remove", "after-intent:power-off",
            "after-write:power-off", "after-intent:power-on", "after-write:power-on", "after-write:rescan");

    /** Every point there is. */
    public static final List<String> ALL = java.util.stream.Stream.concat(REBIND.stream(), RESETS.stream()).toList();

    private static volatile String armed;

    private CrashPoint() {}

    /**
     * Arms the point {@code env} names, if it names one.
     *
     * @return the armed point; empty when the variable is unset or empty
     * @throws IllegalArgumentException when it names no point
     */
    public static Optional<String> arm(Map<String, String> env) {
        String v = env.get(ENV);
        if (v == null || v.isBlank()) {
            armed = null;
            return Optional.empty();
        }
        if (!ALL.contains(v.strip())) {
            throw new IllegalArgumentException(ENV + " must be one of " + String.join(", ", ALL) + ", not '" + v + "'");
        }
        armed = v.strip();
        return Optional.of(armed);
    }

    static void afterIntent(Step step) {
        reached("after-intent:" + step);
    }

    static void afterWrite(Step step) {
        reached("after-write:" + step);
    }

    /** The step's effect was seen and journaled. */
    static void afterDone(Step step) {
        reached(switch (step) {
            case UNBIND -> "after-unbound";
            case BIND -> "after-bound";
            default -> "after-done:" + step;
        });
    }

    static void beforeEnd() {
        reached("before-end");
    }

    static void reached(String point) {
        String a = armed;
        if (a == null || !a.equals(point)) return;
        System.out.println("crash-point " + point + " reached: SIGKILL to self (" + ENV + ", test only)");
        System.out.flush();
        try {
            Signals.killSelf();
        } catch (OsException e) {
            throw new IllegalStateException("crash point " + point + ": " + e.getMessage(), e);
        }
    }
}
