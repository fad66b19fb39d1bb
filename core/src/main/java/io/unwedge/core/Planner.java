package io.unwedge.core;

import io.unwedge.core.Decision.Attempt;
import io.unwedge.core.Decision.Skipped;
import java.util.ArrayList;
import java.util.List;

/**
 * The policy as a plain function: (event, device and hardware as sysfs shows them, the operator's method
 * policy) → decision, with a reason for every choice. No I/O, no clock.
 *
 * <h2>The ladder</h2>
 * The driver lists its methods least side-effects first (contract §4); unwedge tries them in that order,
 * each one it can carry out on this device and the policy allows, escalating to the next when one fails.
 * A method it cannot run is skipped with its reason. When none is left, the wedge is handed to the unknown
 * policy: the spec's "cold-reset without a power-controllable slot" is one such case.
 *
 * <h2>Steps per method</h2>
 * <pre>
 * rebind           drain, unbind, bind, settle
 * bus-reset        drain, unbind (all functions), reset, bind, settle          (&lt;BDF&gt;/reset)
 *                  drain, unbind, remove, rescan, bind, settle                 (no reset, or configured)
 * vendor-specific  drain, command, settle                                      (the driver's configured command)
 * cold-reset       drain, unbind, remove, power-off, power-on, rescan, bind, settle
 * </pre>
 * xe's survivability mode (vendor-specific with {@code survivability_mode} present) needs a firmware flash:
 * it is handed to the configured command, or an alert, and never rebound.
 */
public final class Planner {

    public static final List<Step> REBIND_STEPS = List.of(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
    public static final List<Step> RESET_STEPS = List.of(Step.DRAIN, Step.UNBIND, Step.RESET, Step.BIND, Step.SETTLE);
    public static final List<Step> REMOVE_RESCAN_STEPS = List.of(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.RESCAN, Step.BIND, Step.SETTLE);
    public static final List<Step> VENDOR_STEPS = List.of(Step.DRAIN, Step.COMMAND, Step.SETTLE);
    public static final List<Step> COLD_RESET_STEPS = List.of(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.POWER_OFF, Step.POWER_ON,
            Step.RESCAN, Step.BIND, Step.SETTLE);

    private Planner() {}

    /** The spine's decision: rebind only, nothing beyond it known about the hardware. */
    public static Decision decide(WedgedEvent event, GpuDevice device) {
        return decide(event, device, Hardware.REBIND_ONLY, MethodPolicy.DEFAULT);
    }

    public static Decision decide(WedgedEvent event, GpuDevice device, Hardware hw, MethodPolicy policy) {
        if (!device.bdf().equals(event.bdf())) {
            return new Decision.Refuse("event names " + event.bdf() + " but sysfs resolves " + device.bdf());
        }
        if (event.methods().equals(List.of(RecoveryMethod.NONE))) {
            return new Decision.Telemetry("driver says none: no recovery needed"
                    + event.task().map(t -> ", guilty task " + t).orElse(""));
        }
        if (event.asks(RecoveryMethod.UNKNOWN)) {
            return new Decision.Handoff(RecoveryMethod.UNKNOWN, policy.unknown(), List.of(),
                    "driver sent '" + event.rawMethods() + "': it does not know how to recover; unknown policy: " + policy.unknown().kind());
        }
        String driver = device.driver().orElse(null);
        if (event.asks(RecoveryMethod.VENDOR_SPECIFIC) && "xe".equals(driver) && hw.survivabilityMode()) {
            var flash = policy.vendorCommands().get("xe");
            var to = flash == null || flash.isEmpty() ? MethodPolicy.Handoff.ALERT
                    : new MethodPolicy.Handoff(MethodPolicy.Handoff.Kind.FIRMWARE_FLASH, flash);
            return new Decision.Handoff(RecoveryMethod.VENDOR_SPECIFIC, to, List.of(),
                    "xe survivability mode: the firmware must be flashed; a rebind cannot help"
                            + (to.kind() == MethodPolicy.Handoff.Kind.ALERT ? " (no [vendor.xe] command configured)" : ""));
        }
        var ladder = new ArrayList<Attempt>();
        var skipped = new ArrayList<Skipped>();
        for (var m : event.methods()) {
            if (m == RecoveryMethod.NONE) continue; // "none" among others adds nothing to do
            if (!policy.allowed().contains(m)) {
                skipped.add(new Skipped(m, "not allowed by [recovery] methods"));
                continue;
            }
            switch (attempt(m, device, hw, policy)) {
                case Attempt a -> ladder.add(a);
                case Skipped s -> skipped.add(s);
            }
        }
        String skips = skipped.isEmpty() ? "" : "; skipped " + describe(skipped);
        if (ladder.isEmpty()) {
            return new Decision.Handoff(RecoveryMethod.UNKNOWN, policy.unknown(), skipped,
                    "nothing in '" + event.rawMethods() + "' can be run here" + skips + "; unknown policy: " + policy.unknown().kind());
        }
        var order = String.join(" → ", ladder.stream().map(a -> a.method().token()).toList());
        return new Decision.Recover(ladder, skipped, "driver asks " + event.rawMethods() + "; trying " + order
                + (ladder.size() > 1 ? ", escalating on failure" : "") + skips);
    }

    private static Decision.Rung attempt(RecoveryMethod m, GpuDevice device, Hardware hw, MethodPolicy policy) {
        String driver = device.driver().orElse(null);
        return switch (m) {
            case REBIND -> driver == null
                    ? new Skipped(m, device.bdf() + " is bound to no driver")
                    : new Attempt(m, REBIND_STEPS, "unbind and bind " + driver);
            case BUS_RESET -> {
                if (driver == null) yield new Skipped(m, device.bdf() + " is bound to no driver (nothing to bind back)");
                String functions = hw.siblings().isEmpty() ? "" : " with " + hw.siblings().size() + " sibling function(s)";
                if (policy.busReset() == MethodPolicy.BusReset.RESET && hw.reset()) {
                    String how = policy.resetMethod().isEmpty()
                            ? "reset_method as is (" + (hw.resetMethods().isEmpty() ? "unknown" : String.join(" ", hw.resetMethods())) + ")"
                            : "reset_method '" + String.join(" ", policy.resetMethod()) + "', restored after";
                    yield new Attempt(m, RESET_STEPS, "reset through " + device.bdf() + "/reset, " + how + functions);
                }
                yield new Attempt(m, REMOVE_RESCAN_STEPS, "remove and rescan"
                        + (policy.busReset() == MethodPolicy.BusReset.RESET ? " (the function has no reset attribute)" : " (configured)") + functions);
            }
            case VENDOR_SPECIFIC -> {
                var command = driver == null ? null : policy.vendorCommands().get(driver);
                yield command == null || command.isEmpty()
                        ? new Skipped(m, "no [vendor." + (driver == null ? "<driver>" : driver) + "] command configured")
                        : new Attempt(m, VENDOR_STEPS, "run " + String.join(" ", command));
            }
            case COLD_RESET -> {
                if (driver == null) yield new Skipped(m, device.bdf() + " is bound to no driver (nothing to bind back)");
                yield hw.slot().<Decision.Rung>map(s -> new Attempt(m, COLD_RESET_STEPS, "power-cycle slot " + s.name() + " (" + s.address()
                        + ", holding " + s.holds() + ")")).orElseGet(() -> new Skipped(m, "no power-controllable slot"));
            }
            case NONE, UNKNOWN -> throw new AssertionError(m);
        };
    }

    private static String describe(List<Skipped> skipped) {
        return String.join(", ", skipped.stream().map(s -> s.method() + " (" + s.why() + ")").toList());
    }
}
