package io.unwedge.host.sysfs;

import io.unwedge.core.Devpath;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.Hardware;
import io.unwedge.core.PciAddress;
import io.unwedge.core.WedgedEvent;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * card → PCI function → driver → minors (card, render and accel nodes), read from a sysfs root. A DEVPATH from an event is checked
 * ({@link Devpath#check}) and then resolved: the real path must stay inside {@code <sysfs>/devices},
 * so neither a forged event nor a hostile symlink can point unwedge at something else.
 */
public final class Topology {

    private static final Pattern MINOR = Pattern.compile("(card(0|[1-9][0-9]*)|renderD[1-9][0-9]*|accel(0|[1-9][0-9]*))");

    private final Sysfs sysfs;

    public Topology(Sysfs sysfs) {
        this.sysfs = sysfs;
    }

    public Sysfs sysfs() {
        return sysfs;
    }

    /** What resolving a wedged event's device gave. */
    public sealed interface Resolution {
        record Found(GpuDevice device) implements Resolution {}

        /** The device the event named is not there (any more). */
        record Gone(String reason) implements Resolution {}

        /** The event names something that is not a PCI DRM device under this sysfs. */
        record Invalid(String reason) implements Resolution {}
    }

    public Resolution resolve(WedgedEvent event) {
        Path card = sysfs.root().resolve(event.devpath().path().substring(1));
        Path devicesReal = realDevices();
        if (devicesReal == null) return new Resolution.Invalid("no devices directory under " + sysfs.root());
        Path real;
        try {
            real = card.toRealPath();
        } catch (IOException e) {
            return new Resolution.Gone(event.card() + " not in sysfs (" + event.devpath() + ")");
        }
        if (!real.startsWith(devicesReal)) {
            return new Resolution.Invalid(event.devpath() + " resolves outside " + sysfs.devices());
        }
        Path function = real.getParent().getParent();
        if (!function.getFileName().toString().equals(event.bdf().toString())) {
            return new Resolution.Invalid(event.devpath() + " is not under its PCI function " + event.bdf());
        }
        return device(event.bdf(), function)
                .<Resolution>map(Resolution.Found::new)
                .orElseGet(() -> new Resolution.Gone(event.bdf() + " has no primary minor"));
    }

    /** The function's directory, real and inside {@code <sysfs>/devices}, if it exists. */
    public Optional<Path> functionDir(PciAddress bdf) {
        Path devicesReal = realDevices();
        if (devicesReal == null) return Optional.empty();
        try {
            Path real = sysfs.pciDevice(bdf).toRealPath();
            if (!real.startsWith(devicesReal) || !real.getFileName().toString().equals(bdf.toString())) {
                return Optional.empty();
            }
            return Optional.of(real);
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /** The device as it is now, re-resolved by BDF; empty when the function or its primary minor is missing. */
    public Optional<GpuDevice> byBdf(PciAddress bdf) {
        return functionDir(bdf).flatMap(function -> device(bdf, function));
    }

    private Optional<GpuDevice> device(PciAddress bdf, Path function) {
        var minors = minors(function);
        return minors.stream().filter(Devpath::isPrimaryMinorName).findFirst().map(card -> new GpuDevice(
                card, Integer.parseInt(card.substring(4)), bdf, Sysfs.driverOf(function),
                realRoot == null ? function.toString() : realRoot.relativize(function).toString(), minors));
    }

    /**
     * The real path of {@code <sysfs>/devices}, resolved once: sysfs roots do not move, and the hot path
     * from an event to the unbind write should not pay for it every time.
     */
    private Path realDevices() {
        Path d = realDevices;
        if (d == null) {
            try {
                realRoot = sysfs.root().toRealPath();
                d = realDevices = sysfs.devices().toRealPath();
            } catch (IOException e) {
                return null;
            }
        }
        return d;
    }

    private volatile Path realDevices;
    private volatile Path realRoot;

    /**
     * What the device's hardware allows beyond a rebind (contract §5): its sibling functions, {@code reset}
     * and {@code reset_method}, the nearest power-controllable slot above it, xe's {@code survivability_mode}.
     * Anything unreadable counts as absent: the planner then skips what needs it, with the reason.
     */
    public Hardware hardware(GpuDevice device) {
        var function = functionDir(device.bdf());
        if (function.isEmpty()) return Hardware.REBIND_ONLY;
        Path f = function.get();
        var resetMethods = Sysfs.readTrimmed(f.resolve("reset_method"))
                .map(s -> List.of(s.split("\\s+"))).orElse(List.of()).stream().filter(t -> !t.isEmpty()).toList();
        return new Hardware(siblings(device.bdf(), f), Files.exists(f.resolve("reset")), resetMethods, slot(f),
                Files.exists(f.resolve("survivability_mode")));
    }

    /** The nearest power-controllable slot above the function, as {@link #hardware} finds it; empty when it is gone. */
    public Optional<Hardware.Slot> slotOf(PciAddress bdf) {
        return functionDir(bdf).flatMap(this::slot);
    }

    /** The other functions of the same PCI device, beside {@code function} in its parent directory. */
    private List<Hardware.Function> siblings(PciAddress bdf, Path function) {
        var out = new ArrayList<Hardware.Function>();
        try (var entries = Files.list(function.getParent())) {
            for (var p : (Iterable<Path>) entries::iterator) {
                var other = PciAddress.parse(p.getFileName().toString());
                if (other.isEmpty() || other.get().equals(bdf) || other.get().domain() != bdf.domain()
                        || other.get().bus() != bdf.bus() || other.get().device() != bdf.device()) continue;
                out.add(new Hardware.Function(other.get(), Sysfs.driverOf(p)));
            }
        } catch (IOException e) {
            return List.of();
        }
        out.sort(Comparator.comparing(Hardware.Function::bdf));
        return out;
    }

    /**
     * The nearest slot above the function with a {@code power} attribute: the function and then each bridge
     * above it, matched by {@code DDDD:BB:DD} against each slot's {@code address} (contract §4, cold reset).
     */
    private Optional<Hardware.Slot> slot(Path function) {
        var slots = new java.util.LinkedHashMap<String, String>(); // address → slot name
        try (var entries = Files.list(sysfs.pciSlots())) {
            for (var s : (Iterable<Path>) entries.sorted()::iterator) {
                if (!Files.exists(s.resolve("power"))) continue;
                Sysfs.readTrimmed(s.resolve("address")).ifPresent(a -> slots.putIfAbsent(a.toLowerCase(java.util.Locale.ROOT), s.getFileName().toString()));
            }
        } catch (IOException e) {
            return Optional.empty(); // no slots directory: no hotplug controller
        }
        Path devicesReal = realDevices();
        for (Path p = function; p != null && devicesReal != null && p.startsWith(devicesReal); p = p.getParent()) {
            var bdf = PciAddress.parse(p.getFileName().toString());
            if (bdf.isEmpty()) continue;
            String address = String.format(java.util.Locale.ROOT, "%04x:%02x:%02x", bdf.get().domain(), bdf.get().bus(), bdf.get().device());
            String name = slots.get(address);
            if (name != null) return Optional.of(new Hardware.Slot(name, address, bdf.get()));
        }
        return Optional.empty();
    }

    /** Whether the function is in sysfs at all (not removed). */
    public boolean isPresent(PciAddress bdf) {
        return functionDir(bdf).isPresent();
    }

    /** Whether a driver is bound and a primary minor exists: the device is back. */
    public boolean isUp(PciAddress bdf) {
        return functionDir(bdf).map(f -> Sysfs.hasDriverLink(f) && minors(f).stream().anyMatch(Devpath::isPrimaryMinorName))
                .orElse(false);
    }

    /** Whether the function has no driver any more (or has gone altogether). */
    public boolean isUnbound(PciAddress bdf) {
        return functionDir(bdf).map(f -> !Sysfs.hasDriverLink(f)).orElse(true);
    }

    /** Every PCI GPU with a primary minor, from {@code class/drm} (connectors, render nodes and the version file skipped). */
    public List<GpuDevice> cards() {
        var out = new ArrayList<GpuDevice>();
        try (var entries = Files.list(sysfs.classDrm())) {
            for (var link : (Iterable<Path>) entries::iterator) {
                String name = link.getFileName().toString();
                if (!Devpath.isPrimaryMinorName(name)) continue;
                try {
                    Path real = link.toRealPath();
                    Path function = real.getParent().getParent();
                    PciAddress.parse(function.getFileName().toString()).flatMap(this::byBdf).ifPresent(out::add);
                } catch (IOException | NullPointerException e) {
                    // gone while we looked, or not a PCI device: not ours to recover
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        out.sort(Comparator.comparingInt(GpuDevice::cardIndex));
        return out;
    }

    /**
     * The function's minors: {@code drm/} holds its card and render nodes, {@code accel/} its compute
     * accelerator nodes ({@code accelN}, char major 261, {@code /dev/accel/accelN}), which the accel class
     * puts beside drm rather than under it.
     */
    private static List<String> minors(Path function) {
        var out = new ArrayList<String>();
        for (var dir : List.of("drm", "accel")) {
            try (var entries = Files.list(function.resolve(dir))) {
                entries.map(p -> p.getFileName().toString()).filter(n -> MINOR.matcher(n).matches())
                        .filter(n -> dir.equals("accel") == n.startsWith("accel")).forEach(out::add);
            } catch (IOException e) {
                // no such class on this function (most GPUs have no accel node), or gone meanwhile
            }
        }
        out.sort(Comparator.comparing((String n) -> n.replaceAll("[0-9]+$", "")).thenComparingInt(Topology::number));
        return List.copyOf(out);
    }

    private static int number(String minor) {
        return Integer.parseInt(minor.replaceAll("^[A-Za-z]+", ""));
    }

}
