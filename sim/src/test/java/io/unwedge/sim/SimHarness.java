package io.unwedge.sim;

import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.InProcessUevents;
import io.unwedge.host.netlink.KernelUeventInjector;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.PrivateNetns;
import io.unwedge.host.sysfs.Sysfs;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import org.junit.jupiter.api.Assumptions;

/**
 * A virtual host and its driver model, with the uevents either in process or through the real kernel in a
 * private network namespace made for the test (skipped off CI when none can be made, failed on CI).
 */
final class SimHarness implements AutoCloseable {

    static final Duration WAIT = Duration.ofSeconds(5);

    final VirtualHost host;
    final DriverModel model;
    final EventTap tap;
    final Lines lines = new Lines();
    private final PrivateNetns netns;
    private final AutoCloseable injector;

    private SimHarness(VirtualHost host, DriverModel.Settings settings, boolean kernel) throws Exception {
        this.host = host;
        if (kernel) {
            requireNamespace();
            netns = PrivateNetns.create();
            var k = netns.call(KernelUeventInjector::open);
            injector = k;
            var source = netns.call(NetlinkUeventSource::open);
            tap = new EventTap(source, SimHarness::ours);
            model = new DriverModel(host, k, settings, lines);
        } else {
            netns = null;
            injector = null;
            var bus = new InProcessUevents();
            tap = new EventTap(bus.subscribe());
            model = new DriverModel(host, bus.sink(), settings, lines);
        }
        model.start();
    }

    static SimHarness inProcess(Path dir, int gpus, GpuModel gpu, VirtualHost.Options options, DriverModel.Settings settings) throws Exception {
        return new SimHarness(VirtualHost.create(dir.resolve("h"), gpus, gpu, 0, options), settings, false);
    }

    static SimHarness inProcess(Path dir, int gpus) throws Exception {
        return inProcess(dir, gpus, GpuModel.XE, VirtualHost.Options.DEFAULT, DriverModel.Settings.of(Duration.ofMillis(20)));
    }

    static SimHarness kernel(Path dir, int gpus) throws Exception {
        return new SimHarness(VirtualHost.create(dir.resolve("h"), gpus, GpuModel.XE, 0), DriverModel.Settings.of(Duration.ofMillis(20)), true);
    }

    /** A namespace-dependent test skips only off CI, and says why; on CI it fails. */
    static void requireNamespace() {
        var reason = PrivateNetns.unavailableReason();
        if (reason.isPresent() && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI=true but no private network namespace: " + reason.get());
        }
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped: no private network namespace: " + reason.orElse(""));
    }

    /** The virtual host's devices; the host's own uevents, which reach the namespace too, are not. */
    private static boolean ours(Uevent u) {
        return u.devpath().startsWith("/devices/pci0000:00/0000:00:01.") || u.devpath().startsWith("/devices/virtual/devcoredump/");
    }

    SimGpu gpu(int i) {
        return host.gpus().get(i);
    }

    Path fn(int gpu) {
        return host.functionDir(gpu(gpu));
    }

    Path audio(int gpu) {
        return host.functionDir(gpu(gpu), gpu(gpu).audioBdf().orElseThrow());
    }

    Path slot(int gpu) {
        return host.slotDir(gpu(gpu)).orElseThrow();
    }

    /** A write as a consumer makes it: to an attribute that must exist, never creating one. */
    void write(Path attribute, String value) throws Exception {
        Sysfs.writeAttribute(attribute, value);
    }

    Path pci(String attribute) {
        return host.sys().resolve("bus/pci").resolve(attribute);
    }

    Path driver(String driver, String attribute) {
        return host.sys().resolve("bus/pci/drivers").resolve(driver).resolve(attribute);
    }

    List<Uevent> next(int n, String what) throws InterruptedException {
        return tap.next(n, WAIT, what);
    }

    String errors() throws Exception {
        Path log = host.simDir().resolve("errors.log");
        return Files.exists(log) ? Files.readString(log) : "";
    }

    /** Waits for an error line (errors.log gets it in the same step) and returns errors.log. */
    String awaitError(String containing) throws Exception {
        lines.await("error: " + containing, WAIT);
        return errors();
    }

    /** "action name", e.g. "remove card0", "unbind 0000:03:00.0": an event sequence at a glance. */
    static List<String> summary(List<Uevent> events) {
        return events.stream().map(u -> u.action() + " " + u.devpath().replaceAll(".*/", "")).toList();
    }

    @Override
    public void close() throws Exception {
        model.close();
        tap.close();
        if (injector != null) injector.close();
        if (netns != null) netns.close();
    }
}
