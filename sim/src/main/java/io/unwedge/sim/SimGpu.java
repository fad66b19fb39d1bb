package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;

/**
 * One virtual card's fixed facts: where it sits in the PCI hierarchy, which driver owns it, and what the
 * hardware offers beyond the GPU function.
 *
 * @param bridges the PCI path from the host bridge down to the GPU's parent, e.g. root port,
 *                switch upstream port, switch downstream port (a discrete card behind a PCIe switch)
 * @param audio   the card's HDMI/DP audio controller is function 1 of the GPU's device
 * @param reset   the GPU function supports a function reset (sysfs shows {@code reset} and {@code reset_method})
 * @param slot    the name of the hotplug slot under {@code bus/pci/slots} that powers the card, if any; the
 *                slot is on the first bridge (the root port), so everything below the root port is in it
 */
public record SimGpu(PciAddress bdf, GpuModel model, List<PciAddress> bridges, String hostBridge,
                     boolean audio, boolean reset, Optional<String> slot) {

    public SimGpu {
        Objects.requireNonNull(bdf, "bdf");
        Objects.requireNonNull(model, "model");
        bridges = List.copyOf(bridges);
        Objects.requireNonNull(slot, "slot");
        if (audio && bdf.function() != 0) throw new IllegalArgumentException("the audio function is .1 of a GPU at .0, not of " + bdf);
        if (slot.isPresent() && bridges.isEmpty()) throw new IllegalArgumentException("a slot needs a port above the card: " + bdf + " has no bridges");
        if (slot.isPresent() && !slot.get().matches("[0-9A-Za-z_-]{1,32}")) throw new IllegalArgumentException("odd slot name: " + slot.get());
    }

    /** {@code devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0}, relative to the sysfs root. */
    public String sysPath() {
        return parentPath() + '/' + bdf;
    }

    /** The DEVPATH the kernel puts in this function's uevents. */
    public String devpath() {
        return "/" + sysPath();
    }

    /** The audio function's address, {@code …:00.1}, when the card has one. */
    public Optional<PciAddress> audioBdf() {
        return audio ? Optional.of(new PciAddress(bdf.domain(), bdf.bus(), bdf.device(), 1)) : Optional.empty();
    }

    /** Every PCI function of the card, GPU first. */
    public List<PciAddress> functions() {
        var out = new ArrayList<PciAddress>();
        out.add(bdf);
        audioBdf().ifPresent(out::add);
        return List.copyOf(out);
    }

    /** A function of this card (or one of its bridges), relative to the sysfs root. */
    public String sysPath(PciAddress function) {
        if (functions().contains(function)) return parentPath() + '/' + function;
        var b = new StringBuilder("devices/").append(hostBridge);
        for (var bridge : bridges) {
            b.append('/').append(bridge);
            if (bridge.equals(function)) return b.toString();
        }
        throw new IllegalArgumentException(function + " is not part of the card at " + bdf);
    }

    /**
     * The slot's {@code address} as pciehp shows it, {@code DDDD:BB:DD}: the device directly below the
     * slot's port (the root port), which for a card behind its own switch is the switch's upstream port,
     * not the GPU. A consumer finds the GPU's slot by walking up its bridges.
     */
    public Optional<String> slotAddress() {
        if (slot.isEmpty()) return Optional.empty();
        var below = bridges.size() > 1 ? bridges.get(1) : bdf;
        return Optional.of(String.format(Locale.ROOT, "%04x:%02x:%02x", below.domain(), below.bus(), below.device()));
    }

    /** The bridges inside the slot (below its port), top first: what a slot power-off removes besides the card. */
    public List<PciAddress> bridgesInSlot() {
        return slot.isEmpty() ? List.of() : cardBridges();
    }

    /**
     * The bridges below the root port, top first: the card's own switch. Each has {@code remove}, which takes
     * everything below it along; the root port, which carries the slot, has none in the sim.
     */
    public List<PciAddress> cardBridges() {
        return bridges.size() < 2 ? List.of() : bridges.subList(1, bridges.size());
    }

    private String parentPath() {
        var b = new StringBuilder("devices/").append(hostBridge);
        for (var bridge : bridges) b.append('/').append(bridge);
        return b.toString();
    }
}
