package io.unwedge.bench;

import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.netlink.PrivateNetns;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.File;
import java.io.IOException;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.TimeUnit;

/**
 * What a user waits for and what the idle daemon costs, measured on whole processes through {@code ./unwedge}
 * (issue 6). Prints figures; asserts only that each run did what it should (exit code, a line of its
 * output, nothing on stderr), so a broken run is never timed as a fast one.
 *
 * <p><b>Start-up.</b> {@code --version}, {@code users --all}, {@code status} and {@code plan} on a virtual
 * host of its own, each {@code runs} times through the script with the AOT cache ({@code ./unwedge}) and
 * without ({@code UNWEDGE_AOT=off ./unwedge}), the two modes interleaved so that a change in the machine's
 * load falls on both. Wall time p50/min/max, and the CPU time the process used (user + system, from this
 * process's {@code cutime}/{@code cstime}: the script execs the JVM, so that is the JVM's), which a busy
 * machine disturbs less than wall time.
 *
 * <p><b>The idle daemon.</b> For each set of JVM options, {@code daemon --sysfs <virtual host>} in a fresh
 * network namespace ({@code unshare --net}, which execs it: the pid is the JVM's), and once it has logged
 * {@code daemon-start} and {@code settle} seconds more have passed (its start-up retention run, class
 * loading), {@code /proc/PID/status} and {@code /proc/PID/stat} sampled each second for {@code idle}
 * seconds: VmRSS at the end and its maximum, RssAnon/RssFile, VmHWM (the peak, start-up included), threads,
 * and utime+stime over the window as a percentage of one core. Then SIGTERM, to the process it started.
 * The last set is {@code ./unwedge daemon} itself, with whatever options the script gives it.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp "bench/target/unwedge-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     io.unwedge.bench.StartupHarness [runs=10] [idle-seconds=30] [repo=.]</pre>
 * {@code runs=0} skips the start-up part, {@code idle-seconds=0} the daemon part.
 */
public final class StartupHarness {

    /** A set of JVM options for the daemon, and a name to print it under. Empty {@code jvm}: run {@code ./unwedge daemon}. */
    record Candidate(String name, List<String> jvm) {
        Candidate {
            jvm = List.copyOf(jvm);
        }
    }

    private static final List<String> NATIVE = List.of("--enable-native-access=ALL-UNNAMED");
    private static final List<String> CLI = List.of("--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1");

    /** The sets tried; the figures in docs/systemd.md ("Footprint") come from these. */
    static List<Candidate> candidates(Path aotCache) {
        var chosen = plus(CLI, "-Xmx32m", "-Xmn2m", "-XX:TrimNativeHeapInterval=10000");
        return List.of(
                new Candidate("JVM defaults (G1, C1+C2)", NATIVE),
                new Candidate("serial GC, C1+C2", plus(NATIVE, "-XX:+UseSerialGC")),
                new Candidate("the CLI's: serial GC, C1 only (./unwedge daemon before)", CLI),
                new Candidate("CLI's + -Xmx32m", plus(CLI, "-Xmx32m")),
                new Candidate("CLI's + -Xmx32m -Xmn2m", plus(CLI, "-Xmx32m", "-Xmn2m")),
                new Candidate("CLI's + -Xmx32m -Xmn2m -XX:TrimNativeHeapInterval=10000 (chosen)", chosen),
                new Candidate("chosen + -Xss256k -XX:ReservedCodeCacheSize=16m -XX:MaxMetaspaceSize=48m",
                        plus(chosen, "-Xss256k", "-XX:ReservedCodeCacheSize=16m", "-XX:MaxMetaspaceSize=48m")),
                new Candidate("chosen + -Xshare:off", plus(chosen, "-Xshare:off")),
                new Candidate("chosen + the CLI's AOT cache", plus(chosen, "-XX:AOTCache=" + aotCache, "-Xlog:aot*=off,cds*=off")),
                new Candidate("chosen, -Xint instead of C1", plus(NATIVE, "-XX:+UseSerialGC", "-Xint", "-Xmx32m", "-Xmn2m", "-XX:TrimNativeHeapInterval=10000")),
                new Candidate("./unwedge daemon (the script's choice)", List.of()));
    }

    public static void main(String[] args) throws Exception {
        int runs = args.length > 0 ? Integer.parseInt(args[0]) : 10;
        int idle = args.length > 1 ? Integer.parseInt(args[1]) : 30;
        Path repo = Path.of(args.length > 2 ? args[2] : ".").toAbsolutePath().normalize();
        Path script = repo.resolve("unwedge");
        if (!Files.isExecutable(script)) throw new IllegalArgumentException("no executable " + script + ": give the repository as the third argument");
        Path dir = Files.createTempDirectory("unwedge-startup-");
        try {
            var host = VirtualHost.create(dir.resolve("lab"), 2, GpuModel.XE, 0);
            Path state = Files.createDirectories(dir.resolve("lab/state"));
            var quiet = new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR);
            Journal.open(state, InstantSource.system(), quiet).close(); // status and plan read an empty journal, as after a first start
            // the first run builds when the sources changed and trains the cache: not timed
            var first = run(List.of(script.toString(), "--version"), Map.of(), "unwedge ");
            Path aot = repo.resolve("cli/target/unwedge.aot");
            Path jar = repo.resolve("cli/target/unwedge.jar");
            boolean cached = Files.isRegularFile(aot) && Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar)) > 0;
            System.out.printf(Locale.ROOT, "%s; %d CPUs; load %s%nAOT cache: %s%n", first.out().strip(), Runtime.getRuntime().availableProcessors(),
                    loadavg(), cached ? aot + " (" + Files.size(aot) / (1024 * 1024) + " MB)" : "none (see cli/target/build.log): both columns run without one");
            if (runs > 0) startup(script, host, state, runs);
            if (idle > 0) daemons(script, repo, host, dir, idle);
        } finally {
            try (var files = Files.walk(dir)) {
                for (var f : files.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(f);
            }
        }
    }

    // ---- start-up ----

    private static void startup(Path script, VirtualHost host, Path state, int runs) throws Exception {
        String sys = host.sys().toString();
        var commands = new LinkedHashMap<String, List<String>>();
        var expect = new LinkedHashMap<String, String>();
        commands.put("--version", List.of("--version"));
        expect.put("--version", "unwedge ");
        commands.put("users --all", List.of("users", "--all", "--sysfs", sys, "--dev", host.dev().toString()));
        expect.put("users --all", "card1 0000:06:00.0 xe");
        commands.put("status", List.of("status", "--state-dir", state.toString(), "--sysfs", sys));
        expect.put("status", "no unfinished recovery");
        commands.put("plan card0", List.of("plan", "card0", "--sysfs", sys));
        expect.put("plan card0", "decision: recover");
        System.out.printf(Locale.ROOT, "%nstart-up, %d runs each, through %s (wall ms: p50 min max | CPU ms user+sys: p50)%n", runs, script);
        System.out.printf(Locale.ROOT, "  %-14s %-32s %-32s %s%n", "command", "AOT cache", "UNWEDGE_AOT=off", "p50 saved");
        for (var e : commands.entrySet()) {
            var cmd = new ArrayList<String>(List.of(script.toString()));
            cmd.addAll(e.getValue());
            long[][] wall = new long[2][runs];
            long[][] cpu = new long[2][runs];
            for (int i = 0; i < runs; i++) {
                for (int mode = 0; mode < 2; mode++) { // interleaved: both see the same load
                    var r = run(cmd, mode == 0 ? Map.of() : Map.of("UNWEDGE_AOT", "off"), expect.get(e.getKey()));
                    wall[mode][i] = r.wallNanos();
                    cpu[mode][i] = r.cpuMillis();
                }
            }
            double withP50 = p50(wall[0]) / 1e6;
            double withoutP50 = p50(wall[1]) / 1e6;
            System.out.printf(Locale.ROOT, "  %-14s %-32s %-32s %4.0f ms (%.0f%%)%n", e.getKey(), cell(wall[0], cpu[0]), cell(wall[1], cpu[1]),
                    withoutP50 - withP50, 100 * (withoutP50 - withP50) / withoutP50);
        }
    }

    private static String cell(long[] wall, long[] cpu) {
        var w = Arrays.stream(wall).sorted().toArray();
        return String.format(Locale.ROOT, "%4.0f %4.0f %4.0f | %4d", p50(wall) / 1e6, w[0] / 1e6, w[w.length - 1] / 1e6, (long) p50(cpu));
    }

    private static double p50(long[] values) {
        var v = Arrays.stream(values).sorted().toArray();
        return v.length % 2 == 1 ? v[v.length / 2] : (v[v.length / 2 - 1] + v[v.length / 2]) / 2.0;
    }

    record Run(String out, long wallNanos, long cpuMillis) {}

    /** Runs a command to its end; fails unless it exits 0, prints {@code expect} and nothing on stderr. */
    private static Run run(List<String> cmd, Map<String, String> env, String expect) throws Exception {
        var pb = new ProcessBuilder(cmd).redirectInput(new File("/dev/null"));
        pb.environment().putAll(env);
        long cpu0 = childrenCpuTicks();
        long t0 = System.nanoTime();
        var p = pb.start();
        var err = new StringBuilder();
        var errReader = Thread.ofVirtual().start(() -> {
            try {
                err.append(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new IllegalStateException("timed out: " + cmd);
        }
        long wall = System.nanoTime() - t0;
        errReader.join();
        long cpu = (childrenCpuTicks() - cpu0) * 1000 / CLK_TCK;
        if (p.exitValue() != 0 || !out.contains(expect) || !err.isEmpty()) {
            throw new IllegalStateException(env + " " + cmd + " exited " + p.exitValue() + " (wanted 0 and '" + expect + "' on stdout, nothing on stderr)\nstdout: "
                    + out + "\nstderr: " + err);
        }
        return new Run(out, wall, cpu);
    }

    // the kernel's USER_HZ: /proc/PID/stat counts CPU time in these (100 on every Linux architecture Java runs on)
    private static final long CLK_TCK = 100;

    /** cutime + cstime of this process: the CPU time of the children it has waited for. */
    private static long childrenCpuTicks() throws IOException {
        var f = statFields(Path.of("/proc/self/stat"));
        return Long.parseLong(f[15]) + Long.parseLong(f[16]);
    }

    /** The fields of a /proc/PID/stat, numbered from 1 as proc(5) does (index i is field i+1); comm may hold spaces. */
    private static String[] statFields(Path stat) throws IOException {
        String s = Files.readString(stat);
        int close = s.lastIndexOf(')');
        var rest = s.substring(close + 2).split(" ");
        var f = new String[rest.length + 2];
        f[0] = s.substring(0, s.indexOf(' '));
        f[1] = s.substring(s.indexOf('(') + 1, close);
        System.arraycopy(rest, 0, f, 2, rest.length);
        return f;
    }

    private static String loadavg() throws IOException {
        var parts = Files.readString(Path.of("/proc/loadavg")).split(" ");
        return parts[0] + " " + parts[1] + " " + parts[2];
    }

    // ---- the idle daemon ----

    private static void daemons(Path script, Path repo, VirtualHost host, Path dir, int idle) throws Exception {
        var reason = PrivateNetns.unavailableReason();
        if (reason.isPresent()) {
            System.out.println("\nidle daemon: skipped, no private network namespace: " + reason.get());
            return;
        }
        int settle = 5;
        System.out.printf(Locale.ROOT, "%nidle daemon: daemon --sysfs <virtual host, 2 GPUs> in unshare --net; sampled each second for %d s, from %d s after daemon-start%n",
                idle, settle);
        System.out.printf(Locale.ROOT, "  %-8s %-8s %-8s %-8s %-8s %-8s %-7s %-7s  %s%n", "start ms", "RSS MB", "max MB", "anon MB", "file MB", "HWM MB", "threads", "CPU %",
                "options (each with --enable-native-access=ALL-UNNAMED)");
        var java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        String jar = repo.resolve("cli/target/unwedge.jar").toString();
        int n = 0;
        for (var c : candidates(repo.resolve("cli/target/unwedge.aot"))) {
            var cmd = new ArrayList<>(List.of("unshare", "--net", "--"));
            if (c.jvm().isEmpty()) {
                cmd.add(script.toString());
            } else {
                cmd.add(java);
                cmd.addAll(c.jvm());
                cmd.addAll(List.of("-jar", jar));
            }
            cmd.addAll(List.of("daemon", "--sysfs", host.sys().toString(), "--state-dir", Files.createDirectories(dir.resolve("state-" + n++)).toString()));
            var m = idleDaemon(cmd, dir.resolve("daemon-" + n + ".log"), settle, idle);
            System.out.printf(Locale.ROOT, "  %-8d %-8.1f %-8.1f %-8.1f %-8.1f %-8.1f %-7d %-7.2f  %s%n", m.startMillis(), m.rssKb() / 1024.0, m.maxRssKb() / 1024.0,
                    m.anonKb() / 1024.0, m.fileKb() / 1024.0, m.hwmKb() / 1024.0, m.threads(), m.cpuPercent(), c.name());
            if (c.jvm().isEmpty()) System.out.println("           ./unwedge daemon ran: " + m.cmdline());
        }
    }

    record Idle(long startMillis, long rssKb, long maxRssKb, long anonKb, long fileKb, long hwmKb, int threads, double cpuPercent, String cmdline) {}

    private static Idle idleDaemon(List<String> cmd, Path log, int settle, int idle) throws Exception {
        long spawned = System.nanoTime();
        var p = new ProcessBuilder(cmd).redirectInput(new File("/dev/null")).redirectErrorStream(true).redirectOutput(log.toFile()).start();
        try {
            long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(60);
            while (!Files.readString(log).contains("daemon-start")) {
                if (!p.isAlive() || System.nanoTime() > deadline) {
                    throw new IllegalStateException("the daemon did not start: " + cmd + "\n" + Files.readString(log));
                }
                Thread.sleep(20);
            }
            long startMillis = (System.nanoTime() - spawned) / 1_000_000;
            Thread.sleep(TimeUnit.SECONDS.toMillis(settle));
            Path proc = Path.of("/proc", Long.toString(p.pid()));
            String cmdline = Files.readString(proc.resolve("cmdline")).replace('\0', ' ').strip();
            if (!cmdline.contains(" daemon ")) throw new IllegalStateException("pid " + p.pid() + " is not the daemon: " + cmdline);
            long ticks0 = cpuTicks(proc);
            long t0 = System.nanoTime();
            long maxRss = 0;
            for (int i = 0; i < idle; i++) {
                Thread.sleep(1000);
                maxRss = Math.max(maxRss, status(proc).get("VmRSS"));
            }
            long ticks = cpuTicks(proc) - ticks0;
            double seconds = (System.nanoTime() - t0) / 1e9;
            var s = status(proc);
            if (!p.isAlive()) throw new IllegalStateException("the daemon exited while idle:\n" + Files.readString(log));
            return new Idle(startMillis, s.get("VmRSS"), maxRss, s.get("RssAnon"), s.get("RssFile") + s.get("RssShmem"), s.get("VmHWM"), s.get("Threads").intValue(),
                    100.0 * ticks / CLK_TCK / seconds, cmdline);
        } finally {
            p.destroy(); // SIGTERM to the process this harness started
            if (!p.waitFor(60, TimeUnit.SECONDS)) p.destroyForcibly();
        }
    }

    private static long cpuTicks(Path proc) throws IOException {
        var f = statFields(proc.resolve("stat"));
        return Long.parseLong(f[13]) + Long.parseLong(f[14]); // utime, stime
    }

    /** The numeric fields of /proc/PID/status we read, in kB (Threads as a count). */
    private static Map<String, Long> status(Path proc) throws IOException {
        var out = new LinkedHashMap<String, Long>();
        for (var line : Files.readAllLines(proc.resolve("status"))) {
            int colon = line.indexOf(':');
            if (colon < 0) continue;
            String key = line.substring(0, colon);
            if (List.of("VmRSS", "RssAnon", "RssFile", "RssShmem", "VmHWM", "Threads").contains(key)) {
                out.put(key, Long.parseLong(line.substring(colon + 1).strip().split("\\s+")[0]));
            }
        }
        return out;
    }

    private static List<String> plus(List<String> base, String... more) {
        var all = new ArrayList<>(base);
        all.addAll(List.of(more));
        return all;
    }
}
