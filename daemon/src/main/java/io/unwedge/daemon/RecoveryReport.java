package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.WedgedEvent;
import java.util.List;
import java.util.Optional;

/**
 * The end of one wedge's handling: what was decided, each step, and the state the device was left in.
 *
 * @param cardAfter the primary minor after a recovery (re-resolved by BDF: the number may change)
 * @param latencyMicros from the kernel's delivery of the event to the unbind write, when one was made
 * @param driver        the driver the device was bound to when the wedge came (the event does not name it, and
 *                      sysfs forgets it with the unbind: a failed recovery may leave the device without one);
 *                      empty when the device could not be resolved
 */
public record RecoveryReport(WedgedEvent event, PciAddress bdf, Optional<RecoveryMethod> method, Result result,
                             String reason, List<StepResult> steps, Optional<String> cardAfter, long totalMillis,
                             Optional<Long> latencyMicros, Optional<String> driver) {

    public RecoveryReport {
        steps = List.copyOf(steps);
        java.util.Objects.requireNonNull(driver);
    }

    /** A report that does not know the driver. */
    public RecoveryReport(WedgedEvent event, PciAddress bdf, Optional<RecoveryMethod> method, Result result, String reason,
                          List<StepResult> steps, Optional<String> cardAfter, long totalMillis, Optional<Long> latencyMicros) {
        this(event, bdf, method, result, reason, steps, cardAfter, totalMillis, latencyMicros, Optional.empty());
    }

    public enum Result {
        /** the device is back: driver bound, card present, not re-wedged while settling */
        RECOVERED,
        /** a step failed or timed out; {@code reason} says which and the state the device was left in */
        FAILED,
        /** the policy would not run a recovery (holders remain, budget spent, quarantined, device gone, bad event) */
        REFUSED,
        /** unwedge would not recover it itself: an alert was raised, or the operator's command ran (unknown, firmware flash) */
        HANDED_OFF,
        /** the driver said none: nothing to recover */
        NOTHING_TO_DO,
        /** --dry-run: the plan was logged, nothing was touched */
        DRY_RUN;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
        }
    }
}
