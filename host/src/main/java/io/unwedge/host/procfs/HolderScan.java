package io.unwedge.host.procfs;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrmFdinfo;
import io.unwedge.core.holders.Holder;
import io.unwedge.core.holders.Holders;
import io.unwedge.core.holders.Placement;
import io.unwedge.host.sysfs.Sysfs;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;

/**
 * Finds every process that holds a device, from a procfs root ({@code /proc}, or a fixture tree).
 *
 * <h2>How a descriptor or a mapping is recognised</h2>
 * A device is its node files and their numbers ({@link Target}). Paths alone are not enough: inside a
 * container the same node has another path, and a deleted or renamed node keeps its descriptors. So:
 * <ul>
 *   <li>{@code fd/<n>} is followed (the kernel resolves the magic link in the holder's own namespace) and
 *       stat'ed: a character device matches by {@code st_rdev} (226:N on a real host), a regular file (the
 *       virtual host's nodes) by {@code (st_dev, st_ino)}.</li>
 *   <li>Any DRM character device (major 226) whose path said nothing is still ours when its
 *       {@code fdinfo/<n>} says {@code drm-pdev: <our BDF>}. A matched descriptor's fdinfo gives its client
 *       {@code (pdev, client-id)}; an inherited descriptor is one client in two processes.</li>
 *   <li>{@code maps} lines match by their {@code dev inode} fields; a line naming a {@code /dev/dri} or
 *       {@code /dev/accel} path whose numbers are another filesystem's (a container's /dev) is stat'ed
 *       through {@code map_files/<range>}. Mappings stay after the descriptor is closed.</li>
 *   <li>A dma-buf exported by {@code drm} or by the device's driver may or may not be this device's: it is
 *       reported as uncertain, never as a holder.</li>
 * </ul>
 * Processes exit under our feet: "no such file" anywhere in a process skips that process; "permission
 * denied" on its descriptors or maps is recorded as uncertain (the scan needs root to see everyone).
 */
public final class HolderScan {

    /**
     * A device as the scan matches it.
     *
     * @param files the {@code (st_dev, st_ino)} of every node file (regular or character)
     * @param rdevs the device numbers of its character nodes (and of its sysfs {@code dev} files on a real host)
     */
    public record Target(String name, Optional<PciAddress> bdf, Optional<String> driver, Set<FileId> files, Set<DevNum> rdevs) {
        public Target {
            Objects.requireNonNull(name);
            Objects.requireNonNull(bdf);
            Objects.requireNonNull(driver);
            files = Set.copyOf(files);
            rdevs = Set.copyOf(rdevs);
        }

        /** From node paths as they are now; a missing node is skipped. {@code rdevs} adds numbers known otherwise. */
        public static Target of(String name, Optional<PciAddress> bdf, Optional<String> driver, Collection<Path> nodes,
                                Collection<DevNum> rdevs) {
            var files = new HashSet<FileId>();
            var numbers = new HashSet<>(rdevs);
            for (var node : nodes) {
                try {
                    Map<String, Object> a = Files.readAttributes(node, "unix:dev,ino,rdev,mode");
                    files.add(new FileId(DevNum.decode((Long) a.get("dev")), (Long) a.get("ino")));
                    if (isCharDevice((Integer) a.get("mode"))) numbers.add(DevNum.decode((Long) a.get("rdev")));
                } catch (IOException | UnsupportedOperationException e) {
                    // not there (unbound device, or not created yet): nothing to match by this node
                }
            }
            return new Target(name, bdf, driver, files, numbers);
        }

        /**
         * A GPU's nodes under {@code devRoot}; on the real /sys also the numbers sysfs gives its minors, so a
         * node that exists only inside a container (or under another name) still matches.
         */
        public static Target of(GpuDevice d, Sysfs sysfs, Path devRoot) {
            var nodes = new ArrayList<Path>();
            var numbers = new ArrayList<DevNum>();
            for (var minor : d.minors()) {
                nodes.add(devRoot.resolve(minor.startsWith("accel") ? "accel" : "dri").resolve(minor));
                if (sysfs.isRealSys()) {
                    Sysfs.readTrimmed(sysfs.root().resolve(d.sysPath()).resolve("drm").resolve(minor).resolve("dev"))
                            .flatMap(DevNum::parseDecimal).ifPresent(numbers::add);
                }
            }
            return of(d.card(), Optional.of(d.bdf()), d.driver(), nodes, numbers);
        }
    }

    /** A file's identity. */
    public record FileId(DevNum dev, long ino) {}

    private static final int S_IFMT = 0170000, S_IFCHR = 0020000;

    private final Path proc;

    public HolderScan(Path proc) {
        this.proc = Objects.requireNonNull(proc);
    }

    public Holders scan(Target target) {
        var holders = new ArrayList<Holder>();
        var uncertain = new ArrayList<String>();
        try (DirectoryStream<Path> pids = Files.newDirectoryStream(proc, HolderScan::isPidDir)) {
            for (var dir : pids) {
                int pid = Integer.parseInt(dir.getFileName().toString());
                try {
                    scanProcess(pid, dir, target, uncertain).ifPresent(holders::add);
                } catch (NoSuchFileException e) {
                    // exited while we looked: holds nothing any more
                } catch (IOException e) {
                    uncertain.add("pid " + pid + ": " + e.getMessage() + ", skipped");
                }
            }
        } catch (IOException e) {
            uncertain.add("cannot list " + proc + ": " + e);
        }
        return new Holders(holders, uncertain);
    }

    /**
     * One process, looked at again: what it holds of {@code target} now, or empty when it holds nothing or
     * is gone. The drain asks this after opening a pidfd, so that it never signals a process that took a
     * holder's pid.
     */
    public Optional<Holder> scan(int pid, Target target) {
        try {
            return scanProcess(pid, proc.resolve(Integer.toString(pid)), target, new ArrayList<>());
        } catch (IOException e) {
            return Optional.empty(); // gone, or unreadable: either way not a holder we may signal
        }
    }

    /**
     * Whether {@code proc} is the live procfs of this process's pid namespace ({@code self} is us), so that
     * its pids name processes a signal would reach. A fixture tree, or another namespace's procfs, is not.
     */
    public static boolean isLive(Path proc) {
        try {
            return Files.readSymbolicLink(proc.resolve("self")).toString().equals(Long.toString(ProcessHandle.current().pid()));
        } catch (IOException | UnsupportedOperationException e) {
            return false;
        }
    }

    public Path root() {
        return proc;
    }

    private static boolean isPidDir(Path p) {
        String n = p.getFileName().toString();
        if (n.isEmpty() || n.length() > 9 || n.charAt(0) == '0') return false;
        for (int i = 0; i < n.length(); i++) if (n.charAt(i) < '0' || n.charAt(i) > '9') return false;
        return true;
    }

    private Optional<Holder> scanProcess(int pid, Path dir, Target target, List<String> uncertain) throws IOException {
        var fds = descriptors(pid, dir, target, uncertain);
        var maps = mappings(pid, dir, target, uncertain);
        if (fds.isEmpty() && maps.isEmpty()) return Optional.empty();
        String comm = read(dir.resolve("comm")).strip();
        var cmdline = List.of(read(dir.resolve("cmdline")).split("\0"));
        if (cmdline.size() == 1 && cmdline.getFirst().isEmpty()) cmdline = List.of();
        return Optional.of(new Holder(pid, comm, cmdline, uid(dir), placement(dir), fds, maps));
    }

    private List<Holder.HeldFd> descriptors(int pid, Path dir, Target target, List<String> uncertain) throws IOException {
        var out = new ArrayList<Holder.HeldFd>();
        int unreadable = 0;
        try (DirectoryStream<Path> fds = Files.newDirectoryStream(dir.resolve("fd"))) {
            for (var link : fds) {
                String name = link.getFileName().toString();
                if (!isPidDir(link) && !name.equals("0")) continue;
                String path;
                try {
                    path = Files.readSymbolicLink(link).toString();
                } catch (AccessDeniedException e) {
                    unreadable++;
                    continue;
                } catch (IOException e) {
                    continue; // closed meanwhile
                }
                if (path.startsWith("socket:") || path.startsWith("pipe:")
                        || (path.startsWith("anon_inode:") && !path.contains("dmabuf"))) continue;
                if (path.contains("dmabuf")) {
                    dmaBuf(pid, dir, name, path, target, uncertain);
                    continue;
                }
                Map<String, Object> a;
                try {
                    a = Files.readAttributes(link, "unix:dev,ino,rdev,mode");
                } catch (AccessDeniedException e) {
                    unreadable++;
                    continue;
                } catch (IOException e) {
                    continue; // closed meanwhile, or its target is unreachable
                }
                boolean chr = isCharDevice((Integer) a.get("mode"));
                DevNum rdev = chr ? DevNum.decode((Long) a.get("rdev")) : null;
                boolean ours = target.files().contains(new FileId(DevNum.decode((Long) a.get("dev")), (Long) a.get("ino")))
                        || (chr && target.rdevs().contains(rdev));
                if (!ours && !(chr && rdev.major() == DevNum.DRM_MAJOR)) continue;
                var info = DrmFdinfo.parse(readOrEmpty(dir.resolve("fdinfo").resolve(name)));
                if (!ours && !(info.pdev().isPresent() && info.pdev().equals(target.bdf()))) continue;
                out.add(new Holder.HeldFd(Integer.parseInt(name), path, info.client(), info.driver()));
            }
        } catch (AccessDeniedException e) {
            uncertain.add("pid " + pid + ": descriptors unreadable (permission denied)");
        }
        if (unreadable > 0) uncertain.add("pid " + pid + ": " + unreadable + " descriptors unreadable (permission denied)");
        return out;
    }

    private void dmaBuf(int pid, Path dir, String fd, String path, Target target, List<String> uncertain) {
        var info = DrmFdinfo.parse(readOrEmpty(dir.resolve("fdinfo").resolve(fd)));
        var exp = info.expName();
        if (exp.isPresent() && (exp.get().equals("drm") || exp.equals(target.driver()))) {
            uncertain.add("pid " + pid + " fd " + fd + ": dma-buf exported by '" + exp.get() + "' (" + path
                    + "), may be " + target.name() + "'s");
        }
    }

    private List<Holder.Mapping> mappings(int pid, Path dir, Target target, List<String> uncertain) throws IOException {
        String maps;
        try {
            maps = read(dir.resolve("maps"));
        } catch (AccessDeniedException e) {
            uncertain.add("pid " + pid + ": maps unreadable (permission denied)");
            return List.of();
        }
        var out = new ArrayList<Holder.Mapping>();
        for (String line : maps.split("\n")) {
            var m = MapsLine.parse(line);
            if (m == null || m.ino() == 0) continue;
            boolean ours = m.dev().map(d -> target.files().contains(new FileId(d, m.ino()))).orElse(false);
            if (!ours && (m.path().startsWith("/dev/dri/") || m.path().startsWith("/dev/accel/")) && !target.rdevs().isEmpty()) {
                try {
                    Map<String, Object> a = Files.readAttributes(dir.resolve("map_files").resolve(m.range()), "unix:rdev,mode");
                    ours = isCharDevice((Integer) a.get("mode")) && target.rdevs().contains(DevNum.decode((Long) a.get("rdev")));
                } catch (IOException e) {
                    uncertain.add("pid " + pid + ": maps " + m.path() + " (" + m.range() + ") could not be checked: " + e.getMessage());
                }
            }
            if (ours) out.add(new Holder.Mapping(m.range(), m.perms(), m.path()));
        }
        return out;
    }

    /** One line of {@code maps}: {@code range perms offset dev inode [path]}. */
    record MapsLine(String range, String perms, Optional<DevNum> dev, long ino, String path) {
        static MapsLine parse(String line) {
            String[] f = new String[5];
            int at = 0;
            for (int i = 0; i < 5; i++) {
                while (at < line.length() && line.charAt(at) == ' ') at++;
                int end = line.indexOf(' ', at);
                if (end < 0) end = line.length();
                if (end == at) return null;
                f[i] = line.substring(at, end);
                at = end;
            }
            long ino;
            try {
                ino = Long.parseLong(f[4]);
            } catch (NumberFormatException e) {
                return null;
            }
            return new MapsLine(f[0], f[1], DevNum.parseHex(f[3]), ino, line.substring(at).strip());
        }
    }

    static OptionalInt uid(Path dir) throws IOException {
        for (String line : read(dir.resolve("status")).split("\n")) {
            if (line.startsWith("Uid:")) {
                String[] f = line.substring(4).strip().split("\\s+");
                try {
                    return OptionalInt.of(Integer.parseUnsignedInt(f[0]));
                } catch (NumberFormatException e) {
                    return OptionalInt.empty();
                }
            }
        }
        return OptionalInt.empty();
    }

    static Placement placement(Path dir) throws IOException {
        try {
            return Placement.parse(read(dir.resolve("cgroup")));
        } catch (AccessDeniedException e) {
            return Placement.UNKNOWN;
        }
    }

    private static boolean isCharDevice(int mode) {
        return (mode & S_IFMT) == S_IFCHR;
    }

    /** Text as the kernel wrote it; bytes that are not UTF-8 become U+FFFD rather than failing the read. */
    static String read(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }

    private static String readOrEmpty(Path file) {
        try {
            return read(file);
        } catch (IOException e) {
            return "";
        }
    }
}
