package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.BufferedReader;
import java.io.ByteArrayOutputStream;
import java.io.InputStreamReader;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.Timeout;
import org.junit.jupiter.api.io.TempDir;

/**
 * A holder that lets go of the device without exiting wakes the drain: its close on the node is heard
 * (inotify), not waited out to the policy's deadline. A real child this test starts and always kills.
 */
class DrainCloseWakeTest {

    @TempDir Path dir;
    final List<Process> children = new ArrayList<>();

    @AfterEach
    void kill() {
        for (var p : children) p.destroyForcibly(); // only our own
    }

    @Test
    @Timeout(30)
    void aHolderThatClosesItsDescriptorAndStaysAliveLetsTheDrainProceedBeforeItsGraceEnds() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var device = new Topology(new Sysfs(host.sys())).cards().getFirst();
        Path node = host.dev().resolve("dri").resolve(device.card());
        // on SIGTERM it closes the node and says so, then keeps running: a client that drops the GPU
        var child = new ProcessBuilder("python3", "-c", "import os,signal,sys,time\n"
                + "fd=os.open(sys.argv[1], os.O_RDONLY)\n"
                + "def term(*a):\n    os.close(fd); print('released', flush=True)\n"
                + "signal.signal(signal.SIGTERM, term)\nprint('ready', flush=True)\n"
                + "while True: time.sleep(3600)\n", node.toString()).redirectErrorStream(true).start();
        children.add(child);
        var lines = new CopyOnWriteArrayList<String>();
        var out = new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8));
        assertThat(out.readLine()).isEqualTo("ready");
        Thread.ofVirtual().start(() -> out.lines().forEach(lines::add));

        var logBytes = new ByteArrayOutputStream();
        var log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.DEBUG);
        // a grace far longer than the test may run: only the close can end this drain in time, and if the
        // grace ran out instead the child would be SIGKILLed, which the assertions below would see
        var policy = new DrainPolicy(DrainPolicy.Mode.TERMINATE, Duration.ofSeconds(120), DrainPolicy.Protection.DEFAULT, false);
        Drain.Result r;
        try (var drain = new Drain(Path.of("/proc"), new Sysfs(host.sys()), host.dev(), policy, log)) {
            r = drain.run(device);
        }
        String logged = logBytes.toString(StandardCharsets.UTF_8);
        assertThat(r.proceed()).as(logged).isTrue();
        assertThat(r.detail()).startsWith("free after").contains("1 holder(s) gone");
        assertThat(child.isAlive()).as("it let go without exiting").isTrue();
        assertThat(lines).contains("released");
        assertThat(logged).contains("drain-signal", "pid=" + child.pid(), "signal=SIGTERM", "let go of the device and still runs")
                .doesNotContain("signal=SIGKILL");
    }
}
