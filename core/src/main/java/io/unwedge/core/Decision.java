package io.unwedge.core;

import java.util.List;
import java.util.Objects;

/** What unwedge decides to do about one wedge, with the reason for everything, before it touches anything. */
public sealed interface Decision {

    String reason();

    /**
     * Recover by trying {@code ladder} in order: the driver's methods, least side-effects first, that this
     * device and the policy allow. A failed attempt escalates to the next; after the last, quarantine.
     *
     * @param skipped the driver's methods left out, each with why
     */
    record Recover(List<Attempt> ladder, List<Skipped> skipped, String reason) implements Decision {
        public Recover {
            ladder = List.copyOf(ladder);
            skipped = List.copyOf(skipped);
            if (ladder.isEmpty()) throw new IllegalArgumentException("a recovery needs at least one attempt");
        }

        public Attempt first() {
            return ladder.getFirst();
        }

        /**
         * Where an escalation from a failed {@code method} goes on: the attempts after it, none when it was the
         * last; the whole ladder when it is not on it (the policy changed since it was tried).
         */
        public List<Attempt> after(RecoveryMethod method) {
            for (int i = 0; i < ladder.size(); i++) if (ladder.get(i).method() == method) return ladder.subList(i + 1, ladder.size());
            return ladder;
        }
    }

    /** Nothing to recover: the driver said {@code none}. Telemetry only. */
    record Telemetry(String reason) implements Decision {}

    /**
     * unwedge will not recover the device itself and hands it over: to the operator (an alert) or to a
     * command (hook, reboot request, firmware flash), by policy.
     */
    record Handoff(RecoveryMethod method, MethodPolicy.Handoff to, List<Skipped> skipped, String reason) implements Decision {
        public Handoff {
            Objects.requireNonNull(method);
            Objects.requireNonNull(to);
            skipped = List.copyOf(skipped);
        }
    }

    /** unwedge will not act at all (a bad or mismatched event); the device stays as it is and the reason is said. */
    record Refuse(String reason) implements Decision {}

    /** What the planner makes of one of the driver's methods: an attempt, or a skip. */
    sealed interface Rung permits Attempt, Skipped {
        RecoveryMethod method();

        String why();
    }

    /** One method to try, its steps, and why this way. */
    record Attempt(RecoveryMethod method, List<Step> steps, String why) implements Rung {
        public Attempt {
            Objects.requireNonNull(method);
            steps = List.copyOf(steps);
        }
    }

    /** A method of the driver's list that will not be tried, and why. */
    record Skipped(RecoveryMethod method, String why) implements Rung {}
}
