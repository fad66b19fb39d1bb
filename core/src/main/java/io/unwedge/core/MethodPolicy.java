package io.unwedge.core;

import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Set;

/**
 * How the operator lets unwedge recover: which disruptive methods it may run, how a bus reset is done, what
 * happens when nothing can be run, and the vendor commands. Plain data, read from the configuration.
 *
 * @param allowed       the disruptive methods unwedge may run; the driver's others are skipped with a reason
 * @param busReset      how {@code bus-reset} is carried out
 * @param resetMethod   written to {@code <BDF>/reset_method} before a reset (original restored after); empty: as is
 * @param unknown       what happens when the driver says {@code unknown}, or nothing it offers can be run
 * @param vendorCommands per driver: the command for {@code vendor-specific} (xe: the firmware flash)
 */
public record MethodPolicy(Set<RecoveryMethod> allowed, BusReset busReset, List<String> resetMethod, Handoff unknown,
                           Map<String, List<String>> vendorCommands) {

    /** Every method, a reset through {@code reset} as the kernel has it, unknown → alert, no vendor commands. */
    public static final MethodPolicy DEFAULT = new MethodPolicy(
            Set.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET, RecoveryMethod.VENDOR_SPECIFIC, RecoveryMethod.COLD_RESET),
            BusReset.RESET, List.of(), Handoff.ALERT, Map.of());

    public MethodPolicy {
        allowed = Set.copyOf(allowed);
        for (var m : allowed) {
            if (!m.isDisruptive()) throw new IllegalArgumentException(m + " is not a method unwedge runs");
        }
        Objects.requireNonNull(busReset);
        resetMethod = List.copyOf(resetMethod);
        Objects.requireNonNull(unknown);
        if (unknown.kind() == Handoff.Kind.FIRMWARE_FLASH) throw new IllegalArgumentException("unknown policy cannot be a firmware flash");
        var commands = new java.util.TreeMap<String, List<String>>();
        vendorCommands.forEach((driver, argv) -> commands.put(driver, List.copyOf(argv)));
        vendorCommands = java.util.Collections.unmodifiableMap(commands);
    }

    public enum BusReset {
        /** {@code <BDF>/reset} (falls back to remove and rescan where the function has none) */
        RESET,
        /** {@code <BDF>/remove}, then {@code bus/pci/rescan} */
        REMOVE_RESCAN;

        @Override
        public String toString() {
            return this == RESET ? "reset" : "remove-rescan";
        }
    }

    /**
     * What unwedge hands a wedge to when it will not recover it itself.
     *
     * @param command argv; empty exactly for {@link Kind#ALERT}
     */
    public record Handoff(Kind kind, List<String> command) {
        public static final Handoff ALERT = new Handoff(Kind.ALERT, List.of());

        public Handoff {
            Objects.requireNonNull(kind);
            command = List.copyOf(command);
            if ((kind == Kind.ALERT) != command.isEmpty()) {
                throw new IllegalArgumentException(kind == Kind.ALERT ? "an alert runs no command" : kind + " needs a command");
            }
        }

        public enum Kind {
            /** say it loudly (log at critical, journal, service status) and leave the device as it is */
            ALERT,
            /** run the operator's command with the event in its environment */
            HOOK,
            /** run the operator's command that schedules a reboot */
            REQUEST_REBOOT,
            /** xe survivability mode: run the firmware flash command */
            FIRMWARE_FLASH;

            @Override
            public String toString() {
                return name().toLowerCase(java.util.Locale.ROOT).replace('_', '-');
            }
        }
    }
}
