package io.unwedge.core;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What sysfs says a GPU's PCI device allows beyond a rebind, read when a wedge comes (contract §5): the
 * other functions a reset hits, whether the function can be reset and how, the hotplug slot that can
 * power-cycle it, and xe's survivability mode. A snapshot, like {@link GpuDevice}.
 *
 * @param siblings     the device's other functions (e.g. HDMI audio at {@code .1}); a reset hits them too
 * @param reset        whether {@code <BDF>/reset} exists (some reset method is supported)
 * @param resetMethods {@code <BDF>/reset_method}, the enabled methods in the kernel's order, e.g. {@code flr bus}
 * @param slot         the nearest power-controllable hotplug slot above the device, if any
 * @param survivabilityMode whether {@code <BDF>/survivability_mode} exists (xe: a firmware flash is needed)
 */
public record Hardware(List<Function> siblings, boolean reset, List<String> resetMethods, Optional<Slot> slot,
                       boolean survivabilityMode) {

    /** Nothing beyond a rebind: no siblings, no reset, no slot. */
    public static final Hardware REBIND_ONLY = new Hardware(List.of(), false, List.of(), Optional.empty(), false);

    public Hardware {
        siblings = List.copyOf(siblings);
        resetMethods = List.copyOf(resetMethods);
        Objects.requireNonNull(slot);
    }

    /** Another function of the same PCI device, and the driver it is bound to now. */
    public record Function(PciAddress bdf, Optional<String> driver) {
        public Function {
            Objects.requireNonNull(bdf);
            Objects.requireNonNull(driver);
        }
    }

    /**
     * A hotplug slot: {@code /sys/bus/pci/slots/<name>} with {@code address} {@code DDDD:BB:DD} (the device
     * directly below the slot's port) and a {@code power} attribute.
     *
     * @param holds the function below the slot that {@code address} names: removing it removes the GPU with it
     */
    public record Slot(String name, String address, PciAddress holds) {
        public Slot {
            Objects.requireNonNull(name);
            Objects.requireNonNull(address);
            Objects.requireNonNull(holds);
        }
    }
}
