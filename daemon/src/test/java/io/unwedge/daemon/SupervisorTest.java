package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.UeventSource;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import io.unwedge.sim.GpuModel;
import io.unwedge.sim.VirtualHost;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayDeque;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the event loop does with deliveries the kernel path cannot produce on demand: an overflow and
 * dropped messages. A scripted source stands in for the socket here; the socket's own detection of
 * ENOBUFS and spoofing is tested against the real kernel in the host module.
 */
class SupervisorTest {

    @TempDir Path dir;

    /** Hands out a fixed list of deliveries, then Closed. */
    static final class Scripted implements UeventSource {
        private final ArrayDeque<Delivery> script;

        Scripted(List<Delivery> script) {
            this.script = new ArrayDeque<>(script);
        }

        @Override
        public Delivery receive() {
            var d = script.poll();
            return d == null ? new Delivery.Closed() : d;
        }

        @Override
        public void close() {
            script.clear();
        }
    }

    @Test
    void anOverflowIsCountedAndTriggersAResyncAndDropsAreCountedByKind() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.AMDGPU, 0);
        var out = new ByteArrayOutputStream();
        var log = new EventLog(new PrintStream(out, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.INFO);
        var fields = new LinkedHashMap<String, String>();
        fields.put("SUBSYSTEM", "drm");
        fields.put("HOTPLUG", "1");
        fields.put("SEQNUM", "9");
        var reports = new ArrayList<RecoveryReport>();
        var supervisor = new Supervisor(new Scripted(List.of(
                new Delivery.Dropped(Delivery.Kind.SPOOFED, "sender port 4242"),
                new Delivery.Dropped(Delivery.Kind.MALFORMED, "no-header: no action@/devpath header"),
                new Delivery.Overflow(),
                new Delivery.Received(Uevent.of("change", host.gpus().get(0).devpath() + "/drm/card0", fields), System.nanoTime()))),
                new Topology(new Sysfs(host.sys())), new Supervisor.Settings(Rig.timeouts(1000, 0), false), log, reports::add, java.util.Optional.empty());
        supervisor.run();

        var stats = supervisor.stats();
        assertThat(stats.overflows()).isEqualTo(1);
        assertThat(stats.spoofed()).isEqualTo(1);
        assertThat(stats.malformed()).isEqualTo(1);
        assertThat(stats.events()).isEqualTo(1);
        assertThat(stats.wedges()).isZero();
        assertThat(reports).isEmpty();
        String text = out.toString(StandardCharsets.UTF_8);
        assertThat(text).contains("uevent-dropped kind=SPOOFED", "ignoring message", "error netlink-overflow cards=card0,card1 ",
                "resync cards=2", "card0 0000:03:00.0 driver=amdgpu", "daemon-stop events=1 wedges=0");
    }
}
