package io.unwedge.sim;

import static io.unwedge.sim.SimHarness.WAIT;
import static io.unwedge.sim.SimHarness.summary;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.host.netlink.InProcessUevents;
import io.unwedge.host.sysfs.Sysfs;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * What the PCI core and pciehp do on the virtual host: remove, rescan, function reset and reset_method,
 * slot power, the audio sibling, and the faults that make them fail. Uevents in process; the kernel path
 * of the same sequences is {@link KernelDeliveryTest}.
 */
class PciCoreTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final PciAddress AUDIO = PciAddress.parse("0000:03:00.1").orElseThrow();
    static final List<RecoveryMethod> BUS_RESET = List.of(RecoveryMethod.BUS_RESET);

    @TempDir Path dir;

    @Test
    void removeThenRescanIsTheKernelsSequenceAndTheFunctionIsProbedAgain() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.write(h.fn(0).resolve("remove"), "1");
            var removed = h.next(5, "remove");
            assertThat(summary(removed)).containsExactly(
                    "remove card0-DP-1", "remove card0", "remove renderD128", "unbind 0000:03:00.0", "remove 0000:03:00.0");
            assertThat(removed.getLast().fields()).containsEntry("SUBSYSTEM", "pci").containsEntry("PCI_SLOT_NAME", "0000:03:00.0");
            assertThat(h.fn(0)).doesNotExist();
            assertThat(h.host.sys().resolve("bus/pci/devices/0000:03:00.0")).doesNotExist();
            assertThat(Files.exists(h.host.sys().resolve("bus/pci/devices/0000:03:00.0"), LinkOption.NOFOLLOW_LINKS)).isFalse();
            assertThat(h.host.sys().resolve("bus/pci/drivers/xe/0000:03:00.0")).doesNotExist();
            assertThat(h.host.sys().resolve("class/drm/card0")).doesNotExist();
            assertThat(h.host.isPresent(GPU)).isFalse();
            assertThat(h.host.driverOf(AUDIO)).as("the sibling stays").contains("snd_hda_intel");

            h.write(h.pci("rescan"), "1\n");
            var added = h.next(5, "rescan");
            assertThat(summary(added)).containsExactly(
                    "add 0000:03:00.0", "add card0", "add renderD128", "add card0-DP-1", "bind 0000:03:00.0");
            assertThat(added.getFirst().fields()).containsEntry("SUBSYSTEM", "pci").containsEntry("PCI_CLASS", "30000")
                    .doesNotContainKey("DRIVER");
            assertThat(added.getLast().fields()).containsEntry("DRIVER", "xe");
            assertThat(h.host.cardOf(h.gpu(0))).isEqualTo("card0");
            assertThat(Files.readString(h.fn(0).resolve("reset_method"))).isEqualTo("flr\n");

            // the new function's attributes are read again: a second remove works
            h.write(h.fn(0).resolve("remove"), "1");
            assertThat(summary(h.next(5, "second remove")).getLast()).isEqualTo("remove 0000:03:00.0");
        }
    }

    @Test
    void removingAnUnboundFunctionSendsOnlyItsRemoveAndNonsenseIsEinval() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.write(h.driver("snd_hda_intel", "unbind"), AUDIO + "\n");
            assertThat(summary(h.next(1, "audio unbind"))).containsExactly("unbind 0000:03:00.1");
            h.write(h.audio(0).resolve("remove"), "yes");
            assertThat(h.awaitError("remove 0000:03:00.1: EINVAL")).contains("not a number");
            h.write(h.audio(0).resolve("remove"), "1");
            assertThat(summary(h.next(1, "audio remove"))).containsExactly("remove 0000:03:00.1");
            assertThat(h.host.isPresent(AUDIO)).isFalse();
            assertThat(h.host.cardOf(h.gpu(0))).as("the GPU is untouched").isEqualTo("card0");
        }
    }

    @Test
    void aResetIsDoneBeforeABindWrittenAfterIt() throws Exception {
        // the hardware takes 300 ms for a reset; a bind processed before it would find the device hung
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.XE, VirtualHost.Options.DEFAULT, DriverModel.Settings.of(Duration.ofMillis(300)))) {
            h.model.wedge("card0", BUS_RESET, Optional.empty());
            h.next(1, "wedge");
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HUNG);
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(h.awaitError("bind 0000:03:00.0: probe failed: EIO")).contains("hung: it needs a reset");
            assertThat(h.host.isBound(h.gpu(0))).isFalse();

            h.write(h.fn(0).resolve("reset"), "1");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(summary(h.next(4, "bind after the reset")).getLast()).isEqualTo("bind 0000:03:00.0");
            assertThat(h.lines.indexOf("reset 0000:03:00.0 (flr)")).isGreaterThanOrEqualTo(0)
                    .isLessThan(h.lines.indexOf("bind 0000:03:00.0 to xe"));
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);
        }
    }

    @Test
    void aResetWhileBoundClearsTheHangButNotTheDriversWedge() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.wedge("card0", BUS_RESET, Optional.empty());
            h.next(1, "wedge");
            h.write(h.fn(0).resolve("reset"), "1");
            h.lines.await("the driver stays wedged until unbound", WAIT);
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);
            assertThat(h.model.wedgedWith(GPU)).contains("bus-reset");
            assertThat(h.tap.drain()).as("a reset says nothing on netlink").isEmpty();
            h.write(h.fn(0).resolve("reset"), "2");
            h.awaitError("reset 0000:03:00.0: EINVAL");

            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            assertThat(h.model.wedgedWith(GPU)).as("unbind ends the wedge").isEmpty();
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(summary(h.next(4, "bind")).getLast()).isEqualTo("bind 0000:03:00.0");
        }
    }

    @Test
    void removingTheSwitchTheSlotHoldsTakesEverythingBelowItAndRescanBringsItBack() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            var up = PciAddress.parse("0000:01:00.0").orElseThrow();
            Path upDir = h.host.functionDir(h.gpu(0), up);
            assertThat(h.host.functionDir(h.gpu(0), PciAddress.parse("0000:00:01.0").orElseThrow()).resolve("remove"))
                    .as("the root port carries the slot and has no remove here").doesNotExist();
            h.write(upDir.resolve("remove"), "1");
            assertThat(summary(h.next(9, "remove of the switch"))).containsExactly(
                    "unbind 0000:03:00.1", "remove card0-DP-1", "remove card0", "remove renderD128", "unbind 0000:03:00.0",
                    "remove 0000:03:00.0", "remove 0000:03:00.1", "remove 0000:02:01.0", "remove 0000:01:00.0");
            assertThat(upDir).doesNotExist();
            assertThat(h.model.isPowered(h.gpu(0))).as("a remove is no power-off").isTrue();
            h.write(h.pci("rescan"), "1");
            assertThat(summary(h.next(9, "rescan"))).containsExactly(
                    "add 0000:01:00.0", "add 0000:02:01.0", "add 0000:03:00.0", "add 0000:03:00.1",
                    "add card0", "add renderD128", "add card0-DP-1", "bind 0000:03:00.0", "bind 0000:03:00.1");
            // the port's remove is read again
            h.write(h.host.functionDir(h.gpu(0), PciAddress.parse("0000:02:01.0").orElseThrow()).resolve("remove"), "1");
            assertThat(summary(h.next(8, "remove of the downstream port")).getLast()).isEqualTo("remove 0000:02:01.0");
            assertThat(upDir).isDirectory();
        }
    }

    @Test
    void aResetUsesTheMethodsInForceWhenItWasWrittenNotARestoreWrittenJustAfter() throws Exception {
        // as a consumer does it: choose, reset, restore; on a real host the reset write returns when done
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.XE, new VirtualHost.Options(false, true, true), DriverModel.Settings.of(Duration.ofMillis(300)))) {
            Path rm = h.fn(0).resolve("reset_method");
            h.write(rm, "bus\n");
            h.lines.await("reset_method 0000:03:00.0: bus", WAIT);
            h.write(h.fn(0).resolve("reset"), "1\n");
            h.write(rm, "default\n"); // before the reset, which takes 300 ms, is done
            h.lines.await("reset 0000:03:00.0 (", WAIT);
            assertThat(h.lines.all()).contains("reset 0000:03:00.0 (bus)");
            assertThat(Files.readString(rm)).isEqualTo("flr bus\n");
        }
    }

    @Test
    void aRemoveAndRescanAlsoClearAHang() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.wedge("card0", BUS_RESET, Optional.empty());
            h.next(1, "wedge");
            h.write(h.fn(0).resolve("remove"), "1");
            h.next(5, "remove");
            h.write(h.pci("rescan"), "1");
            assertThat(summary(h.next(5, "rescan")).getLast()).isEqualTo("bind 0000:03:00.0");
            assertThat(h.model.wedgedWith(GPU)).isEmpty();
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);
        }
    }

    @Test
    void theSlotIsOnTheRootPortAndAPowerCycleRemovesAndEnumeratesEverythingBelowIt() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            assertThat(Files.readString(h.slot(0).resolve("address"))).isEqualTo("0000:01:00\n");
            h.write(h.slot(0).resolve("power"), "0");
            var off = h.next(9, "power off");
            assertThat(summary(off)).containsExactly(
                    "unbind 0000:03:00.1", "remove card0-DP-1", "remove card0", "remove renderD128", "unbind 0000:03:00.0",
                    "remove 0000:03:00.0", "remove 0000:03:00.1", "remove 0000:02:01.0", "remove 0000:01:00.0");
            assertThat(h.model.isPowered(h.gpu(0))).isFalse();
            assertThat(h.host.functionDir(h.gpu(0), PciAddress.parse("0000:01:00.0").orElseThrow())).doesNotExist();
            assertThat(h.host.functionDir(h.gpu(0), PciAddress.parse("0000:00:01.0").orElseThrow())).as("the port stays").isDirectory();
            for (var gone : List.of("0000:01:00.0", "0000:02:01.0", "0000:03:00.0", "0000:03:00.1")) {
                assertThat(Files.exists(h.host.sys().resolve("bus/pci/devices").resolve(gone), LinkOption.NOFOLLOW_LINKS)).as(gone).isFalse();
            }
            assertThat(Files.readString(h.host.simDir().resolve("powered-off"))).isEqualTo("1\n");

            h.write(h.slot(0).resolve("power"), "0");
            h.awaitError("power slot 1: ENODEV (already off)");
            h.write(h.pci("rescan"), "1"); // nothing below an unpowered slot comes back
            h.write(h.slot(0).resolve("power"), "1");
            var on = h.next(9, "power on");
            assertThat(summary(on)).as("the rescan before found nothing: power on's events come first").containsExactly(
                    "add 0000:01:00.0", "add 0000:02:01.0", "add 0000:03:00.0", "add 0000:03:00.1",
                    "add card0", "add renderD128", "add card0-DP-1", "bind 0000:03:00.0", "bind 0000:03:00.1");
            assertThat(on.get(0).fields()).containsEntry("PCI_CLASS", "60400");
            assertThat(on.get(8).fields()).containsEntry("DRIVER", "snd_hda_intel").containsEntry("PCI_CLASS", "40300");
            assertThat(h.model.isPowered(h.gpu(0))).isTrue();
            assertThat(Files.readString(h.host.simDir().resolve("powered-off"))).isEmpty();

            h.write(h.slot(0).resolve("power"), "1");
            h.awaitError("power slot 1: ENODEV (already on)");
            h.write(h.slot(0).resolve("power"), "2");
            h.awaitError("power slot 1: EINVAL");
            assertThat(h.tap.drain()).isEmpty();
        }
    }

    @Test
    void aPoweredOffSlotStaysOffWhenTheModelIsRestarted() throws Exception {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0);
        Path power = host.slotDir(host.gpus().get(0)).orElseThrow().resolve("power");
        var bus = new InProcessUevents();
        var tap = new EventTap(bus.subscribe());
        try {
            try (var model = new DriverModel(host, bus.sink(), Duration.ZERO, new Lines())) {
                model.start();
                Sysfs.writeAttribute(power, "0");
                tap.next(9, WAIT, "power off");
            }
            // `sim run` again: the tree cannot say the slot is off (power is a FIFO), sim/powered-off does
            try (var model = new DriverModel(host, bus.sink(), Duration.ZERO, new Lines())) {
                model.start();
                assertThat(model.isPowered(host.gpus().get(0))).isFalse();
                Sysfs.writeAttribute(power, "1");
                assertThat(summary(tap.next(9, WAIT, "power on after a restart")).getLast()).isEqualTo("bind 0000:03:00.1");
            }
        } finally {
            tap.close();
        }
    }

    @Test
    void deadUntilColdResetSurvivesResetsRebindsAndRescansButNotAPowerCycle() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.deadUntilColdReset(GPU);
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.lines.awaitCount("dead until a slot power cycle", 1, WAIT);
            h.write(h.fn(0).resolve("reset"), "1");
            h.lines.await("still dead", WAIT);
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.lines.awaitCount("dead until a slot power cycle", 2, WAIT);
            h.write(h.fn(0).resolve("remove"), "1");
            assertThat(summary(h.next(1, "remove"))).containsExactly("remove 0000:03:00.0");
            h.write(h.pci("rescan"), "1");
            assertThat(summary(h.next(1, "rescan"))).containsExactly("add 0000:03:00.0");
            h.lines.awaitCount("dead until a slot power cycle", 3, WAIT);
            assertThat(h.errors()).contains("rescan 0000:03:00.0: probe failed: EIO (the device is dead until a slot power cycle)");
            assertThat(h.host.isPresent(GPU)).isTrue();
            assertThat(h.host.isBound(h.gpu(0))).isFalse();
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.DEAD);

            h.write(h.slot(0).resolve("power"), "0");
            h.next(5, "power off"); // the audio's unbind, the four removes (the GPU was unbound)
            h.write(h.slot(0).resolve("power"), "1");
            assertThat(summary(h.next(9, "power on"))).contains("bind 0000:03:00.0", "add card0");
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);
        }
    }

    @Test
    void aColdResetWedgeLeavesTheDeviceDeadUntilAPowerCycle() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.wedge("card0", List.of(RecoveryMethod.COLD_RESET), Optional.empty());
            assertThat(h.next(1, "wedge").getFirst().get("WEDGED")).isEqualTo("cold-reset");
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.DEAD);
            h.write(h.fn(0).resolve("remove"), "1");
            h.next(5, "remove");
            h.write(h.slot(0).resolve("power"), "0");
            assertThat(summary(h.next(4, "power off"))).containsExactly(
                    "unbind 0000:03:00.1", "remove 0000:03:00.1", "remove 0000:02:01.0", "remove 0000:01:00.0");
            h.write(h.slot(0).resolve("power"), "1");
            h.next(9, "power on");
            assertThat(h.host.cardOf(h.gpu(0))).isEqualTo("card0");
        }
    }

    @Test
    void theAudioFunctionIsBoundAndUnboundByItsOwnDriverAlone() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            assertThat(h.host.driverOf(AUDIO)).contains("snd_hda_intel");
            h.write(h.driver("snd_hda_intel", "unbind"), AUDIO + "\n");
            var unbind = h.next(1, "audio unbind").getFirst();
            assertThat(unbind.action()).isEqualTo("unbind");
            assertThat(unbind.devpath()).isEqualTo("/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.1");
            assertThat(h.host.driverOf(AUDIO)).isEmpty();
            assertThat(Files.readString(h.audio(0).resolve("uevent"))).doesNotContain("DRIVER=");
            assertThat(h.host.cardOf(h.gpu(0))).isEqualTo("card0");

            h.write(h.driver("xe", "bind"), AUDIO + "\n");
            h.awaitError("bind 0000:03:00.1: ENODEV");
            h.write(h.driver("snd_hda_intel", "bind"), AUDIO + "\n");
            var bind = h.next(1, "audio bind").getFirst();
            assertThat(bind.fields()).containsEntry("DRIVER", "snd_hda_intel").containsEntry("PCI_CLASS", "40300")
                    .containsEntry("PCI_ID", "8086:E2F7");
            assertThat(Files.readString(h.audio(0).resolve("uevent"))).startsWith("DRIVER=snd_hda_intel\n");
            h.write(h.driver("snd_hda_intel", "bind"), AUDIO + "\n");
            h.awaitError("bind 0000:03:00.1: EBUSY");
        }
    }

    @Test
    void bothFunctionsOfACardShareOneWorker() throws Exception {
        // the reset takes 300 ms; the audio's remove, written after it, waits for it
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.XE, VirtualHost.Options.DEFAULT, DriverModel.Settings.of(Duration.ofMillis(300)))) {
            h.write(h.fn(0).resolve("reset"), "1");
            h.write(h.audio(0).resolve("remove"), "1");
            h.next(2, "the audio's unbind and remove");
            h.lines.await("remove 0000:03:00.1", WAIT);
            assertThat(h.lines.indexOf("reset 0000:03:00.0")).isGreaterThanOrEqualTo(0).isLessThan(h.lines.indexOf("remove 0000:03:00.1"));
        }
    }

    @Test
    void resetMethodIsCheckedAsTheKernelChecksIt() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            Path rm = h.fn(0).resolve("reset_method");
            assertThat(Files.readString(rm)).as("a bus reset is not offered beside a sibling").isEqualTo("flr\n");
            h.write(rm, "bogus\n");
            assertThat(h.awaitError("reset_method 0000:03:00.0: EINVAL")).contains("unknown reset method 'bogus'");
            assertThat(Files.readString(rm)).isEqualTo("flr\n");
            h.write(rm, "bus\n");
            h.awaitError("reset_method 0000:03:00.0: EINVAL (unsupported reset method 'bus')");
            assertThat(Files.readString(rm)).isEqualTo("flr\n");

            h.write(rm, "\n"); // echo > reset_method
            h.lines.await("(every method disabled)", WAIT);
            assertThat(Files.readString(rm)).isEmpty();
            h.write(h.fn(0).resolve("reset"), "1");
            h.awaitError("reset 0000:03:00.0: ENOTTY");

            h.write(rm, "default\n");
            h.lines.await("reset_method 0000:03:00.0: flr", WAIT);
            assertThat(Files.readString(rm)).isEqualTo("flr\n");
        }
    }

    @Test
    void aGpuAloneOnItsBusOffersABusResetAndTheChosenOrderIsUsed() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.XE, new VirtualHost.Options(false, true, true), DriverModel.Settings.of(Duration.ZERO))) {
            Path rm = h.fn(0).resolve("reset_method");
            assertThat(Files.readString(rm)).isEqualTo("flr bus\n");
            h.write(rm, "bus   flr");
            h.lines.await("reset_method 0000:03:00.0: bus flr", WAIT);
            assertThat(Files.readString(rm)).as("shown as the kernel shows it").isEqualTo("bus flr\n");
            h.write(h.fn(0).resolve("reset"), "1");
            h.lines.await("reset 0000:03:00.0 (bus)", WAIT);
        }
    }

    @Test
    void injectedWriteFailuresAreConsumedOnceAndNamed() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.wedge("card0", BUS_RESET, Optional.empty());
            h.next(1, "wedge");
            h.model.failWrite(GPU, "reset", "ENOTTY");
            h.write(h.fn(0).resolve("reset"), "1");
            assertThat(h.awaitError("reset 0000:03:00.0: ENOTTY")).contains("reset 0000:03:00.0: ENOTTY (injected fault)");
            assertThat(h.model.health(GPU)).as("the failed write did nothing").isEqualTo(DriverModel.Health.HUNG);
            h.write(h.fn(0).resolve("reset"), "1");
            h.lines.await("reset 0000:03:00.0 (flr)", WAIT);
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);

            h.model.failWrite(GPU, "remove", "EBUSY");
            h.write(h.fn(0).resolve("remove"), "1");
            h.awaitError("remove 0000:03:00.0: EBUSY (injected fault)");
            h.model.failWrite(GPU, "power", "ENODEV");
            h.write(h.slot(0).resolve("power"), "0");
            h.awaitError("power slot 1 (0000:03:00.0): ENODEV (injected fault)");
            h.model.failWrite(GPU, "unbind", "EIO");
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.awaitError("unbind 0000:03:00.0: EIO (injected fault)");
            assertThat(h.host.isPresent(GPU)).isTrue();
            assertThat(h.model.isPowered(h.gpu(0))).isTrue();
            assertThat(h.host.isBound(h.gpu(0))).isTrue();
            assertThat(h.tap.drain()).isEmpty();

            h.model.failWrite(GPU, "reset_method", "EPERM");
            h.write(h.fn(0).resolve("reset_method"), "default");
            h.awaitError("reset_method 0000:03:00.0: EPERM (injected fault)");
            assertThat(Files.readString(h.fn(0).resolve("reset_method"))).isEqualTo("flr\n");

            h.model.failWrite(GPU, "bind", "EBUSY");
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.awaitError("bind 0000:03:00.0: EBUSY (injected fault)");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(summary(h.next(4, "the bind after")).getLast()).isEqualTo("bind 0000:03:00.0");

            assertThatThrownBy(() -> h.model.failWrite(GPU, "frobnicate", "EBUSY")).hasMessageContaining("cannot fail writes to 'frobnicate'");
            assertThatThrownBy(() -> h.model.failWrite(GPU, "reset", "EWHAT")).hasMessageContaining("not an errno name: 'EWHAT'");
            assertThatThrownBy(() -> h.model.failWrite(AUDIO, "reset", "EIO")).hasMessageContaining("0000:03:00.1 has no reset");
        }
    }

    @Test
    void withoutAResetTheFunctionHasNeitherAttributeUntilTheFaultIsCleared() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.noReset(GPU);
            assertThat(h.fn(0).resolve("reset")).doesNotExist();
            assertThat(h.fn(0).resolve("reset_method")).doesNotExist();
            assertThatThrownBy(() -> h.model.failWrite(GPU, "reset", "EIO")).hasMessageContaining("has no reset");
            // a removed and rescanned function has no reset either: the fault is the hardware's
            h.write(h.fn(0).resolve("remove"), "1");
            h.next(5, "remove");
            h.write(h.pci("rescan"), "1");
            h.next(5, "rescan");
            assertThat(h.fn(0).resolve("reset")).doesNotExist();

            h.model.clearFaults(GPU);
            assertThat(Files.readString(h.fn(0).resolve("reset_method"))).isEqualTo("flr\n");
            h.write(h.fn(0).resolve("reset"), "1");
            h.lines.await("reset 0000:03:00.0 (flr)", WAIT);
        }
    }

    @Test
    void aHostMadeWithoutResetsOrSlotsHasNoneOfTheirAttributes() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.AMDGPU, new VirtualHost.Options(true, false, false), DriverModel.Settings.of(Duration.ZERO))) {
            assertThat(h.fn(0).resolve("reset")).doesNotExist();
            assertThat(h.fn(0).resolve("reset_method")).doesNotExist();
            assertThat(h.fn(0).resolve("remove")).exists();
            assertThat(h.host.slotDir(h.gpu(0))).isEmpty();
            try (var slots = Files.list(h.host.slotsDir())) {
                assertThat(slots).isEmpty();
            }
            assertThat(h.model.isPowered(h.gpu(0))).isTrue();
            assertThatThrownBy(() -> h.model.failWrite(GPU, "power", "EIO")).hasMessageContaining("in no slot");
            // without a slot, remove + rescan is the only way round
            h.write(h.fn(0).resolve("remove"), "1");
            h.next(5, "remove");
            h.write(h.pci("rescan"), "1");
            assertThat(summary(h.next(5, "rescan")).getLast()).isEqualTo("bind 0000:03:00.0");
        }
    }
}
