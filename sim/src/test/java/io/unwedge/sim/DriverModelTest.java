package io.unwedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.TaskInfo;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.host.netlink.InProcessUevents;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver model against the in-process event path; the kernel path is covered in the daemon's end-to-end tests. */
class DriverModelTest {

    static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir Path dir;
    VirtualHost host;
    DriverModel model;
    EventTap tap;
    final List<String> lines = new CopyOnWriteArrayList<>();

    @BeforeEach
    void start() throws Exception {
        host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        var bus = new InProcessUevents();
        tap = new EventTap(bus.subscribe());
        model = new DriverModel(host, bus.sink(), Duration.ofMillis(20), lines::add);
        model.start();
    }

    @AfterEach
    void stop() throws Exception {
        model.close();
        tap.close();
    }

    private void write(String attribute, String value) throws Exception {
        Files.writeString(host.sys().resolve("bus/pci/drivers/xe").resolve(attribute), value);
    }

    @Test
    void wedgeSendsExactlyTheKernelsEvent() throws Exception {
        model.wedge("card1", List.of(RecoveryMethod.BUS_RESET, RecoveryMethod.REBIND), Optional.of(new TaskInfo(4242, "glxgears")));
        var u = tap.next(WAIT, "the wedged uevent");
        assertThat(u.action()).isEqualTo("change");
        assertThat(u.devpath()).isEqualTo("/devices/pci0000:00/0000:00:01.1/0000:04:00.0/0000:05:01.0/0000:06:00.0/drm/card1");
        assertThat(u.fields().sequencedKeySet()).containsExactly(
                "ACTION", "DEVPATH", "SUBSYSTEM", "WEDGED", "PID", "TASK", "MAJOR", "MINOR", "DEVNAME", "DEVTYPE", "SEQNUM");
        assertThat(u.fields()).containsEntry("WEDGED", "rebind,bus-reset").containsEntry("MINOR", "1")
                .containsEntry("DEVNAME", "dri/card1").containsEntry("DEVTYPE", "drm_minor").containsEntry("PID", "4242");
        assertThat(WedgedEvent.recognise(u)).isInstanceOf(WedgedEvent.Wedged.class);

        assertThatThrownBy(() -> model.wedge("card1", List.of(RecoveryMethod.REBIND), Optional.empty()))
                .hasMessageContaining("already wedged");
        assertThatThrownBy(() -> model.wedge("card7", List.of(RecoveryMethod.REBIND), Optional.empty()))
                .hasMessageContaining("no bound GPU has card7");
    }

    @Test
    void aListTooLongForTheKernelsBufferIsCutAsTheKernelCutsIt() throws Exception {
        model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET, RecoveryMethod.VENDOR_SPECIFIC), Optional.empty());
        var u = tap.next(WAIT, "the wedged uevent");
        assertThat(u.get("WEDGED")).isEqualTo("rebind,bus-reset,vendor").hasSize(23);
        assertThat(((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event().methods()).containsExactly(RecoveryMethod.UNKNOWN);
    }

    @Test
    void unbindRemovesMinorsThenSaysUnbindAndBindBringsThemBack() throws Exception {
        model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
        tap.next(WAIT, "wedge");
        write("unbind", "0000:03:00.0\n");
        var removed = tap.next(4, WAIT, "unbind's uevents");
        assertThat(removed).extracting(Uevent::action).containsExactly("remove", "remove", "remove", "unbind");
        assertThat(removed.get(3).fields()).containsEntry("SUBSYSTEM", "pci").doesNotContainKey("DRIVER");
        assertThat(removed).extracting(u -> u.devpath().replaceAll(".*/", "")).containsExactly("card0-DP-1", "card0", "renderD128", "0000:03:00.0");
        var gpu = host.gpus().get(0);
        assertThat(host.isBound(gpu)).isFalse();
        assertThat(host.sys().resolve("class/drm/card0")).doesNotExist();
        assertThat(host.dev().resolve("dri/card0")).doesNotExist();
        assertThat(model.wedgedWith(gpu.bdf())).as("unbind ends the wedge").isEmpty();

        write("bind", "0000:03:00.0\n");
        var added = tap.next(4, WAIT, "bind's uevents");
        assertThat(added).extracting(Uevent::action).containsExactly("add", "add", "add", "bind");
        assertThat(added.get(3).fields()).containsEntry("DRIVER", "xe");
        assertThat(host.cardOf(gpu)).as("the lowest free number again").isEqualTo("card0");
        assertThat(host.sys().resolve("class/drm/card0")).exists();
    }

    @Test
    void twoWritersRacingOnOneDriverAreTwoRequests() throws Exception {
        var a = Thread.ofVirtual().start(() -> write0("unbind", "0000:03:00.0\n"));
        var b = Thread.ofVirtual().start(() -> write0("unbind", "0000:06:00.0\n"));
        a.join();
        b.join();
        var events = tap.next(8, WAIT, "both unbinds");
        assertThat(events).filteredOn(u -> u.action().equals("unbind")).hasSize(2);
        assertThat(host.gpus()).noneMatch(host::isBound);
    }

    @Test
    void aFailingProbeLeavesTheDeviceUnboundAndSaysSo() throws Exception {
        var gpu = host.gpus().get(1);
        model.failProbes(gpu.bdf(), 1);
        write("unbind", gpu.bdf() + "\n");
        tap.next(4, WAIT, "unbind");
        write("bind", gpu.bdf() + "\n");
        // the failed probe sends nothing; the second bind works
        write("bind", gpu.bdf() + "\n");
        var added = tap.next(4, WAIT, "the second bind");
        assertThat(added.getLast().action()).isEqualTo("bind");
        assertThat(Files.readString(host.simDir().resolve("errors.log"))).contains("probe failed: EIO");
    }

    @Test
    void nonsenseWritesAreRefusedAsTheKernelWouldAndLogged() throws Exception {
        write("unbind", "0000:09:00.0\n");
        write("bind", "0000:03:00.0\n"); // already bound: EBUSY
        write("unbind", "not-a-bdf\n");
        Path log = host.simDir().resolve("errors.log");
        long deadline = System.nanoTime() + WAIT.toNanos();
        while ((!Files.exists(log) || Files.readAllLines(log).size() < 3) && System.nanoTime() < deadline) Thread.sleep(10);
        String errors = Files.readString(log);
        assertThat(errors).contains("bind 0000:03:00.0: EBUSY");
        assertThat(errors).contains("unbind 0000:09:00.0: ENODEV").contains("unbind not-a-bdf: ENODEV");
        assertThat(host.gpus()).allMatch(host::isBound);
    }

    @Test
    void requestsFromOtherProcessesAreAnswered() throws Exception {
        String answer = SimControl.request(host, Map.of("op", "wedge", "card", "card0", "methods", "rebind"), WAIT);
        assertThat(answer).isEqualTo("WEDGED=rebind");
        assertThat(tap.next(WAIT, "wedge").get("WEDGED")).isEqualTo("rebind");
        assertThatThrownBy(() -> SimControl.request(host, Map.of("op", "wedge", "card", "card9", "methods", "rebind"), WAIT))
                .isInstanceOf(SimException.class).hasMessageContaining("card9");
        assertThatThrownBy(() -> SimControl.request(host, Map.of("op", "explode"), WAIT)).hasMessageContaining("unknown request op");
    }

    private void write0(String attribute, String value) {
        try {
            write(attribute, value);
        } catch (Exception e) {
            throw new RuntimeException(e);
        }
    }
}
