package io.unwedge.core;

import java.util.List;

/**
 * The policy as a plain function: (event, device as sysfs shows it) → decision. No I/O, no clock.
 * The spine knows one disruptive method, {@code rebind}; the driver's list is read least side-effects
 * first and the first method unwedge can carry out is chosen.
 */
public final class Planner {

    public static final List<Step> REBIND_STEPS = List.of(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);

    private Planner() {}

    public static Decision decide(WedgedEvent event, GpuDevice device) {
        if (!device.bdf().equals(event.bdf())) {
            return new Decision.Refuse("event names " + event.bdf() + " but sysfs resolves " + device.bdf());
        }
        if (event.methods().equals(List.of(RecoveryMethod.NONE))) {
            return new Decision.NothingToDo("driver says none: no recovery needed"
                    + event.task().map(t -> ", guilty task " + t).orElse(""));
        }
        if (event.asks(RecoveryMethod.UNKNOWN)) {
            return new Decision.Refuse("method unknown (sent '" + event.rawMethods() + "'): left to the operator");
        }
        for (var m : event.methods()) {
            if (m == RecoveryMethod.REBIND) {
                if (!device.bound()) {
                    return new Decision.Refuse("rebind asked but " + device.bdf() + " is bound to no driver");
                }
                return new Decision.Recover(m, REBIND_STEPS, "driver asks " + event.rawMethods() + "; rebind is the least disruptive");
            }
        }
        return new Decision.Refuse("no supported method in '" + event.rawMethods() + "' (this build recovers by rebind only)");
    }
}
