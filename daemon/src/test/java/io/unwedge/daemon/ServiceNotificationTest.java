package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.UeventSource;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.ByteArrayOutputStream;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Optional;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** READY, STATUS, STOPPING and the watchdog, as the supervisor and its loop drive them. */
class ServiceNotificationTest {

    @TempDir Path dir;

    static final Duration WAIT = Duration.ofSeconds(20);

    @Test
    void readyComesFirstThenAStatusPerRecoveryThenStopping() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), false, false)) {
            long until = System.nanoTime() + WAIT.toNanos();
            while (rig.notifier.states.isEmpty() && System.nanoTime() < until) Thread.sleep(10); // the loop runs on its own thread
            assertThat(rig.notifier.states).first().isEqualTo("READY=1\nSTATUS=2 cards, listening");
            rig.model.wedge("card1", java.util.List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            // the status is sent after the listener heard the report
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (rig.notifier.states.size() < 2 && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(rig.notifier.states.get(1)).isEqualTo("STATUS=2 cards, last: card1 recovered " + r.totalMillis() + " ms");
            rig.supervisor.stop();
            assertThat(rig.notifier.states).last().isEqualTo("STOPPING=1");
        }
    }

    @Test
    void theSummaryNamesTheCardTheResultAndTheTime() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, false)) {
            rig.model.wedge("card0", java.util.List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(Supervisor.summary(3, r)).matches("3 cards, last: card0 recovered \\d+ ms");
        }
    }

    /** A source that blocks until the test hands it a delivery: the idle daemon. */
    static final class Handed implements UeventSource {
        final BlockingQueue<Delivery> queue = new LinkedBlockingQueue<>();

        @Override
        public Delivery receive() {
            try {
                return queue.take();
            } catch (InterruptedException e) {
                return new Delivery.Closed();
            }
        }

        @Override
        public void close() {
            queue.add(new Delivery.Closed());
        }
    }

    /** An output that blocks every write until released: a stdout pipe nobody reads, a loop stuck in dispatch. */
    static final class Jammed extends OutputStream {
        final CountDownLatch release = new CountDownLatch(1);
        volatile boolean jam;
        final ByteArrayOutputStream bytes = new ByteArrayOutputStream();

        @Override
        public synchronized void write(int b) {
            write(new byte[] {(byte) b}, 0, 1);
        }

        @Override
        public void write(byte[] b, int off, int len) {
            if (jam) {
                try {
                    release.await();
                } catch (InterruptedException e) {
                    Thread.currentThread().interrupt();
                }
            }
            synchronized (bytes) {
                bytes.write(b, off, len);
            }
        }
    }

    @Test
    void anIdleLoopIsAliveAndGetsPingedAStuckOneIsNot() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var jammed = new Jammed();
        var loopLog = new EventLog(new PrintStream(jammed, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.DEBUG);
        var watchdogOut = new ByteArrayOutputStream();
        var watchdogLog = new EventLog(new PrintStream(watchdogOut, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.INFO);
        var notifier = new RecordingNotifier();
        var heartbeat = new LoopHeartbeat();
        var source = new Handed();
        var supervisor = new Supervisor(source, new Topology(new Sysfs(host.sys())), new Supervisor.Settings(Rig.timeouts(1000, 0), false),
                loopLog, r -> {}, Optional.empty(), notifier, heartbeat);
        var loop = Thread.ofPlatform().start(() -> {
            try {
                supervisor.run();
            } catch (java.io.IOException e) {
                throw new RuntimeException(e);
            }
        });
        var interval = Duration.ofMillis(200);
        // as under systemd, the watchdog starts at READY: a loaded machine's start-up is not the loop being stuck
        long ready = System.nanoTime() + WAIT.toNanos();
        while (notifier.states.stream().noneMatch(st -> st.startsWith("READY=1")) && System.nanoTime() < ready) Thread.sleep(5);
        assertThat(notifier.states).anyMatch(st -> st.startsWith("READY=1"));
        try (var watchdog = new Watchdog(heartbeat, interval, notifier, watchdogLog)) {
            watchdog.start();
            // idle: blocked in receive for several intervals, and pinged every half interval all the same
            Thread.sleep(interval.toMillis() * 4);
            assertThat(heartbeat.alive(interval)).isTrue();
            assertThat(notifier.pings()).isGreaterThanOrEqualTo(5);

            // stuck: the loop takes an event and its debug line blocks on the jammed output
            jammed.jam = true;
            var fields = new LinkedHashMap<String, String>();
            fields.put("SUBSYSTEM", "drm");
            fields.put("SEQNUM", "7");
            source.queue.add(new Delivery.Received(Uevent.of("change", host.gpus().get(0).devpath() + "/drm/card0", fields), System.nanoTime()));
            long deadline = System.nanoTime() + WAIT.toNanos();
            while (heartbeat.alive(interval) && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(heartbeat.alive(interval)).isFalse();
            Thread.sleep(interval.toMillis()); // a tick or two after the stall was seen
            long pingsWhileStuck = notifier.pings();
            Thread.sleep(interval.toMillis() * 2);
            assertThat(notifier.pings()).as("no ping while the loop is stuck").isEqualTo(pingsWhileStuck);
            assertThat(watchdogOut.toString(StandardCharsets.UTF_8)).containsOnlyOnce("watchdog-withheld");

            // unjammed: back in receive, pinged again
            jammed.release.countDown();
            deadline = System.nanoTime() + WAIT.toNanos();
            while (notifier.pings() == pingsWhileStuck && System.nanoTime() < deadline) Thread.sleep(10);
            assertThat(notifier.pings()).isGreaterThan(pingsWhileStuck);
            assertThat(watchdogOut.toString(StandardCharsets.UTF_8)).contains("watchdog-resumed");
        } finally {
            jammed.release.countDown();
            supervisor.stop();
            loop.join(10_000);
        }
        assertThat(heartbeat.hasEnded()).isTrue();
        assertThat(heartbeat.alive(interval)).isFalse();
    }

    @Test
    void theHeartbeatSaysWhatStuckMeans() {
        long[] now = {0};
        var hb = new LoopHeartbeat(() -> now[0]);
        var limit = Duration.ofSeconds(30);
        assertThat(hb.alive(limit)).as("start-up is work, within the limit").isTrue();
        now[0] = Duration.ofSeconds(31).toNanos();
        assertThat(hb.alive(limit)).as("start-up past the limit").isFalse();
        hb.waiting();
        now[0] += Duration.ofDays(3).toNanos();
        assertThat(hb.alive(limit)).as("waiting in receive for days is healthy").isTrue();
        hb.working();
        now[0] += Duration.ofSeconds(29).toNanos();
        assertThat(hb.alive(limit)).isTrue();
        assertThat(hb.busyFor()).isEqualTo(Duration.ofSeconds(29));
        now[0] += Duration.ofSeconds(1).toNanos();
        assertThat(hb.alive(limit)).as("working on one delivery for the whole interval").isFalse();
        hb.waiting();
        assertThat(hb.alive(limit)).isTrue();
        assertThat(hb.beats()).isEqualTo(2);
        hb.ended();
        assertThat(hb.alive(limit)).isFalse();
    }
}
