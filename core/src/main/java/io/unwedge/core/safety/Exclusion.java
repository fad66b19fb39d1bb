package io.unwedge.core.safety;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Hardware;
import io.unwedge.core.PciAddress;
import java.util.Locale;
import java.util.Optional;
import java.util.SortedSet;
import java.util.TreeSet;

/**
 * What a recovery's disruptive steps must hold alone: its PCI bus, and its hotplug slot. Two devices on
 * one bus (a secondary bus reset resets the whole bus) or below one slot (a power cycle takes everything
 * below it) never run disruptive steps at once. Sorted, so holders take them in one order and cannot deadlock.
 */
public final class Exclusion {

    private Exclusion() {}

    public static SortedSet<String> keys(GpuDevice device, Hardware hw) {
        return keys(device.bdf(), hw.slot().map(Hardware.Slot::name));
    }

    /** The same for a function known by its address and the name of the slot above it, if any (a restart's). */
    public static SortedSet<String> keys(PciAddress bdf, Optional<String> slot) {
        var keys = new TreeSet<String>();
        keys.add(String.format(Locale.ROOT, "bus %04x:%02x", bdf.domain(), bdf.bus()));
        slot.ifPresent(s -> keys.add("slot " + s));
        return keys;
    }
}
