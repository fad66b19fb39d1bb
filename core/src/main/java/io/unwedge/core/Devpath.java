package io.unwedge.core;

import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A DEVPATH from a uevent, checked before anything builds a filesystem path from it: under
 * {@code /devices/}, no {@code .}/{@code ..}/empty components, sysfs-safe characters only.
 * A primary DRM minor's path ends in {@code <BDF>/drm/card<N>}.
 */
public record Devpath(String path, List<String> components) {

    private static final Pattern COMPONENT = Pattern.compile("[A-Za-z0-9:._+-]{1,255}");
    private static final Pattern CARD = Pattern.compile("card(0|[1-9][0-9]{0,8})");

    public Devpath {
        components = List.copyOf(components);
    }

    /** The checked devpath, or a reason it is not one. */
    public static Checked check(String path) {
        if (path == null || !path.startsWith("/devices/")) return new Checked.Bad("devpath not under /devices/");
        if (path.length() > 4096) return new Checked.Bad("devpath too long");
        var parts = List.of(path.substring(1).split("/", -1));
        for (var p : parts) {
            if (p.equals(".") || p.equals("..")) return new Checked.Bad("devpath has '" + p + "'");
            if (!COMPONENT.matcher(p).matches()) return new Checked.Bad("devpath component '" + UeventCodec.printable(p) + "' not allowed");
        }
        return new Checked.Ok(new Devpath(path, parts));
    }

    public sealed interface Checked {
        record Ok(Devpath devpath) implements Checked {}
        record Bad(String reason) implements Checked {}
    }

    public String last() {
        return components.getLast();
    }

    /** {@code card<N>} for a primary minor, the name being digits only (not a connector like card0-DP-1). */
    public static boolean isPrimaryMinorName(String name) {
        return CARD.matcher(name).matches();
    }

    /** The BDF of a primary minor {@code …/<BDF>/drm/cardN}, when that is what this path is. */
    public Optional<PciAddress> primaryMinorFunction() {
        int n = components.size();
        if (n < 4 || !isPrimaryMinorName(components.get(n - 1)) || !components.get(n - 2).equals("drm")) {
            return Optional.empty();
        }
        return PciAddress.parse(components.get(n - 3));
    }

    /** The PCI function this path is or is under, the nearest one to the leaf. */
    public Optional<PciAddress> nearestFunction() {
        for (int i = components.size() - 1; i >= 0; i--) {
            var a = PciAddress.parse(components.get(i));
            if (a.isPresent()) return a;
        }
        return Optional.empty();
    }

    @Override
    public String toString() {
        return path;
    }
}
