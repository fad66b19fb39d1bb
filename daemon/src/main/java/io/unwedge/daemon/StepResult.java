package io.unwedge.daemon;

import io.unwedge.core.Step;

/** How one step ended, and how long it took. */
public record StepResult(Step step, Outcome outcome, long millis, String detail) {

    public enum Outcome {
        OK, TIMEOUT, ERROR, REWEDGED,
        /** the drain: holders remain and the policy does not force */
        REFUSED;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }
}
