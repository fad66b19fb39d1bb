package io.unwedge.bench;

import io.unwedge.core.PciAddress;
import io.unwedge.host.procfs.HolderScan;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.BufferedReader;
import java.io.File;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Optional;
import java.util.TreeSet;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

/**
 * Finding the holders of a device among thousands of processes: unwedge's in-process scan (warm; on its
 * default threads and on one) against {@code fuser} and {@code lsof} (when installed) and the packaged
 * {@code unwedge users} as a whole process, each once a round, in turn. Wall time per run (min, median,
 * max) and CPU time per run (this JVM's, or the child's: from /proc/self/stat, in 10 ms ticks, averaged).
 * Spawns N {@code sleep 300}; every 20th holds the virtual host's {@code card1} open, 5 more only map it.
 * Checks every tool found the same pids, then kills every child it started.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp "bench/target/unwedge-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     io.unwedge.bench.HolderScanBenchmark [processes=2000] [runs=10] [unwedge.jar=cli/target/unwedge.jar] [launcher=unwedge]</pre>
 * Run {@code ./unwedge users --help} once first, so that the launcher's build and AOT cache are made before
 * anything is timed.
 */
public final class HolderScanBenchmark {

    public static void main(String[] args) throws Exception {
        int n = args.length > 0 ? Integer.parseInt(args[0]) : 2000;
        int runs = args.length > 1 ? Integer.parseInt(args[1]) : 10;
        Path jar = Path.of(args.length > 2 ? args[2] : "cli/target/unwedge.jar");
        // ./unwedge: the command as a user runs it, with the start-up (AOT) cache it trains after a build
        Path launcher = Path.of(args.length > 3 ? args[3] : "unwedge");
        Path root = Files.createTempDirectory("unwedge-holders-bench");
        var host = VirtualHost.create(root.resolve("lab"), 2, GpuModel.ofDriver("xe").orElseThrow(), 0);
        Path node = host.dev().resolve("dri/card1");
        Files.writeString(node, "x".repeat(4096));
        var children = new ArrayList<Process>();
        var expected = new TreeSet<Integer>();
        try {
            for (int i = 0; i < n; i++) {
                if (i % 20 == 0) {
                    expected.add(ready(children, "bash", "-c", "exec 3<'" + node + "'; echo ready; exec sleep 300"));
                } else {
                    children.add(new ProcessBuilder("sleep", "300").redirectInput(new File("/dev/null"))
                            .redirectOutput(ProcessBuilder.Redirect.DISCARD).redirectError(ProcessBuilder.Redirect.DISCARD).start());
                }
            }
            for (int i = 0; i < 5; i++) {
                expected.add(ready(children, "python3", "-c", "import ctypes,os,sys,time; libc=ctypes.CDLL(None); "
                        + "libc.mmap.restype=ctypes.c_void_p; "
                        + "libc.mmap.argtypes=[ctypes.c_void_p,ctypes.c_size_t,ctypes.c_int,ctypes.c_int,ctypes.c_int,ctypes.c_long]; "
                        + "fd=os.open(sys.argv[1], os.O_RDWR); libc.mmap(None, 4096, 3, 1, fd, 0); os.close(fd); "
                        + "print('ready', flush=True); time.sleep(300)", node.toString()));
            }
            long procs;
            try (var s = Files.list(Path.of("/proc"))) {
                procs = s.filter(p -> p.getFileName().toString().matches("[0-9]+")).count();
            }
            System.out.printf("%d children started (%d hold card1: %d by fd, 5 by mapping only); %d processes in /proc; %d CPUs%n",
                    children.size(), expected.size(), expected.size() - 5, procs, Runtime.getRuntime().availableProcessors());

            var target = HolderScan.Target.of("card1", PciAddress.parse("0000:06:00.0"), Optional.of("xe"),
                    List.of(node, host.dev().resolve("dri/renderD129")), List.of());
            var scan = new HolderScan(Path.of("/proc"));
            var single = new HolderScan(Path.of("/proc"), 1);
            for (int i = 0; i < 5; i++) {
                check("warm-up", new TreeSet<>(scan.scan(target).pids()), expected);
                check("warm-up", new TreeSet<>(single.scan(target).pids()), expected);
            }
            var tools = new ArrayList<Tool>();
            tools.add(new Tool("HolderScan (in-process, warm, " + scan.workers() + " threads)", () -> new TreeSet<>(scan.scan(target).pids())));
            tools.add(new Tool("HolderScan (in-process, warm, 1 thread)", () -> new TreeSet<>(single.scan(target).pids())));
            if (onPath("fuser")) {
                // pids on stdout, the table on stderr
                tools.add(command("fuser -v <node>", List.of("fuser", "-v", node.toString()), Pattern.compile("(\\d+)")));
            } else System.out.println("fuser: not installed");
            if (onPath("lsof")) {
                tools.add(command("lsof -t <node>", List.of("lsof", "-t", node.toString()), Pattern.compile("^(\\d+)$", Pattern.MULTILINE)));
            } else System.out.println("lsof: not installed");
            if (Files.isRegularFile(jar)) {
                var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
                tools.add(command("unwedge users card1 (whole JVM process)",
                        List.of(java, "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar",
                                jar.toString(), "users", "card1", "--sysfs", host.sys().toString(), "--json"),
                        Pattern.compile("\"pid\":(\\d+)")));
            } else System.out.println("unwedge users: no " + jar + " (mvn package first)");
            if (Files.isExecutable(launcher)) {
                tools.add(command("./unwedge users card1 (AOT cache)", List.of(launcher.toAbsolutePath().toString(), "users", "card1",
                        "--sysfs", host.sys().toString(), "--json"), Pattern.compile("\"pid\":(\\d+)")));
            } else System.out.println("./unwedge users: no " + launcher);
            // round by round, every tool once a round: a machine whose load changes meanwhile changes it for all
            var wall = new long[tools.size()][runs];
            var cpu = new long[tools.size()];
            for (int i = 0; i < runs; i++) {
                for (int t = 0; t < tools.size(); t++) {
                    long c0 = cpuTicks();
                    long t0 = System.nanoTime();
                    var found = tools.get(t).run().call();
                    wall[t][i] = System.nanoTime() - t0;
                    cpu[t] += cpuTicks() - c0;
                    check(tools.get(t).name(), found, expected);
                }
            }
            System.out.printf("load average before the runs' end: %s", Files.readString(Path.of("/proc/loadavg")));
            for (int t = 0; t < tools.size(); t++) report(tools.get(t).name(), wall[t], cpu[t] * 1000.0 / TICKS / runs);
        } finally {
            for (var c : children) {
                c.destroy();
            }
            for (var c : children) c.waitFor();
            System.out.println("killed " + children.size() + " children");
            try (var files = Files.walk(root)) {
                for (var f : files.sorted(java.util.Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
            }
        }
    }

    private static int ready(List<Process> children, String... cmd) throws Exception {
        var p = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
        children.add(p);
        try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
            if (!"ready".equals(r.readLine())) throw new IllegalStateException("child did not get ready: " + List.of(cmd));
        }
        return (int) p.pid();
    }

    /** One way of finding the holders: what it found, as pids. */
    private record Tool(String name, java.util.concurrent.Callable<TreeSet<Integer>> run) {}

    /** A command whose output names the pids ({@code pid}'s group 1). */
    private static Tool command(String name, List<String> cmd, Pattern pid) {
        return new Tool(name, () -> {
            var p = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectError(ProcessBuilder.Redirect.DISCARD).start();
            var out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            p.waitFor();
            var found = new TreeSet<Integer>();
            Matcher m = pid.matcher(out);
            while (m.find()) found.add(Integer.parseInt(m.group(1)));
            return found;
        });
    }

    /** USER_HZ: /proc/self/stat counts CPU time in ticks of 1/100 s on every Linux architecture unwedge runs on. */
    private static final double TICKS = 100.0;

    /**
     * CPU time of this JVM and of its children it has waited for (utime, stime, cutime, cstime of
     * /proc/self/stat), in ticks: a tool's CPU cost whether it runs in here or as a process.
     */
    private static long cpuTicks() throws java.io.IOException {
        String stat = Files.readString(Path.of("/proc/self/stat"));
        String[] f = stat.substring(stat.lastIndexOf(')') + 2).split(" ");
        // after the comm: state(0) ppid … utime(11) stime(12) cutime(13) cstime(14)
        return Long.parseLong(f[11]) + Long.parseLong(f[12]) + Long.parseLong(f[13]) + Long.parseLong(f[14]);
    }

    private static void check(String name, TreeSet<Integer> found, TreeSet<Integer> expected) {
        if (!found.equals(expected)) {
            var missing = new TreeSet<>(expected);
            missing.removeAll(found);
            var extra = new TreeSet<>(found);
            extra.removeAll(expected);
            throw new AssertionError(name + " disagrees: missing " + missing + ", extra " + extra);
        }
    }

    private static void report(String name, long[] nanos, double cpuMillis) {
        var ms = Arrays.stream(nanos).sorted().mapToDouble(t -> t / 1e6).toArray();
        System.out.printf("%-45s runs=%d  wall min %8.1f ms  median %8.1f ms  max %8.1f ms  CPU %7.1f ms/run  (all found the same holders)%n",
                name, ms.length, ms[0], ms[ms.length / 2], ms[ms.length - 1], cpuMillis);
    }

    private static boolean onPath(String tool) {
        for (var d : System.getenv().getOrDefault("PATH", "/usr/bin:/bin").split(":")) {
            if (Files.isExecutable(Path.of(d, tool))) return true;
        }
        return false;
    }
}
