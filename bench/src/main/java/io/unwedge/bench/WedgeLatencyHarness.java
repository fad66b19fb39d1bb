package io.unwedge.bench;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.Timeouts;
import io.unwedge.host.netlink.KernelUeventInjector;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.PrivateNetns;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.DriverModel;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Arrays;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * N wedges on the virtual host, through the real kernel in a private network namespace: the latency from
 * the kernel's delivery (recvmsg returned) to the unbind write having returned, per wedge, p50/p99/max.
 *
 * <pre>java --enable-native-access=ALL-UNNAMED -cp "bench/target/unwedge-bench-0.1.0-SNAPSHOT.jar:bench/target/lib/*" \
 *     io.unwedge.bench.WedgeLatencyHarness [wedges=1000] [gpus=4] [journal]</pre>
 */
public final class WedgeLatencyHarness {

    public static void main(String[] args) throws Exception {
        int wedges = args.length > 0 ? Integer.parseInt(args[0]) : 1000;
        int gpus = args.length > 1 ? Integer.parseInt(args[1]) : 4;
        int warmup = Math.min(200, wedges / 5);
        boolean journaled = args.length > 2 && args[2].equals("journal");
        Path dir = Files.createTempDirectory("unwedge-latency-");
        var host = VirtualHost.create(dir.resolve("host"), gpus, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        var reports = new LinkedBlockingQueue<RecoveryReport>();
        try (var netns = PrivateNetns.create();
             var injector = netns.call(KernelUeventInjector::open)) {
            var source = netns.call(NetlinkUeventSource::open);
            var quiet = new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR);
            // with "journal": the daemon's own SQLite journal in the temp dir, intent synced before each unbind
            var journal = journaled ? java.util.Optional.of(io.unwedge.daemon.journal.Journal.open(
                    Files.createDirectories(dir.resolve("state")), InstantSource.system(), quiet)) : java.util.Optional.<io.unwedge.daemon.journal.Journal>empty();
            var timeouts = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ZERO,
                    Duration.ofSeconds(5), Duration.ofSeconds(2));
            var supervisor = new Supervisor(source, topology, new Supervisor.Settings(timeouts, false, io.unwedge.core.holders.DrainPolicy.DEFAULT,
                    java.nio.file.Path.of("/proc"), java.util.Optional.empty(), benchmarkPolicy(gpus)), quiet, reports::add, journal);
            var loop = Thread.ofPlatform().start(() -> {
                try {
                    supervisor.run();
                } catch (Exception e) {
                    e.printStackTrace();
                }
            });
            try (var model = new DriverModel(host, injector, Duration.ZERO, l -> {})) {
                model.start();
                long[] micros = new long[wedges];
                for (int i = 0; i < warmup + wedges; i++) {
                    var gpu = host.gpus().get(i % gpus);
                    model.wedge(host.cardOf(gpu), List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
                    var r = reports.poll(10, TimeUnit.SECONDS);
                    if (r == null || r.result() != RecoveryReport.Result.RECOVERED || r.latencyMicros().isEmpty()) {
                        throw new IllegalStateException("wedge " + i + " did not recover: " + r);
                    }
                    if (i >= warmup) micros[i - warmup] = r.latencyMicros().get();
                }
                Arrays.sort(micros);
                System.out.printf("wedges=%d (after %d warm-up) gpus=%d: kernel delivery -> unbind write returned: "
                                + "p50=%d us p90=%d us p99=%d us max=%d us%s%n", wedges, warmup, gpus,
                        micros[wedges / 2], micros[(int) (wedges * 0.90)], micros[(int) (wedges * 0.99)], micros[wedges - 1],
                        journaled ? " (journaled, intent synced before the unbind)" : " (no journal)");
            } finally {
                supervisor.stop();
                loop.join(5000);
            }
        } finally {
            try (var s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
            }
        }
    }

    /**
     * The default policy without the limits a benchmark would trip: it wedges each GPU hundreds of times an
     * hour (the budget would quarantine it after three), and every GPU may recover at once (they share no bus).
     */
    static io.unwedge.daemon.RecoveryPolicy benchmarkPolicy(int gpus) {
        var d = io.unwedge.daemon.RecoveryPolicy.DEFAULT;
        var limits = new io.unwedge.core.safety.SafetyPolicy(Integer.MAX_VALUE, Duration.ofHours(1), Integer.MAX_VALUE,
                Duration.ofMinutes(10), d.safety().quarantine(), gpus);
        return new io.unwedge.daemon.RecoveryPolicy(d.methods(), limits, d.preRecovery(), d.postRecovery(), d.hookTimeout(), d.verifyIoctl());
    }
}
