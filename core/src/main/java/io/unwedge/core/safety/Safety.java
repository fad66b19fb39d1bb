package io.unwedge.core.safety;

import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;

/**
 * Whether a device may be recovered now, as a plain function of its history: the check that runs before
 * any disruptive step. No I/O; the clock is an argument.
 *
 * <h2>The rules, in order</h2>
 * <ol>
 *   <li><b>Quarantine</b>: a quarantined device is not recovered until released.</li>
 *   <li><b>Budget</b>: at most {@code budget} wedges of a device may lead to disruptive steps within
 *       {@code budgetWindow}; the next one quarantines it. Escalations of one wedge count once.</li>
 *   <li><b>Flapping</b>: a device that wedges again within {@code flapWindow} of a successful recovery,
 *       {@code flapCount} times in a row (this wedge included), is quarantined: its recoveries "work" and
 *       change nothing, and each one kills its users' work again.</li>
 * </ol>
 */
public final class Safety {

    private Safety() {}

    public sealed interface Verdict {
        String reason();

        record Allow(String reason) implements Verdict {}

        /** @param quarantine whether this denial puts the device in quarantine (false: it already is) */
        record Deny(String reason, boolean quarantine) implements Verdict {}
    }

    /** One wedge's attempts folded: when it began, when its last attempt ended, and whether that one recovered. */
    private record Wedge(Instant start, Optional<Instant> end, boolean ranSteps, boolean recovered) {}

    public static Verdict check(Instant now, List<PastRecovery> history, Optional<Quarantine> active, SafetyPolicy p) {
        if (active.isPresent()) {
            var q = active.get();
            return new Verdict.Deny("quarantined since " + q.since() + " (" + q.reason() + "); release it with: unwedge release "
                    + q.bdf(), false);
        }
        var wedges = fold(history);
        Instant budgetFrom = now.minus(p.budgetWindow());
        long spent = wedges.stream().filter(w -> w.ranSteps() && w.start().isAfter(budgetFrom)).count();
        if (spent >= p.budget()) {
            return new Verdict.Deny("budget spent: " + spent + " recoveries in the last " + format(p.budgetWindow())
                    + " (budget " + p.budget() + ")", true);
        }
        int streak = flapStreak(now, wedges, p.flapWindow());
        if (streak >= p.flapCount()) {
            return new Verdict.Deny("flapping: wedged again within " + format(p.flapWindow()) + " of a successful recovery "
                    + streak + " times in a row", true);
        }
        return new Verdict.Allow(spent + " of " + p.budget() + " recoveries used in the last " + format(p.budgetWindow())
                + (streak > 0 ? "; re-wedged " + streak + " time(s) soon after a recovery (flapping at " + p.flapCount() + ")" : ""));
    }

    private static List<Wedge> fold(List<PastRecovery> history) {
        var byEvent = new LinkedHashMap<Long, List<PastRecovery>>();
        history.stream().sorted(java.util.Comparator.comparing(PastRecovery::startedAt))
                .forEach(r -> byEvent.computeIfAbsent(r.eventId(), k -> new ArrayList<>()).add(r));
        var wedges = new ArrayList<Wedge>();
        for (var attempts : byEvent.values()) {
            var last = attempts.getLast();
            wedges.add(new Wedge(attempts.getFirst().startedAt(), last.endedAt(),
                    attempts.stream().anyMatch(PastRecovery::ranSteps), last.recovered()));
        }
        wedges.sort(java.util.Comparator.comparing(Wedge::start));
        return wedges;
    }

    /** How many wedges in a row, ending with the one arriving {@code now}, came within {@code window} of a recovery. */
    private static int flapStreak(Instant now, List<Wedge> wedges, Duration window) {
        int streak = 0;
        Instant next = now;
        for (int i = wedges.size() - 1; i >= 0; i--) {
            var w = wedges.get(i);
            if (!w.recovered() || w.end().isEmpty()) break;
            var gap = Duration.between(w.end().get(), next);
            if (gap.isNegative() || gap.compareTo(window) > 0) break;
            streak++;
            next = w.start();
        }
        return streak;
    }

    /** {@code 1h}, {@code 10m}, {@code 90s}, {@code 250ms}: the largest unit that divides evenly. */
    public static String format(Duration d) {
        long ms = d.toMillis();
        if (ms % 86_400_000 == 0 && ms > 0) return ms / 86_400_000 + "d";
        if (ms % 3_600_000 == 0 && ms > 0) return ms / 3_600_000 + "h";
        if (ms % 60_000 == 0 && ms > 0) return ms / 60_000 + "m";
        if (ms % 1000 == 0 && ms > 0) return ms / 1000 + "s";
        return ms + "ms";
    }
}
