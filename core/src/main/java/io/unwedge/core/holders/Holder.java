package io.unwedge.core.holders;

import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.TreeSet;

/**
 * One process that holds a device: its descriptors on the device's nodes, its mappings of them (which
 * outlive the descriptor), and the DRM clients those descriptors are. A snapshot: the process may be gone.
 *
 * @param cmdline the arguments, empty for a kernel thread or a zombie
 * @param uid     the real uid from {@code status}, empty when unreadable
 */
public record Holder(int pid, String comm, List<String> cmdline, OptionalInt uid, Placement placement,
                     List<HeldFd> fds, List<Mapping> mappings) {

    public Holder {
        if (pid <= 0) throw new IllegalArgumentException("pid must be positive: " + pid);
        Objects.requireNonNull(comm);
        Objects.requireNonNull(uid);
        Objects.requireNonNull(placement);
        cmdline = List.copyOf(cmdline);
        fds = List.copyOf(fds);
        mappings = List.copyOf(mappings);
        if (fds.isEmpty() && mappings.isEmpty()) throw new IllegalArgumentException("a holder holds something: pid " + pid);
    }

    /**
     * An open descriptor on the device.
     *
     * @param path   the link target as the process sees it (may be a container's path, or end in " (deleted)")
     * @param client the DRM client, when fdinfo named one
     */
    public record HeldFd(int fd, String path, Optional<DrmClient> client, Optional<String> driver) {
        public HeldFd {
            if (fd < 0) throw new IllegalArgumentException("fd must be >= 0: " + fd);
            Objects.requireNonNull(path);
            Objects.requireNonNull(client);
            Objects.requireNonNull(driver);
        }
    }

    /** A mapping of the device, one line of {@code maps}: {@code 7f5093000000-7f5093001000}. */
    public record Mapping(String range, String perms, String path) {
        public Mapping {
            Objects.requireNonNull(range);
            Objects.requireNonNull(perms);
            Objects.requireNonNull(path);
        }
    }

    public Set<DrmClient> clients() {
        var out = new TreeSet<DrmClient>();
        for (var f : fds) f.client().ifPresent(out::add);
        return out;
    }

    /** Only mappings left: the descriptor was closed but the memory still pins the device. */
    public boolean mappingsOnly() {
        return fds.isEmpty();
    }
}
