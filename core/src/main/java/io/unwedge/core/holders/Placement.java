package io.unwedge.core.holders;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * Where a process runs, from {@code /proc/<pid>/cgroup}: its cgroup path, the systemd unit that owns it
 * (the innermost {@code *.service} or {@code *.scope}, e.g. {@code gdm.service}) and, when the path is a
 * container runtime's, the container id (64 hex digits: docker, containerd/CRI, podman/libpod, cri-o).
 * The unified (v2) line {@code 0::/path} is preferred; on a v1-only host the {@code name=systemd} line.
 */
public record Placement(String cgroup, Optional<String> unit, Optional<String> container) {

    public static final Placement UNKNOWN = new Placement("", Optional.empty(), Optional.empty());

    private static final Pattern UNIT = Pattern.compile("[A-Za-z0-9:_.@\\\\-]+\\.(service|scope)");
    private static final Pattern CONTAINER = Pattern.compile("(?:^|[-/])([0-9a-f]{64})(?:\\.scope)?$");

    public Placement {
        Objects.requireNonNull(cgroup);
        Objects.requireNonNull(unit);
        Objects.requireNonNull(container);
    }

    /** Total: any text gives a placement, {@link #UNKNOWN} when no line names a cgroup. */
    public static Placement parse(String cgroupFile) {
        if (cgroupFile == null) return UNKNOWN;
        String path = null, systemd = null;
        for (String line : cgroupFile.split("\n")) {
            if (line.startsWith("0::")) path = line.substring(3);
            else if (line.contains(":name=systemd:")) systemd = line.substring(line.indexOf(":name=systemd:") + 14);
        }
        if (path == null || path.equals("/") && systemd != null) path = systemd;
        if (path == null || path.isEmpty() || path.length() > 4096) return UNKNOWN;
        return of(path);
    }

    public static Placement of(String path) {
        String unit = null, container = null;
        List<String> parts = List.of(path.split("/"));
        for (String p : parts) {
            if (UNIT.matcher(p).matches()) unit = p;
            var m = CONTAINER.matcher(p);
            if (m.find()) container = m.group(1);
        }
        return new Placement(path, Optional.ofNullable(unit), Optional.ofNullable(container));
    }

    /** The short answer for a listing: the container (12 digits, as docker shows it), else the unit, else the path. */
    public String label() {
        if (container.isPresent()) return "container " + container.get().substring(0, 12);
        return unit.orElse(cgroup.isEmpty() ? "-" : cgroup);
    }
}
