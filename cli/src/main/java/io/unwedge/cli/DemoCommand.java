package io.unwedge.cli;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.Timeouts;
import io.unwedge.host.netlink.InProcessUevents;
import io.unwedge.host.netlink.KernelUeventInjector;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.PrivateNetns;
import io.unwedge.host.netlink.UeventSink;
import io.unwedge.host.netlink.UeventSource;
import io.unwedge.host.os.NetNamespace;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.DriverModel;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualClient;
import io.unwedge.sim.VirtualHost;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "demo", mixinStandardHelpOptions = true,
        description = {"The main job on a virtual host: two GPUs, one wedges while the other keeps working,",
                "unwedge hears the kernel's uevent, drains the two processes holding it (one polite, one that",
                "ignores SIGTERM), rebinds it and verifies it came back.",
                "Runs itself in a private network namespace (unshare --net), so nothing reaches this host's udev."})
final class DemoCommand implements Callable<Integer> {

    private static final String CHILD = "UNWEDGE_DEMO_IN_NETNS";

    @Option(names = "--keep", description = "keep the virtual host's directory afterwards") boolean keep;
    @Option(names = "--in-process", description = "skip the kernel: deliver uevents inside the JVM") boolean inProcess;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        if (inProcess) return demo(Path.of("/proc"), "in-process event path (--in-process): uevents do not go through the kernel");
        if ("1".equals(System.getenv(CHILD))) {
            if (NetNamespace.isInitial(Path.of("/proc"))) throw new Main.Refused("re-executed for a private network namespace but still in the host's");
            return demo(Path.of("/proc"), null);
        }
        Optional<String> unavailable = PrivateNetns.unavailableReason();
        if (unavailable.isEmpty()) {
            var self = ProcessHandle.current().info();
            if (self.command().isPresent() && self.arguments().isPresent()) {
                var cmd = new ArrayList<>(List.of("unshare", "--net", "--", self.command().get()));
                cmd.addAll(List.of(self.arguments().get()));
                var pb = new ProcessBuilder(cmd).inheritIO();
                pb.environment().put(CHILD, "1");
                try {
                    return pb.start().waitFor();
                } catch (IOException e) {
                    unavailable = Optional.of("cannot run unshare: " + e.getMessage());
                }
            } else {
                unavailable = Optional.of("cannot see this process's own command line to re-execute it");
            }
        }
        return demo(Path.of("/proc"), "no private network namespace (" + unavailable.get()
                + "); using the in-process event path: uevents do not go through the kernel");
    }

    private int demo(Path proc, String fallback) throws Exception {
        long t0 = System.nanoTime();
        Path dir = Files.createTempDirectory("unwedge-demo-");
        var log = new EventLog(out, InstantSource.system(), EventLog.Level.INFO);
        out.println("== unwedge demo ==");
        out.println(fallback == null
                ? "events: the real kernel, in this process's private network namespace (netlink group 1, sender port 0)"
                : "events: " + fallback);
        var host = VirtualHost.create(dir.resolve("host"), 2, GpuModel.XE, 0);
        var topology = new Topology(new Sysfs(host.sys()));
        out.println("virtual host: " + host.root());
        for (var d : topology.cards()) out.println("  " + d.card() + "  " + d.bdf() + "  " + d.driver().orElse("-") + "  " + d.sysPath());

        UeventSink sink;
        UeventSource source;
        AutoCloseable injector = null;
        if (fallback == null) {
            var k = KernelUeventInjector.open();
            injector = k;
            sink = k;
            source = NetlinkUeventSource.open();
        } else {
            var bus = new InProcessUevents();
            sink = bus.sink();
            source = bus.subscribe();
        }
        // bind: 2 s, ten times the virtual probe; a probe that fails costs the demo that long before it escalates
        var timeouts = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofSeconds(2), Duration.ofSeconds(1),
                Duration.ofSeconds(5), Duration.ofSeconds(2));
        var reports = new java.util.concurrent.LinkedBlockingQueue<RecoveryReport>();
        // terminate with a 1 s grace: the stubborn client below is killed after it
        var drain = new DrainPolicy(DrainPolicy.Mode.TERMINATE, Duration.ofSeconds(1), DrainPolicy.Protection.DEFAULT, false);
        var settings = new Supervisor.Settings(timeouts, false, drain, proc, Optional.of(host.dev()));
        var supervisor = new Supervisor(source, topology, settings, log, reports::add, Optional.empty());
        var loop = Thread.ofPlatform().name("unwedge-supervisor").start(() -> {
            try {
                supervisor.run();
            } catch (IOException e) {
                log.error("daemon-failed", "error", e.toString());
            }
        });
        int code;
        var clients = new ArrayList<VirtualClient>();
        try (var model = new DriverModel(host, sink, Duration.ofMillis(150), line -> out.println("                         sim   " + line))) {
            model.start();
            var gpus = topology.cards();
            GpuDevice healthy = gpus.get(0), victim = gpus.get(1);

            // the other GPU keeps working: a client submits to it and checks it stays up throughout
            var frames = new AtomicLong();
            var interruptions = new AtomicLong();
            var running = new AtomicBoolean(true);
            var worker = Thread.ofVirtual().start(() -> {
                Path node = host.dev().resolve("dri").resolve(healthy.card());
                while (running.get()) {
                    if (topology.isUp(healthy.bdf()) && Files.exists(node)) frames.incrementAndGet();
                    else interruptions.incrementAndGet();
                    try {
                        Thread.sleep(10); // the client's frame pacing
                    } catch (InterruptedException e) {
                        return;
                    }
                }
            });

            // two real processes hold the GPU that will wedge: one lets go on SIGTERM, one ignores it
            Path victimNode = VirtualClient.node(host, victim.card());
            var polite = VirtualClient.start(victimNode, VirtualClient.Options.of(VirtualClient.Behaviour.POLITE),
                    line -> out.println("                         client " + line));
            clients.add(polite);
            var stubborn = VirtualClient.start(victimNode, VirtualClient.Options.of(VirtualClient.Behaviour.STUBBORN),
                    line -> out.println("                         client " + line));
            clients.add(stubborn);
            out.println("holders of " + victim.card() + ": pid " + polite.pid() + " (polite), pid " + stubborn.pid()
                    + " (stubborn: ignores SIGTERM)");

            out.println();
            out.println("-- wedging " + victim.card() + " (" + victim.bdf() + "), " + healthy.card() + " keeps rendering --");
            model.wedge(victim.card(), List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
            var r = next(reports);

            // act 2: the same card wedges again and its driver's next probe fails (firmware that will not load):
            // the rebind fails, and unwedge escalates to the driver's next method
            out.println();
            String again = topology.byBdf(victim.bdf()).map(GpuDevice::card).orElse(victim.card());
            out.println("-- wedging " + again + " again; its next probe fails: rebind cannot bring it back, bus-reset is next --");
            model.failProbes(victim.bdf(), 1);
            model.wedge(again, List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
            var failed = next(reports);
            var escalated = next(reports);
            running.set(false);
            worker.join();

            out.println();
            out.println("== summary ==");
            out.printf("wedged     %s %s  WEDGED=%s  seqnum=%d%n", r.event().card(), r.bdf(), r.event().rawMethods(), r.event().seqnum());
            out.printf("decision   %s: %s%n", r.method().map(RecoveryMethod::token).orElse("-"), r.reason());
            for (var s : r.steps()) out.printf("  %-8s %-8s %6d ms  %s%n", s.step(), s.outcome(), s.millis(), s.detail());
            long drainMs = r.steps().stream().filter(st -> st.step() == io.unwedge.core.Step.DRAIN).mapToLong(st -> st.millis()).sum();
            r.latencyMicros().ifPresent(us -> out.printf("latency    kernel delivery → unbind write: %d µs (%d ms of it draining the holders)%n", us, drainMs));
            out.printf("outcome    %s in %d ms; %s is %s%n", r.result(), r.totalMillis(), r.bdf(),
                    topology.byBdf(r.bdf()).map(d -> d.card() + " bound to " + d.driver().orElse("-")).orElse("not back"));
            out.printf("again      %s: %s (%s), then %s: %s in %d ms (%s)%n", failed.method().map(RecoveryMethod::token).orElse("-"),
                    failed.result(), failed.steps().getLast().step() + " " + failed.steps().getLast().outcome(),
                    escalated.method().map(RecoveryMethod::token).orElse("-"), escalated.result(), escalated.totalMillis(),
                    String.join(", ", escalated.steps().stream().map(st -> st.step() + " " + st.outcome()).toList()));
            out.printf("other GPU  %s %s: %d frames, %d interruptions, still %s%n", healthy.card(), healthy.bdf(), frames.get(),
                    interruptions.get(), topology.isUp(healthy.bdf()) ? "up" : "DOWN");
            var stats = supervisor.stats();
            out.printf("daemon     %d uevents heard, %d wedge(s), %d dropped%n", stats.events(), stats.wedges(),
                    stats.spoofed() + stats.malformed() + stats.truncated());
            out.printf("holders    polite pid %d %s, stubborn pid %d %s%n", polite.pid(), ended(polite), stubborn.pid(), ended(stubborn));
            boolean ok = r.result() == RecoveryReport.Result.RECOVERED && interruptions.get() == 0 && topology.isUp(healthy.bdf())
                    && failed.result() == RecoveryReport.Result.FAILED && escalated.result() == RecoveryReport.Result.RECOVERED
                    && topology.isUp(victim.bdf())
                    && !polite.isAlive() && !stubborn.isAlive();
            out.printf("done in %d ms: %s%n", (System.nanoTime() - t0) / 1_000_000, ok ? "recovered" : "NOT recovered");
            code = ok ? ExitCode.OK.code : ExitCode.FAILED.code;
        } finally {
            for (var c : clients) c.close();
            supervisor.stop();
            loop.join(5000);
            if (injector != null) injector.close();
            if (!keep) deleteTree(dir);
            else out.println("kept " + dir);
        }
        return code;
    }

    private static RecoveryReport next(java.util.concurrent.BlockingQueue<RecoveryReport> reports) throws Exception {
        var r = reports.poll(20, TimeUnit.SECONDS);
        if (r == null) throw new java.util.concurrent.TimeoutException("no recovery report within 20 s");
        return r;
    }

    private static String ended(VirtualClient c) throws InterruptedException {
        return c.waitFor(Duration.ofSeconds(2)).map(code -> code == 0 ? "exited cleanly" : code == 137 ? "was killed (SIGKILL)"
                : "exited " + code).orElse("STILL RUNNING");
    }

    private static void deleteTree(Path dir) throws IOException {
        try (var s = Files.walk(dir)) {
            for (Path p : s.sorted(Comparator.reverseOrder()).toList()) Files.deleteIfExists(p);
        }
    }
}
