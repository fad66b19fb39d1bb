package io.unwedge.core;

import java.time.Duration;
import java.time.Instant;
import java.util.Arrays;
import java.util.Collection;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * Repeat offences (contract §4, "Customisation: consumers may apply their own policies: repeat offences"): a
 * task the driver names as guilty ({@code PID=}/{@code TASK=}) again and again, judged against a policy of
 * {@code count} offences within {@code window}. Pure: the caller brings the task's earlier offences (the
 * journal's telemetry rows of the same comm and exe) and carries out the verdict.
 *
 * <h2>Counting</h2>
 * An offence counts when it lies inside the window ending now, {@code (now - window, now]}, the new one
 * included. Earlier offences outside it never count; one stamped after {@code now} (a clock stepped back)
 * is outside too.
 *
 * <h2>One action per crossing, not a storm</h2>
 * The verdict is {@link Act} only at the offence that takes the task to the threshold: its count reaches
 * {@code count}, and no earlier offence inside the window had reached it at its own time (had one, the
 * action was due then). A task that goes on offending at or above the rate gets {@link AlreadyOver}, not an
 * action per offence; once it has calmed down for a window, the next crossing acts again. Two actions for
 * one task are therefore always at least a window apart. Telling an earlier offence's own count needs the
 * offences of the window before it: callers fetch {@link Policy#lookback()} (two windows) of history, and
 * anything older never matters.
 */
public final class Offences {

    private Offences() {}

    /** What to do when a task reaches the threshold. */
    public enum Action {
        /** log it (and tell whoever listens): a person decides */
        NOTIFY,
        /** end the task: SIGTERM through a pidfd (no SIGKILL after it: no recovery waits for the task to be gone) */
        TERMINATE,
        /** run the operator's offence hook with the task in its environment */
        HOOK;

        /** {@code notify}, {@code terminate}, {@code hook}. */
        public static Optional<Action> parse(String s) {
            for (var a : values()) if (a.toString().equals(s)) return Optional.of(a);
            return Optional.empty();
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /** {@code count} offences within {@code window} call for {@code action}. */
    public record Policy(int count, Duration window, Action action) {
        public Policy {
            if (count < 1) throw new IllegalArgumentException("an offence count must be at least 1: " + count);
            Objects.requireNonNull(window, "window");
            if (window.isNegative() || window.isZero()) throw new IllegalArgumentException("an offence window must be positive: " + window);
            Objects.requireNonNull(action, "action");
        }

        /** How far back a caller must look for the earlier offences {@link #judge} needs: two windows. */
        public Duration lookback() {
            return window.multipliedBy(2);
        }
    }

    /** The verdict on one new offence; {@code count} is the offences inside the window, the new one included. */
    public sealed interface Verdict permits Below, Act, AlreadyOver {
        int count();
    }

    /** Under the threshold: nothing to do beyond recording it. */
    public record Below(int count) implements Verdict {}

    /** This offence takes the task to the threshold: do {@code action}, once. */
    public record Act(Action action, int count) implements Verdict {}

    /** At or over the threshold, but an earlier offence inside the window already was: acted on then, not again. */
    public record AlreadyOver(int count) implements Verdict {}

    /**
     * Judges a new offence at {@code now}. {@code earlier} are the task's earlier offences in any order
     * (duplicates are separate offences); those older than {@link Policy#lookback()} may be left out.
     */
    public static Verdict judge(Collection<Instant> earlier, Instant now, Policy policy) {
        Objects.requireNonNull(now, "now");
        Objects.requireNonNull(policy, "policy");
        Instant[] sorted = earlier.toArray(Instant[]::new);
        for (var t : sorted) Objects.requireNonNull(t, "an earlier offence without a time");
        Arrays.sort(sorted);
        Duration w = policy.window();
        int count = 1 + within(sorted, now.minus(w), now);
        if (count < policy.count()) return new Below(count);
        // earlier offences are "before" the new one even at the same instant, so their own counts leave it out
        for (var e : sorted) {
            if (!e.isAfter(now.minus(w)) || e.isAfter(now)) continue;
            if (within(sorted, e.minus(w), e) >= policy.count()) return new AlreadyOver(count);
        }
        return new Act(policy.action(), count);
    }

    /** How many of {@code sorted} lie in {@code (from, to]}. */
    private static int within(Instant[] sorted, Instant from, Instant to) {
        return atOrBefore(sorted, to) - atOrBefore(sorted, from);
    }

    /** How many of {@code sorted} are at or before {@code t}: a binary search, since a storm can bring thousands. */
    private static int atOrBefore(Instant[] sorted, Instant t) {
        int lo = 0, hi = sorted.length;
        while (lo < hi) {
            int mid = (lo + hi) >>> 1;
            if (sorted[mid].isAfter(t)) hi = mid;
            else lo = mid + 1;
        }
        return lo;
    }
}
