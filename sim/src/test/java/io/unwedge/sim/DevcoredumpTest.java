package io.unwedge.sim;

import static io.unwedge.sim.SimHarness.WAIT;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class DevcoredumpTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();

    @TempDir Path dir;

    private SimHarness harness(Duration expiry) throws Exception {
        return SimHarness.inProcess(dir, 2, GpuModel.XE, VirtualHost.Options.DEFAULT, new DriverModel.Settings(Duration.ofMillis(20), expiry));
    }

    @Test
    void aDumpIsLaidOutAsDevcoredumpLaysItOutAndAWriteToDataFreesIt() throws Exception {
        try (var h = harness(Duration.ofMinutes(10))) {
            assertThat(h.model.devcoredump("card0", 1000)).contains("devcd1");
            var add = h.next(1, "the dump's add").getFirst();
            assertThat(add.action()).isEqualTo("add");
            assertThat(add.devpath()).isEqualTo("/devices/virtual/devcoredump/devcd1");
            assertThat(add.subsystem()).isEqualTo("devcoredump");

            Path devcd = h.host.sys().resolve("devices/virtual/devcoredump/devcd1");
            assertThat(h.host.devcoredumps()).containsExactly(devcd);
            byte[] data = Files.readAllBytes(devcd.resolve("data"));
            assertThat(data).hasSize(1000);
            assertThat(new String(data, StandardCharsets.US_ASCII)).contains("device: 0000:03:00.0\n", "card: card0\n", "module: xe\n");
            assertThat(devcd.resolve("failing_device").toRealPath()).isEqualTo(h.fn(0).toRealPath());
            assertThat(h.host.sys().resolve("class/devcoredump/devcd1").toRealPath()).isEqualTo(devcd.toRealPath());
            assertThat(h.fn(0).resolve("devcoredump").toRealPath()).as("xe's card0/device/devcoredump").isEqualTo(devcd.toRealPath());
            assertThat(h.host.devcoredumpOf(h.gpu(0), GPU)).contains(devcd);
            assertThat(h.model.devcoredumpOf(GPU)).contains("devcd1");

            h.write(devcd.resolve("data"), "1");
            var remove = h.next(1, "the dump's remove").getFirst();
            assertThat(remove.action()).isEqualTo("remove");
            assertThat(remove.devpath()).isEqualTo("/devices/virtual/devcoredump/devcd1");
            assertThat(devcd).doesNotExist();
            assertThat(h.host.sys().resolve("class/devcoredump/devcd1")).doesNotExist();
            assertThat(Files.exists(h.fn(0).resolve("devcoredump"), java.nio.file.LinkOption.NOFOLLOW_LINKS)).isFalse();
            h.lines.await("devcoredump devcd1 freed: data written", WAIT);

            // the counter only grows, and the same device and size give the same bytes
            assertThat(h.model.devcoredump("card0", 1000)).contains("devcd2");
            h.next(1, "the second dump");
            assertThat(Files.readAllBytes(h.host.sys().resolve("devices/virtual/devcoredump/devcd2/data"))).isEqualTo(data);
        }
    }

    @Test
    void aSecondDumpWhileOneIsUnreadIsDiscardedAndReadingOrOpeningWithoutWritingFreesNothing() throws Exception {
        try (var h = harness(Duration.ofMinutes(10))) {
            assertThat(h.model.devcoredump("card0", 64)).contains("devcd1");
            h.next(1, "add");
            Path data = h.host.sys().resolve("devices/virtual/devcoredump/devcd1/data");
            Files.readAllBytes(data);
            FileChannel.open(data, StandardOpenOption.WRITE).close(); // opened for writing, nothing written
            assertThat(h.model.devcoredump("card0", 64)).as("discarded: devcd1 is still there").isEmpty();
            h.lines.await("discarded: devcd1 is still unread", WAIT);
            // another device may have its own
            assertThat(h.model.devcoredump("card1", 64)).contains("devcd2");
            var next = h.next(1, "card1's dump").getFirst();
            assertThat(next.devpath()).as("no event for the discarded one").endsWith("/devcd2");
            assertThatThrownBy(() -> h.model.devcoredump("card0", -1)).hasMessageContaining("not -1");
        }
    }

    @Test
    void anUnreadDumpExpires() throws Exception {
        try (var h = harness(Duration.ofMillis(300))) {
            long t0 = System.nanoTime();
            h.model.devcoredump("card1", 10);
            assertThat(h.next(1, "add").getFirst().action()).isEqualTo("add");
            var remove = h.next(1, "the expiry's remove").getFirst();
            long ms = (System.nanoTime() - t0) / 1_000_000;
            assertThat(remove.action()).isEqualTo("remove");
            assertThat(ms).as("not before its expiry").isGreaterThanOrEqualTo(290);
            assertThat(h.host.devcoredumps()).isEmpty();
            h.lines.await("devcoredump devcd1 freed: expired", WAIT);
        }
    }

    @Test
    void aWedgeCanTakeADumpFirstAsXeDoes() throws Exception {
        try (var h = harness(Duration.ofMinutes(10))) {
            String answer = SimControl.request(h.host, java.util.Map.of("op", "wedge", "card", "card0", "methods", "rebind,bus-reset",
                    "devcoredump", "4096"), WAIT);
            assertThat(answer).isEqualTo("WEDGED=rebind,bus-reset devcd1");
            var events = h.next(2, "dump, then wedge");
            assertThat(events.get(0).subsystem()).isEqualTo("devcoredump");
            assertThat(events.get(1).get("WEDGED")).isEqualTo("rebind,bus-reset");
            assertThat(Files.size(h.host.sys().resolve("devices/virtual/devcoredump/devcd1/data"))).isEqualTo(4096);
            assertThat(h.model.wedge("card1", List.of(RecoveryMethod.REBIND), Optional.empty(), 10)).isEqualTo("rebind devcd2");
            assertThat(SimControl.request(h.host, java.util.Map.of("op", "devcoredump", "card", "card1", "bytes", "8"), WAIT))
                    .isEqualTo("discarded: card1 has an unread devcoredump");
            assertThatThrownBy(() -> SimControl.request(h.host, java.util.Map.of("op", "devcoredump", "card", "card1", "bytes", "many"), WAIT))
                    .hasMessageContaining("bytes must be a whole number, not 'many'");
        }
    }

    @Test
    void dumpsAnEarlierRunLeftAreTakenOverAndNumberedPast() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        var bus = new io.unwedge.host.netlink.InProcessUevents();
        var tap = new EventTap(bus.subscribe());
        var settings = new DriverModel.Settings(Duration.ZERO, Duration.ofMinutes(10));
        try {
            try (var model = new DriverModel(host, bus.sink(), settings, new Lines())) {
                model.start();
                model.devcoredump("card0", 10);
                tap.next(WAIT, "add");
            }
            try (var model = new DriverModel(host, bus.sink(), settings, new Lines())) {
                model.start();
                assertThat(model.devcoredumpOf(GPU)).contains("devcd1");
                io.unwedge.host.sysfs.Sysfs.writeAttribute(host.devcoredumps().getFirst().resolve("data"), "x");
                assertThat(tap.next(WAIT, "remove").action()).isEqualTo("remove");
                assertThat(model.devcoredump("card0", 10)).contains("devcd2");
            }
        } finally {
            tap.close();
        }
    }
}
