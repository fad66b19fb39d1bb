package io.unwedge.daemon;

import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.netlink.InProcessUevents;
import io.unwedge.host.netlink.KernelUeventInjector;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.PrivateNetns;
import io.unwedge.host.netlink.UeventSink;
import io.unwedge.host.netlink.UeventSource;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.DriverModel;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.SimGpu;
import io.unwedge.sim.VirtualHost;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import org.junit.jupiter.api.Assumptions;

/**
 * A virtual host, its driver model and a daemon, wired as in production: with {@code kernel} the
 * uevents go through the real kernel inside a private network namespace made for the test. The journal is
 * a real SQLite file in {@code dir/state}.
 */
final class Rig implements AutoCloseable {

    /** A namespace-dependent test skips only off CI, and says why; on CI it fails. */
    static void requireNamespace() {
        var reason = PrivateNetns.unavailableReason();
        if (reason.isPresent() && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI=true but no private network namespace: " + reason.get());
        }
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped: no private network namespace: " + reason.orElse(""));
    }

    final VirtualHost host;
    final Topology topology;
    final DriverModel model;
    final Supervisor supervisor;
    final Journal journal;
    final BlockingQueue<RecoveryReport> reports = new LinkedBlockingQueue<>();
    final RecordingNotifier notifier = new RecordingNotifier();
    final LoopHeartbeat heartbeat = new LoopHeartbeat();
    final List<String> simLines = new CopyOnWriteArrayList<>();
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final EventLog log;
    volatile Consumer<String> onSimLine = l -> {};
    private final PrivateNetns netns;
    private final AutoCloseable injector;
    private final Thread loop;

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel) throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, DrainPolicy.DEFAULT);
    }

    /** With {@code drain}, the live /proc, and the virtual host's dev/ (the daemon's default beside its sysfs). */
    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain) throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, drain, (journal, host, model) -> {});
    }

    /** What a test arranges before the daemon starts: a journal an earlier daemon left, a device's state. */
    @FunctionalInterface
    interface Before {
        void arrange(Journal journal, VirtualHost host, DriverModel model) throws Exception;
    }

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain, Before before) throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, drain, before, RecoveryPolicy.DEFAULT);
    }

    /** With the operator's recovery policy: methods, safety limits, hooks. */
    Rig(Path dir, int gpus, Timeouts timeouts, boolean kernel, RecoveryPolicy policy) throws Exception {
        this(dir, gpus, timeouts, false, kernel, DrainPolicy.DEFAULT, (journal, host, model) -> {}, policy);
    }

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain, Before before, RecoveryPolicy policy)
            throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, drain, before, policy, VirtualHost.Options.DEFAULT);
    }

    /** A host of {@code options} (audio functions, reset, hotplug slots) and the operator's recovery policy. */
    Rig(Path dir, int gpus, Timeouts timeouts, RecoveryPolicy policy, VirtualHost.Options options, Before before) throws Exception {
        this(dir, gpus, timeouts, false, true, DrainPolicy.DEFAULT, before, policy, options);
    }

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain, Before before, RecoveryPolicy policy,
        VirtualHost.Options options) throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, drain, before, policy, options, Telemetry.Policy.DEFAULT);
    }

    /** Through the kernel, with the operator's {@code [none]}: devcoredumps, offences and their action. */
    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, Telemetry.Policy telemetry) throws Exception {
        this(dir, gpus, timeouts, dryRun, true, DrainPolicy.DEFAULT, (journal, host, model) -> {}, RecoveryPolicy.DEFAULT,
                VirtualHost.Options.DEFAULT, telemetry);
    }

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain, Before before, RecoveryPolicy policy,
        VirtualHost.Options options, Telemetry.Policy telemetry) throws Exception {
        this(dir, gpus, timeouts, dryRun, kernel, drain, before, policy, options, telemetry, (driver, bdf) -> drain);
    }

    /** Through the kernel, with a drain policy chosen per device (the config's driver and device tables). */
    Rig(Path dir, int gpus, Timeouts timeouts, DrainPolicy drain, Supervisor.DrainChooser drainFor) throws Exception {
        this(dir, gpus, timeouts, false, true, drain, (journal, host, model) -> {}, RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT,
                Telemetry.Policy.DEFAULT, drainFor);
    }

    Rig(Path dir, int gpus, Timeouts timeouts, boolean dryRun, boolean kernel, DrainPolicy drain, Before before, RecoveryPolicy policy,
        VirtualHost.Options options, Telemetry.Policy telemetry, Supervisor.DrainChooser drainFor) throws Exception {
        host = VirtualHost.create(dir.resolve("host"), gpus, GpuModel.XE, 0, options);
        topology = new Topology(new Sysfs(host.sys()));
        UeventSink sink;
        UeventSource source;
        if (kernel) {
            requireNamespace();
            netns = PrivateNetns.create();
            var k = netns.call(KernelUeventInjector::open);
            injector = k;
            sink = k;
            source = netns.call(NetlinkUeventSource::open);
        } else {
            netns = null;
            injector = null;
            var bus = new InProcessUevents();
            sink = bus.sink();
            source = bus.subscribe();
        }
        log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.DEBUG);
        journal = Journal.open(Files.createDirectories(dir.resolve("state")), InstantSource.system(), log);
        model = new DriverModel(host, sink, Duration.ofMillis(20), line -> {
            simLines.add(line);
            onSimLine.accept(line);
        });
        model.start();
        before.arrange(journal, host, model);
        supervisor = new Supervisor(source, topology, new Supervisor.Settings(timeouts, dryRun, drain, Path.of("/proc"), Optional.empty(), policy,
                drainFor, telemetry, Optional.empty()), log, reports::add, Optional.of(journal),
                notifier, heartbeat);
        loop = Thread.ofPlatform().name("test-supervisor").start(() -> {
            try {
                supervisor.run();
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        });
    }

    static Timeouts timeouts(long bindMs, long settleMs) {
        return new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(bindMs), Duration.ofMillis(settleMs),
                Duration.ofSeconds(5), Duration.ofSeconds(2));
    }

    SimGpu gpu(int i) {
        return host.gpus().get(i);
    }

    RecoveryReport nextReport(Duration within) throws InterruptedException {
        var r = reports.poll(within.toMillis(), TimeUnit.MILLISECONDS);
        if (r == null) throw new AssertionError("no recovery report within " + within + "; daemon log:\n" + log() + "\nsim:\n" + simLines);
        return r;
    }

    String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    /** Waits (up to 10 s) until the log so far satisfies {@code done}; fails with the log otherwise. */
    void awaitLog(java.util.function.Predicate<String> done) throws InterruptedException {
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (!done.test(log())) {
            if (System.nanoTime() > deadline) throw new AssertionError("not in the log in time: " + log());
            Thread.sleep(5);
        }
    }

    @Override
    public void close() throws Exception {
        supervisor.stop();
        loop.join(10_000);
        model.close();
        journal.close();
        if (injector != null) injector.close();
        if (netns != null) netns.close();
    }
}
