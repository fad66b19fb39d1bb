package io.unwedge.host.procfs;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrmFdinfo;
import io.unwedge.core.holders.Holder;
import io.unwedge.core.holders.Holders;
import io.unwedge.core.holders.Placement;
import io.unwedge.host.os.Errno;
import io.unwedge.host.os.RawFiles;
import io.unwedge.host.sysfs.Sysfs;
import java.io.ByteArrayOutputStream;
import java.io.IOException;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.Comparator;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Finds every process that holds a device, from a procfs root ({@code /proc}, or a fixture tree).
 *
 * <h2>How a descriptor or a mapping is recognised</h2>
 * A device is its node files and their numbers ({@link Target}). Paths alone are not enough: inside a
 * container the same node has another path, and a deleted or renamed node keeps its descriptors. So:
 * <ul>
 *   <li>{@code fd/<n>} is followed (the kernel resolves the magic link in the holder's own namespace) and
 *       stat'ed: a character device matches by {@code st_rdev} (226:N, or 261:N for {@code /dev/accel}, on a
 *       real host), any file (the virtual host's nodes are regular files) by {@code (st_dev, st_ino)}.</li>
 *   <li>Any DRM or accel character device (major 226 or 261) whose numbers said nothing is still ours when
 *       its {@code fdinfo/<n>} says {@code drm-pdev: <our BDF>}. A matched descriptor's fdinfo gives its
 *       client {@code (pdev, client-id)}; an inherited descriptor is one client in two processes.</li>
 *   <li>{@code maps} lines match by their {@code dev inode} fields; a line naming a {@code /dev/dri} or
 *       {@code /dev/accel} path whose numbers are another filesystem's (a container's /dev) is stat'ed
 *       through {@code map_files/<range>}. Mappings stay after the descriptor is closed.</li>
 *   <li>A dma-buf exported by {@code drm} or by the device's driver may or may not be this device's: it is
 *       reported as uncertain, never as a holder.</li>
 * </ul>
 * Processes exit under our feet: "no such file" anywhere in a process skips that process; "permission
 * denied" on its descriptors or maps is recorded as uncertain (the scan needs root to see everyone).
 *
 * <h2>Why it is written this way: cost</h2>
 * A scan looks at every process and finds almost nothing, so what it costs is what it does per process
 * that holds nothing: list {@code fd/}, stat each descriptor, read {@code maps}. That is done with raw
 * system calls ({@link RawFiles}: openat/getdents64/statx relative to the {@code fd/} directory, read into
 * reused buffers), descriptor names and maps lines as bytes: no {@code Path}, {@code String} or record per
 * descriptor or line. A descriptor's link text is read only when its numbers matched, or when it is an
 * anonymous inode that may be a dma-buf; fdinfo only for descriptors that matched or are DRM/accel
 * devices; a maps line becomes strings only when its {@code dev inode} are a node's. The processes are
 * shared among a few platform threads (FFM calls would pin a virtual thread's carrier), see {@link #workers}.
 * Several devices are matched in the same walk ({@link #scan(List)}): {@code users --all} walks once.
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
         * A GPU's nodes under {@code devRoot} ({@code dri/cardN}, {@code dri/renderDN}, {@code accel/accelN});
         * on the real /sys also the numbers sysfs gives its minors ({@code drm/<minor>/dev},
         * {@code accel/<minor>/dev}), so a node that exists only inside a container (or under another name)
         * still matches.
         */
        public static Target of(GpuDevice d, Sysfs sysfs, Path devRoot) {
            var here = present(d, sysfs);
            return of(d, sysfs, here, nodes(here, devRoot));
        }

        /**
         * The node files of {@code d}'s minors under {@code devRoot}: what {@link #of(GpuDevice, Sysfs, Path)}
         * stats, and what a drain watches. Only the minors still under its function in {@code sysfs}: once it
         * is unbound, or bound again under other numbers, another GPU may have the old names.
         */
        public static List<Path> nodes(GpuDevice d, Sysfs sysfs, Path devRoot) {
            return nodes(present(d, sysfs), devRoot);
        }

        private static List<Path> nodes(List<String> minors, Path devRoot) {
            return minors.stream().map(minor -> devRoot.resolve(classOf(minor)).resolve(minor)).toList();
        }

        private static List<String> present(GpuDevice d, Sysfs sysfs) {
            Path function = sysfs.root().resolve(d.sysPath());
            return d.minors().stream().filter(minor -> Files.isDirectory(function.resolve(classDir(minor)).resolve(minor))).toList();
        }

        private static String classDir(String minor) {
            return classOf(minor).equals("accel") ? "accel" : "drm";
        }

        private static Target of(GpuDevice d, Sysfs sysfs, List<String> minors, List<Path> nodes) {
            var numbers = new ArrayList<DevNum>();
            if (sysfs.isRealSys()) {
                for (var minor : minors) {
                    Sysfs.readTrimmed(sysfs.root().resolve(d.sysPath()).resolve(classDir(minor))
                            .resolve(minor).resolve("dev")).flatMap(DevNum::parseDecimal).ifPresent(numbers::add);
                }
            }
            return of(d.card(), Optional.of(d.bdf()), d.driver(), nodes, numbers);
        }

        /** {@code accel} for an accel minor (its node is {@code /dev/accel/accelN}), else {@code dri}. */
        private static String classOf(String minor) {
            return minor.startsWith("accel") ? "accel" : "dri";
        }
    }

    /** A file's identity. */
    public record FileId(DevNum dev, long ino) {}

    /** The most devices one walk matches: DRM has 64 primary minors, and a bitmask of targets fits a long. */
    public static final int MAX_TARGETS = 64;
    /** Below this many processes the walk stays on the calling thread: starting threads would cost more. */
    private static final int PARALLEL_FROM = 256;
    /** Processes a worker takes at a time: a few, so that one process with many descriptors does not leave the others idle. */
    private static final int CHUNK = 16;

    private final Path proc;
    private final int workers;

    /** A scan of {@code proc} with {@link #defaultWorkers()} threads. */
    public HolderScan(Path proc) {
        this(proc, defaultWorkers());
    }

    /** @param workers how many threads share a walk of a large {@code /proc} (1: the calling thread alone) */
    public HolderScan(Path proc, int workers) {
        this.proc = Objects.requireNonNull(proc);
        if (workers < 1) throw new IllegalArgumentException("workers must be at least 1: " + workers);
        this.workers = workers;
    }

    /**
     * One thread per core, at most 4: the walk is system calls into procfs, which scale with cores until
     * the kernel's locks on the task list and each mm are contended; on a 2-core machine, 2.
     */
    public static int defaultWorkers() {
        return Math.clamp(Runtime.getRuntime().availableProcessors(), 1, 4);
    }

    public int workers() {
        return workers;
    }

    public Holders scan(Target target) {
        return scan(List.of(target)).getFirst();
    }

    /**
     * Every target's holders from one walk of {@code /proc}, in the order of {@code targets}. What the scan
     * could not decide about a process (its descriptors or maps unreadable) is told for every target.
     */
    public List<Holders> scan(List<Target> targets) {
        if (targets.isEmpty()) return List.of();
        if (targets.size() > MAX_TARGETS) {
            throw new IllegalArgumentException(targets.size() + " devices in one scan: at most " + MAX_TARGETS);
        }
        var match = new Match(targets);
        var found = new ArrayList<Seen>();
        try (var raw = RawFiles.open()) {
            int procFd = raw.openat(RawFiles.AT_FDCWD, cString(raw, proc.toString()), RawFiles.O_RDONLY | RawFiles.O_DIRECTORY);
            if (procFd < 0) return cannotList(targets, Errno.describe(-procFd));
            try {
                int[] pids = pids(raw, procFd);
                if (pids == null) return cannotList(targets, "getdents64 failed");
                found = walk(procFd, pids, match);
            } finally {
                raw.close(procFd);
            }
        }
        found.sort(Comparator.comparingInt(Seen::pid));
        var out = new ArrayList<Holders>(targets.size());
        for (int t = 0; t < targets.size(); t++) {
            var holders = new ArrayList<Holder>();
            var uncertain = new ArrayList<String>();
            for (var s : found) {
                if (s.holders() != null && s.holders()[t] != null) holders.add(s.holders()[t]);
                for (var n : s.notes()) if ((n.targets() & 1L << t) != 0) uncertain.add(n.text());
            }
            out.add(new Holders(holders, uncertain));
        }
        return out;
    }

    /**
     * One process, looked at again: what it holds of {@code target} now, or empty when it holds nothing or
     * is gone. The drain asks this after opening a pidfd, so that it never signals a process that took a
     * holder's pid.
     */
    public Optional<Holder> scan(int pid, Target target) {
        if (pid <= 0) return Optional.empty();
        try (var raw = RawFiles.open()) {
            int procFd = raw.openat(RawFiles.AT_FDCWD, cString(raw, proc.toString()), RawFiles.O_RDONLY | RawFiles.O_DIRECTORY);
            if (procFd < 0) return Optional.empty();
            try {
                var s = new Walker(raw, procFd, new Match(List.of(target))).process(pid);
                return s == null || s.holders() == null ? Optional.empty() : Optional.ofNullable(s.holders()[0]);
            } finally {
                raw.close(procFd);
            }
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

    private List<Holders> cannotList(List<Target> targets, String why) {
        var h = new Holders(List.of(), List.of("cannot list " + proc + ": " + why));
        return targets.stream().map(t -> h).toList();
    }

    /** The walk: on this thread for a small tree, else shared among {@link #workers} platform threads. */
    private ArrayList<Seen> walk(int procFd, int[] pids, Match match) {
        int threads = pids.length < PARALLEL_FROM ? 1 : workers;
        if (threads == 1) {
            try (var raw = RawFiles.open()) {
                return new Walker(raw, procFd, match).all(pids, new AtomicInteger());
            }
        }
        var next = new AtomicInteger();
        var results = new ArrayList<ArrayList<Seen>>();
        var failure = new RuntimeException[1];
        var started = new ArrayList<Thread>();
        // a platform caller takes a share itself; a virtual one does not, as FFM calls would pin its carrier
        boolean caller = !Thread.currentThread().isVirtual();
        for (int i = caller ? 1 : 0; i < threads; i++) {
            var mine = new ArrayList<Seen>();
            results.add(mine);
            started.add(Thread.ofPlatform().daemon().name("holder-scan-" + i).start(() -> {
                try (var raw = RawFiles.open()) {
                    mine.addAll(new Walker(raw, procFd, match).all(pids, next));
                } catch (RuntimeException | Error e) {
                    synchronized (failure) {
                        failure[0] = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                    }
                }
            }));
        }
        if (caller) {
            // a failure here waits for the workers too: they resolve paths against procFd, which the caller closes
            try (var raw = RawFiles.open()) {
                results.add(new Walker(raw, procFd, match).all(pids, next));
            } catch (RuntimeException | Error e) {
                synchronized (failure) {
                    failure[0] = e instanceof RuntimeException r ? r : new IllegalStateException(e);
                }
                next.set(pids.length); // the workers take no more
            }
        }
        boolean interrupted = false;
        for (var t : started) {
            while (t.isAlive()) {
                try {
                    t.join();
                } catch (InterruptedException e) {
                    interrupted = true; // the workers end on their own, soon: the walk is bounded
                }
            }
        }
        if (interrupted) Thread.currentThread().interrupt();
        synchronized (failure) {
            if (failure[0] != null) throw failure[0];
        }
        var all = new ArrayList<Seen>();
        for (var r : results) all.addAll(r);
        return all;
    }

    /** Every numeric entry of {@code /proc} (no leading zero, at most 9 digits); null when it cannot be read. */
    private static int[] pids(RawFiles raw, int procFd) {
        var buf = raw.allocate(64 * 1024);
        var name = new byte[256];
        int[] pids = new int[1024];
        int n = 0;
        for (;;) {
            long got = raw.getdents64(procFd, buf);
            if (got < 0) return null;
            if (got == 0) break;
            for (long off = 0; off < got; off += RawFiles.direntLength(buf, off)) {
                int pid = number(name, RawFiles.direntName(buf, off, name));
                if (pid <= 0) continue;
                if (n == pids.length) pids = Arrays.copyOf(pids, n * 2);
                pids[n++] = pid;
            }
        }
        return Arrays.copyOf(pids, n);
    }

    /** The decimal in {@code b[0..len)} as /proc writes pids and descriptors (no sign, no leading zero but "0"); -1 otherwise. */
    static int number(byte[] b, int len) {
        if (len == 0 || len > 9 || b[0] == '0' && len > 1) return -1;
        int v = 0;
        for (int i = 0; i < len; i++) {
            int d = b[i] - '0';
            if (d < 0 || d > 9) return -1;
            v = v * 10 + d;
        }
        return v;
    }

    /**
     * The {@code map_files/} entry of a {@code maps} range: {@code %lx-%lx}, where maps pads to 8 digits (the
     * kernel refuses a name with a leading zero, so a mapping below 0x10000000 would not be found).
     */
    static String mapFilesName(String range) {
        int dash = range.indexOf('-');
        return unpadded(range, 0, dash) + "-" + unpadded(range, dash + 1, range.length());
    }

    private static String unpadded(String s, int from, int to) {
        while (from < to - 1 && s.charAt(from) == '0') from++;
        return s.substring(from, to);
    }

    /** The targets as arrays of numbers, read by every worker: a descriptor is matched without allocating. */
    private static final class Match {
        final List<Target> targets;
        final long[] fileDev, fileIno, fileOf;  // fileOf: the bit of the target the file is a node of
        final long[] rdev, rdevOf;
        final long[] mapDevs;                   // the distinct st_dev of every node file: what a maps line is filtered by
        final long all;

        Match(List<Target> targets) {
            this.targets = targets;
            var fd = new ArrayList<long[]>();
            var rd = new ArrayList<long[]>();
            for (int t = 0; t < targets.size(); t++) {
                for (var f : targets.get(t).files()) fd.add(new long[] {pack(f.dev()), f.ino(), 1L << t});
                for (var r : targets.get(t).rdevs()) rd.add(new long[] {pack(r), 1L << t});
            }
            fileDev = fd.stream().mapToLong(a -> a[0]).toArray();
            fileIno = fd.stream().mapToLong(a -> a[1]).toArray();
            fileOf = fd.stream().mapToLong(a -> a[2]).toArray();
            rdev = rd.stream().mapToLong(a -> a[0]).toArray();
            rdevOf = rd.stream().mapToLong(a -> a[1]).toArray();
            mapDevs = Arrays.stream(fileDev).distinct().toArray();
            all = targets.size() == 64 ? -1L : (1L << targets.size()) - 1;
        }

        long byFile(long dev, long ino) {
            long m = 0;
            for (int i = 0; i < fileDev.length; i++) if (fileIno[i] == ino && fileDev[i] == dev) m |= fileOf[i];
            return m;
        }

        long byRdev(long r) {
            long m = 0;
            for (int i = 0; i < rdev.length; i++) if (rdev[i] == r) m |= rdevOf[i];
            return m;
        }

        boolean isMapDev(long dev) {
            for (long d : mapDevs) if (d == dev) return true;
            return false;
        }

        long byPdev(Optional<PciAddress> pdev) {
            long m = 0;
            if (pdev.isEmpty()) return 0;
            for (int t = 0; t < targets.size(); t++) if (pdev.equals(targets.get(t).bdf())) m |= 1L << t;
            return m;
        }

        long byDmaBufExporter(String exp) {
            long m = 0;
            for (int t = 0; t < targets.size(); t++) {
                if (exp.equals("drm") || targets.get(t).driver().filter(exp::equals).isPresent()) m |= 1L << t;
            }
            return m;
        }

        private static long pack(DevNum d) {
            return RawFiles.packDev(d.major(), d.minor());
        }
    }

    /** What one process holds of each target (null when nothing), and what could not be decided about it. */
    private record Seen(int pid, Holder[] holders, List<Note> notes) {}

    /** An uncertainty, for the targets in the mask. */
    private record Note(long targets, String text) {}

    private static final byte[] FD = ascii("/fd"), MAPS = ascii("/maps"), FDINFO = ascii("/fdinfo/"),
            MAP_FILES = ascii("/map_files/"), COMM = ascii("/comm"), CMDLINE = ascii("/cmdline"), STATUS = ascii("/status"),
            CGROUP = ascii("/cgroup"), DEV_DRI = ascii("/dev/dri/"), DEV_ACCEL = ascii("/dev/accel/");

    /** Not a pid's: this walk's process went away (or never was), so it holds nothing. */
    private static final class Gone extends Exception {
        Gone() {
            super(null, null, false, false);
        }
    }

    /** One thread's walk: its own {@link RawFiles} and buffers, reused for every process it takes. */
    private static final class Walker {
        private final RawFiles raw;
        private final int procFd;
        private final Match match;
        private final MemorySegment dirents, chunk, link;
        private final byte[] name = new byte[4096], entry = new byte[256], text = new byte[64 * 1024];
        private final MapsCursor line = new MapsCursor();
        private boolean procmapQuery = true;

        // per process
        private int pid;
        private List<Holder.HeldFd>[] fds;
        private List<Holder.Mapping>[] maps;
        private List<Note> notes;

        Walker(RawFiles raw, int procFd, Match match) {
            this.raw = raw;
            this.procFd = procFd;
            this.match = match;
            this.dirents = raw.allocate(32 * 1024);
            this.chunk = raw.allocate(text.length);
            this.link = raw.allocate(4096);
        }

        ArrayList<Seen> all(int[] pids, AtomicInteger next) {
            var out = new ArrayList<Seen>();
            for (int from; (from = next.getAndAdd(CHUNK)) < pids.length; ) {
                for (int i = from; i < Math.min(from + CHUNK, pids.length); i++) {
                    var s = process(pids[i]);
                    if (s != null) out.add(s);
                }
            }
            return out;
        }

        /** What {@code pid} holds; null when nothing and nothing to say. */
        @SuppressWarnings({"unchecked", "rawtypes"}) // an array of lists, one per target: most processes fill none
        Seen process(int pid) {
            this.pid = pid;
            this.fds = new List[match.targets.size()];
            this.maps = new List[match.targets.size()];
            this.notes = null;
            try {
                descriptors();
                mappings();
                long held = 0;
                for (int t = 0; t < fds.length; t++) if (fds[t] != null || maps[t] != null) held |= 1L << t;
                Holder[] holders = held == 0 ? null : holders(held);
                return holders == null && notes == null ? null : new Seen(pid, holders, notes == null ? List.of() : notes);
            } catch (Gone e) {
                return null; // exited while we looked: holds nothing any more
            }
        }

        private void descriptors() throws Gone {
            int dir = raw.openat(procFd, name(FD), RawFiles.O_RDONLY | RawFiles.O_DIRECTORY);
            if (dir < 0) {
                if (gone(-dir)) throw new Gone();
                note(match.all, "pid " + pid + ": descriptors unreadable (" + (-dir == Errno.EACCES ? "permission denied" : Errno.describe(-dir)) + ")");
                return;
            }
            int unreadable = 0;
            try {
                for (;;) {
                    long got = raw.getdents64(dir, dirents);
                    if (got == 0) break;
                    if (got < 0) {
                        // the process went while we listed (what we saw stands), or the listing failed: say so
                        if (!gone((int) -got)) note(match.all, "pid " + pid + ": descriptors not all listed (" + Errno.describe((int) -got) + ")");
                        break;
                    }
                    for (long off = 0; off < got; off += RawFiles.direntLength(dirents, off)) {
                        int len = RawFiles.direntName(dirents, off, entry);
                        int fd = number(entry, len);
                        if (fd < 0) continue;
                        if (!descriptor(dir, fd, len)) unreadable++;
                    }
                    // no shortcut when room was left: filldir64 also stops early for a pending signal, so
                    // only 0 is the end (a descriptor missed is a holder missed)
                }
            } finally {
                raw.close(dir);
            }
            if (unreadable > 0) note(match.all, "pid " + pid + ": " + unreadable + " descriptors unreadable (permission denied)");
        }

        /** One {@code fd/<n>} (its name in {@link #entry}); false when it could not be read for permission. */
        private boolean descriptor(int dir, int fd, int len) {
            var fdName = raw.name(entry, len);
            int r = raw.statx(dir, fdName, 0);
            if (r == -Errno.EACCES) return false;
            if (r < 0) {
                // closed meanwhile, or a link that leads nowhere from here: only a dma-buf's text is worth reading
                String text = linkText(dir, len);
                if (text != null && isDmaBuf(text)) dmaBuf(fd, text);
                return true;
            }
            int type = raw.mode() & RawFiles.S_IFMT;
            if (type == 0) {
                // an anonymous inode (eventfd, epoll, dma-buf, …): its link text says which
                String text = linkText(dir, len);
                if (text != null && isDmaBuf(text)) dmaBuf(fd, text);
                return true;
            }
            long mask = match.byFile(raw.dev(), raw.ino());
            DrmFdinfo info = null;
            if (type == RawFiles.S_IFCHR) {
                long rdev = raw.rdev();
                mask |= match.byRdev(rdev);
                int major = RawFiles.major(rdev);
                if (mask == 0 && (major == DevNum.DRM_MAJOR || major == DevNum.ACCEL_MAJOR)) {
                    info = DrmFdinfo.parse(fdinfo(fd, len));
                    mask = match.byPdev(info.pdev());
                }
            }
            if (mask == 0) return true;
            String path = linkText(dir, len);
            if (path == null) return true; // closed meanwhile
            if (info == null) info = DrmFdinfo.parse(fdinfo(fd, len));
            var held = new Holder.HeldFd(fd, path, info.client(), info.driver());
            for (int t = 0; t < fds.length; t++) {
                if ((mask & 1L << t) == 0) continue;
                if (fds[t] == null) fds[t] = new ArrayList<>(2);
                fds[t].add(held);
            }
            return true;
        }

        private static boolean isDmaBuf(String linkText) {
            // "/dmabuf:<name>" since 5.3 (dmabuffs_dname), "anon_inode:dmabuf" before
            return linkText.startsWith("/dmabuf:") || linkText.equals("anon_inode:dmabuf");
        }

        private void dmaBuf(int fd, String path) {
            var exp = DrmFdinfo.parse(fdinfo(fd, -1)).expName();
            if (exp.isEmpty()) return;
            long mask = match.byDmaBufExporter(exp.get());
            for (int t = 0; t < match.targets.size(); t++) {
                if ((mask & 1L << t) == 0) continue;
                note(1L << t, "pid " + pid + " fd " + fd + ": dma-buf exported by '" + exp.get() + "' (" + path
                        + "), may be " + match.targets.get(t).name() + "'s");
            }
        }

        /** The link {@code fd/<n>} (its name in {@link #entry}, {@code len} bytes) as text; null when it is gone. */
        private String linkText(int dir, int len) {
            long n = raw.readlinkat(dir, raw.name(entry, len), link);
            if (n < 0) return null;
            var b = new byte[(int) n];
            MemorySegment.copy(link, ValueLayout.JAVA_BYTE, 0, b, 0, (int) n);
            return new String(b, StandardCharsets.UTF_8);
        }

        /** {@code fdinfo/<fd>} as text; "" when it cannot be read. {@code len} &gt; 0: the fd's name is in {@link #entry}. */
        private String fdinfo(int fd, int len) {
            int at = prefix(FDINFO);
            if (len > 0) {
                System.arraycopy(entry, 0, name, at, len);
                at += len;
            } else {
                at = digits(fd, at);
            }
            var t = readFile(raw.name(name, at));
            return t == null ? "" : t;
        }

        /**
         * The process's mappings of a node. Asked of the kernel with PROCMAP_QUERY (6.11+) for shared
         * file-backed VMAs only: numbers, no text, and the kernel skips a process's libraries under one lock.
         * Only shared ones, because a mapping of a GPU's memory is always shared: DRM refuses copy-on-write
         * mappings of its nodes (TTM and GEM shmem return EINVAL; vmf_insert_pfn BUG()s on one). An older
         * kernel, or a fixture tree whose maps is a plain file, is read as text, every line.
         */
        private void mappings() throws Gone {
            int fd = raw.openat(procFd, name(MAPS), RawFiles.O_RDONLY);
            if (fd < 0) {
                if (gone(-fd)) throw new Gone();
                note(match.all, "pid " + pid + ": maps unreadable (" + (-fd == Errno.EACCES ? "permission denied" : Errno.describe(-fd)) + ")");
                return;
            }
            try {
                if (procmapQuery && queried(fd)) return;
                text(fd);
            } finally {
                raw.close(fd);
            }
        }

        /** Whether PROCMAP_QUERY answered (false: not on this kernel or file, and never asked again by this walker). */
        private boolean queried(int fd) throws Gone {
            for (long addr = 0; ; ) {
                int r = raw.procmapQuery(fd, addr, null);
                if (r == -Errno.ENOENT) return true; // no more shared file-backed VMAs
                if (r == -Errno.ENOTTY || r == -Errno.EINVAL || r == -Errno.EOPNOTSUPP) {
                    if (addr != 0) throw new IllegalStateException("PROCMAP_QUERY stopped working midway: " + Errno.describe(-r));
                    procmapQuery = false;
                    return false;
                }
                if (r < 0) {
                    // its mm is gone (exiting, or a kernel thread): no mappings, but the descriptors it still has stand
                    if (r == -Errno.ESRCH) return true;
                    note(match.all, "pid " + pid + ": maps unreadable (" + Errno.describe(-r) + ")");
                    return true;
                }
                long start = raw.vmaStart(), end = raw.vmaEnd(), flags = raw.vmaFlags(), dev = raw.vmaDev(), ino = raw.vmaInode();
                long mask = match.isMapDev(dev) ? match.byFile(dev, ino) : 0;
                String path = null;
                if (mask == 0 && match.rdev.length > 0 && RawFiles.major(dev) == 0) {
                    // maybe a node on another tmpfs (a container's /dev): its path, then its numbers
                    path = vmaName(fd, start);
                    if (path != null && (path.startsWith("/dev/dri/") || path.startsWith("/dev/accel/"))) mask = byMapFile(range(start, end), path);
                }
                if (mask != 0) {
                    if (path == null) path = vmaName(fd, start);
                    addMapping(mask, new Holder.Mapping(range(start, end), perms(flags), path == null ? "" : path));
                }
                if (end <= addr) throw new IllegalStateException("PROCMAP_QUERY went backwards at " + Long.toHexString(addr));
                addr = end;
            }
        }

        /** The path of the VMA at {@code start}, as maps writes it; null when it went meanwhile. */
        private String vmaName(int fd, long start) {
            if (raw.procmapQuery(fd, start, link) != 0 || raw.vmaStart() != start) return null;
            int n = Math.max(0, raw.vmaNameLength() - 1); // with its NUL
            var b = new byte[n];
            MemorySegment.copy(link, ValueLayout.JAVA_BYTE, 0, b, 0, n);
            return new String(b, StandardCharsets.UTF_8);
        }

        /** What the mapping {@code map_files/<range>} is by its device number; a note when it cannot be looked at. */
        private long byMapFile(String range, String path) {
            var r = mapFilesName(range).getBytes(StandardCharsets.US_ASCII);
            int at = prefix(MAP_FILES);
            System.arraycopy(r, 0, name, at, r.length);
            int s = raw.statx(procFd, raw.name(name, at + r.length), 0);
            if (s < 0) {
                note(match.all, "pid " + pid + ": maps " + path + " (" + range + ") could not be checked: " + Errno.describe(-s));
                return 0;
            }
            return (raw.mode() & RawFiles.S_IFMT) == RawFiles.S_IFCHR ? match.byRdev(raw.rdev()) : 0;
        }

        /** {@code maps}' range text: {@code %08lx-%08lx}. */
        static String range(long start, long end) {
            return hex8(start) + "-" + hex8(end);
        }

        private static String hex8(long v) {
            String h = Long.toHexString(v);
            return h.length() >= 8 ? h : "0".repeat(8 - h.length()) + h;
        }

        /** {@code maps}' permissions text from procmap_query's vma_flags: {@code rw-s}. */
        static String perms(long flags) {
            return new String(new char[] {
                    (flags & RawFiles.VMA_READABLE) != 0 ? 'r' : '-', (flags & RawFiles.VMA_WRITABLE) != 0 ? 'w' : '-',
                    (flags & RawFiles.VMA_EXECUTABLE) != 0 ? 'x' : '-', (flags & RawFiles.VMA_SHARED) != 0 ? 's' : 'p'});
        }

        private void addMapping(long mask, Holder.Mapping m) {
            for (int t = 0; t < maps.length; t++) {
                if ((mask & 1L << t) == 0) continue;
                if (maps[t] == null) maps[t] = new ArrayList<>(2);
                maps[t].add(m);
            }
        }

        /** {@code maps} as text, line by line: a line is looked at further only when its {@code dev inode} could be a node's. */
        private void text(int fd) throws Gone {
            int carry = 0;
            for (;;) {
                long got = raw.read(fd, chunk, 0, text.length - carry);
                if (got < 0) {
                    if (gone((int) -got)) throw new Gone();
                    note(match.all, "pid " + pid + ": maps unreadable (" + Errno.describe((int) -got) + ")");
                    return;
                }
                if (got == 0) break;
                MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, 0, text, carry, (int) got);
                int end = carry + (int) got, start = 0;
                for (int nl; (nl = indexOf(text, '\n', start, end)) >= 0; start = nl + 1) mapsLine(start, nl);
                carry = end - start;
                // a line longer than the buffer is no line the kernel writes (PATH_MAX bounds the path): drop it
                if (carry == text.length) carry = 0;
                System.arraycopy(text, start, text, 0, carry);
            }
            if (carry > 0) mapsLine(0, carry);
        }

        private void mapsLine(int start, int end) {
            if (!line.parse(text, start, end) || line.ino() == 0) return;
            long mask = match.isMapDev(line.dev()) ? match.byFile(line.dev(), line.ino()) : 0;
            if (mask == 0 && match.rdev.length > 0 && (line.pathStartsWith(DEV_DRI) || line.pathStartsWith(DEV_ACCEL))) {
                // a node path on another filesystem (a container's /dev): what the mapping is, by its numbers
                mask = byMapFile(line.range(), line.path());
            }
            if (mask != 0) addMapping(mask, new Holder.Mapping(line.range(), line.perms(), line.path()));
        }

        /** The holders' own facts, read once for every target they hold; gone when {@code comm} is. */
        private Holder[] holders(long held) throws Gone {
            String comm = readFile(name(COMM));
            if (comm == null) throw new Gone();
            comm = comm.strip();
            String args = readFile(name(CMDLINE));
            var cmdline = args == null || args.isEmpty() ? List.<String>of() : List.of(args.split("\0"));
            String status = readFile(name(STATUS));
            if (status == null) throw new Gone();
            String cgroup = readFile(name(CGROUP));
            var uid = uidOf(status);
            var placement = cgroup == null ? Placement.UNKNOWN : Placement.parse(cgroup);
            var out = new Holder[fds.length];
            for (int t = 0; t < fds.length; t++) {
                if ((held & 1L << t) == 0) continue;
                out[t] = new Holder(pid, comm, cmdline, uid, placement,
                        fds[t] == null ? List.of() : fds[t], maps[t] == null ? List.of() : maps[t]);
            }
            return out;
        }

        /** A small file under /proc as text (bytes that are not UTF-8 become U+FFFD); null when it cannot be read. */
        private String readFile(MemorySegment path) {
            int fd = raw.openat(procFd, path, RawFiles.O_RDONLY);
            if (fd < 0) return null;
            try {
                ByteArrayOutputStream more = null;
                int n = 0;
                for (;;) {
                    long got = raw.read(fd, chunk, 0, text.length);
                    if (got < 0) return null;
                    if (got == 0) break;
                    if (more == null && n == 0 && got < text.length) {
                        MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, 0, text, 0, (int) got);
                        n = (int) got;
                        continue;
                    }
                    if (more == null) {
                        more = new ByteArrayOutputStream();
                        more.write(text, 0, n);
                    }
                    var b = new byte[(int) got];
                    MemorySegment.copy(chunk, ValueLayout.JAVA_BYTE, 0, b, 0, (int) got);
                    more.write(b, 0, b.length);
                }
                return more == null ? new String(text, 0, n, StandardCharsets.UTF_8) : more.toString(StandardCharsets.UTF_8);
            } finally {
                raw.close(fd);
            }
        }

        private void note(long targets, String text) {
            if (notes == null) notes = new ArrayList<>(2);
            notes.add(new Note(targets, text));
        }

        /** {@code <pid><suffix>} as a NUL-terminated name relative to the procfs root. */
        private MemorySegment name(byte[] suffix) {
            return raw.name(name, prefix(suffix));
        }

        /** Writes {@code <pid><suffix>} into {@link #name}; the length. */
        private int prefix(byte[] suffix) {
            int at = digits(pid, 0);
            System.arraycopy(suffix, 0, name, at, suffix.length);
            return at + suffix.length;
        }

        private int digits(int v, int at) {
            int start = at;
            do {
                name[at++] = (byte) ('0' + v % 10);
                v /= 10;
            } while (v > 0);
            for (int i = start, j = at - 1; i < j; i++, j--) {
                byte x = name[i];
                name[i] = name[j];
                name[j] = x;
            }
            return at;
        }

        /** The process (or the one we asked about) is not there: it exited, or never was. */
        private static boolean gone(int errno) {
            return errno == Errno.ENOENT || errno == Errno.ESRCH || errno == Errno.ENOTDIR;
        }
    }

    private static int indexOf(byte[] b, char c, int from, int to) {
        for (int i = from; i < to; i++) if (b[i] == c) return i;
        return -1;
    }

    private static byte[] ascii(String s) {
        return s.getBytes(StandardCharsets.US_ASCII);
    }

    private static MemorySegment cString(RawFiles raw, String path) {
        var b = path.getBytes(StandardCharsets.UTF_8);
        return raw.name(b, b.length);
    }

    /** The real uid from {@code status} text. */
    static OptionalInt uidOf(String status) {
        for (String line : status.split("\n")) {
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

    static OptionalInt uid(Path dir) throws IOException {
        return uidOf(read(dir.resolve("status")));
    }

    static Placement placement(Path dir) throws IOException {
        try {
            return Placement.parse(read(dir.resolve("cgroup")));
        } catch (AccessDeniedException e) {
            return Placement.UNKNOWN;
        }
    }

    private static boolean isCharDevice(int mode) {
        return (mode & RawFiles.S_IFMT) == RawFiles.S_IFCHR;
    }

    /** Text as the kernel wrote it; bytes that are not UTF-8 become U+FFFD rather than failing the read. */
    static String read(Path file) throws IOException {
        return new String(Files.readAllBytes(file), StandardCharsets.UTF_8);
    }
}
