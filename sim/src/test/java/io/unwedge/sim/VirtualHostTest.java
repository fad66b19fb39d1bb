package io.unwedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class VirtualHostTest {

    @TempDir Path dir;

    @Test
    void laysOutTheTreeOfARealHostWithASwitchAboveEachGpu() throws IOException {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.XE, 0);
        Path sys = host.sys();

        // the xe capture's path: root port, switch upstream, switch downstream, GPU
        Path gpu0 = sys.resolve("devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0");
        assertThat(gpu0).isDirectory();
        assertThat(Files.readString(gpu0.resolve("vendor"))).isEqualTo("0x8086\n");
        assertThat(Files.readString(gpu0.resolve("device"))).isEqualTo("0xe20b\n");
        assertThat(Files.readString(gpu0.resolve("class"))).isEqualTo("0x030000\n");
        assertThat(Files.readString(gpu0.resolve("uevent"))).contains("DRIVER=xe\n", "PCI_SLOT_NAME=0000:03:00.0\n", "PCI_ID=8086:E20B\n");
        assertThat(gpu0.resolve("driver").toRealPath()).isEqualTo(sys.resolve("bus/pci/drivers/xe").toRealPath());
        assertThat(Files.readSymbolicLink(gpu0.resolve("driver")).isAbsolute()).as("links are relative, as in sysfs").isFalse();

        assertThat(sys.resolve("class/drm/card0").toRealPath()).isEqualTo(gpu0.resolve("drm/card0").toRealPath());
        assertThat(sys.resolve("class/drm/renderD128").toRealPath()).isEqualTo(gpu0.resolve("drm/renderD128").toRealPath());
        assertThat(sys.resolve("class/drm/card0-DP-1").toRealPath()).isEqualTo(gpu0.resolve("drm/card0/card0-DP-1").toRealPath());
        assertThat(sys.resolve("class/drm/version")).isRegularFile();
        assertThat(Files.readString(gpu0.resolve("drm/card0/dev"))).isEqualTo("226:0\n");
        assertThat(gpu0.resolve("drm/card0/device").toRealPath()).isEqualTo(gpu0.toRealPath());

        assertThat(sys.resolve("bus/pci/devices/0000:03:00.0").toRealPath()).isEqualTo(gpu0.toRealPath());
        assertThat(sys.resolve("bus/pci/devices/0000:02:01.0")).exists();
        assertThat(sys.resolve("bus/pci/drivers/xe/0000:06:00.0").toRealPath())
                .isEqualTo(sys.resolve("devices/pci0000:00/0000:00:01.1/0000:04:00.0/0000:05:01.0/0000:06:00.0").toRealPath());
        assertThat(Files.isRegularFile(sys.resolve("bus/pci/drivers/xe/bind"))).as("bind is a FIFO, one write one request").isFalse();
        assertThat(sys.resolve("bus/pci/drivers/xe/bind")).exists();
        assertThat(host.dev().resolve("dri/card1")).exists();
        assertThat(host.dev().resolve("dri/renderD129")).exists();

        assertThat(host.gpus()).extracting(SimGpu::bdf).containsExactly(
                PciAddress.parse("0000:03:00.0").orElseThrow(), PciAddress.parse("0000:06:00.0").orElseThrow());
    }

    @Test
    void eachCardHasItsAudioFunctionResetAttributesAndASlotOnItsRootPort() throws IOException {
        var host = VirtualHost.create(dir.resolve("h"), 2, GpuModel.AMDGPU, 0);
        Path sys = host.sys();
        Path gpu = sys.resolve("devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0");
        Path audio = gpu.resolveSibling("0000:03:00.1");
        assertThat(Files.readString(audio.resolve("class"))).isEqualTo("0x040300\n");
        assertThat(Files.readString(audio.resolve("vendor"))).isEqualTo("0x1002\n");
        assertThat(Files.readString(audio.resolve("device"))).isEqualTo("0xab30\n");
        assertThat(Files.readString(audio.resolve("uevent"))).contains("DRIVER=snd_hda_intel\n", "PCI_CLASS=40300\n", "PCI_SLOT_NAME=0000:03:00.1\n");
        assertThat(audio.resolve("driver").toRealPath()).isEqualTo(sys.resolve("bus/pci/drivers/snd_hda_intel").toRealPath());
        assertThat(sys.resolve("bus/pci/drivers/snd_hda_intel/0000:03:00.1").toRealPath()).isEqualTo(audio.toRealPath());
        assertThat(sys.resolve("bus/pci/devices/0000:03:00.1").toRealPath()).isEqualTo(audio.toRealPath());
        for (var fifo : List.of(sys.resolve("bus/pci/drivers/snd_hda_intel/bind"), sys.resolve("bus/pci/drivers/snd_hda_intel/unbind"),
                gpu.resolve("remove"), gpu.resolve("reset"), audio.resolve("remove"), sys.resolve("bus/pci/rescan"),
                sys.resolve("bus/pci/slots/1/power"))) {
            assertThat(fifo).exists();
            assertThat(Files.isRegularFile(fifo)).as(fifo + " is a FIFO: one write, one request").isFalse();
        }
        assertThat(audio.resolve("reset")).as("resets are the GPU's").doesNotExist();
        assertThat(Files.readString(gpu.resolve("reset_method"))).isEqualTo("flr\n");
        assertThat(Files.readString(sys.resolve("bus/pci/slots/1/address"))).isEqualTo("0000:01:00\n");
        assertThat(Files.readString(sys.resolve("bus/pci/slots/2/address"))).isEqualTo("0000:04:00\n");
        assertThat(host.slotDir(host.gpus().get(1))).contains(sys.resolve("bus/pci/slots/2"));
        assertThat(host.gpus().get(0).audioBdf()).contains(PciAddress.parse("0000:03:00.1").orElseThrow());
        assertThat(host.gpus().get(0).bridgesInSlot()).extracting(PciAddress::toString).containsExactly("0000:01:00.0", "0000:02:01.0");
        assertThat(Files.readString(gpu.resolve("subsystem_vendor"))).isEqualTo(Files.readString(audio.resolve("subsystem_vendor")));
        assertThat(sys.resolve("class/devcoredump")).isDirectory();
        assertThat(host.devcoredumps()).isEmpty();
        assertThat(host.isPresent(PciAddress.parse("0000:03:00.1").orElseThrow())).isTrue();
        assertThat(host.driverOf(PciAddress.parse("0000:06:00.1").orElseThrow())).contains("snd_hda_intel");
    }

    @Test
    void optionsLeaveOutTheAudioTheResetAndTheSlots() throws IOException {
        var host = VirtualHost.create(dir.resolve("h"), 1, GpuModel.XE, 0, new VirtualHost.Options(false, false, false));
        Path gpu = host.functionDir(host.gpus().get(0));
        assertThat(gpu.resolveSibling("0000:03:00.1")).doesNotExist();
        assertThat(host.sys().resolve("bus/pci/drivers/snd_hda_intel")).doesNotExist();
        assertThat(gpu.resolve("reset")).doesNotExist();
        assertThat(gpu.resolve("reset_method")).doesNotExist();
        assertThat(gpu.resolve("remove")).exists();
        try (var slots = Files.list(host.sys().resolve("bus/pci/slots"))) {
            assertThat(slots).isEmpty();
        }
        var opened = VirtualHost.open(dir.resolve("h"));
        assertThat(opened.gpus()).isEqualTo(host.gpus());
        assertThat(opened.gpus().get(0).audio()).isFalse();
        assertThat(opened.gpus().get(0).slot()).isEmpty();
        // alone on its bus, the GPU offers a bus reset too
        var alone = VirtualHost.create(dir.resolve("alone"), 1, GpuModel.XE, 0, new VirtualHost.Options(false, true, true));
        assertThat(Files.readString(alone.functionDir(alone.gpus().get(0)).resolve("reset_method"))).isEqualTo("flr bus\n");
    }

    @Test
    void aHostDescribedBeforeAudioResetsAndSlotsExistedOpensWithoutThem() throws IOException {
        Path root = Files.createDirectories(dir.resolve("old/sim"));
        Files.writeString(root.resolve("host.properties"), """
                gpus=1
                firstCard=0
                gpu.0.bdf=0000:03:00.0
                gpu.0.driver=xe
                gpu.0.bridges=0000:00:01.0,0000:01:00.0,0000:02:01.0
                gpu.0.hostBridge=pci0000:00
                """);
        var g = VirtualHost.open(dir.resolve("old")).gpus().get(0);
        assertThat(g.audio()).isFalse();
        assertThat(g.reset()).isFalse();
        assertThat(g.slot()).isEmpty();
        Files.writeString(root.resolve("host.properties"), "gpus=1\ngpu.0.bdf=0000:03:00.0\ngpu.0.driver=nouveau\ngpu.0.bridges=0000:00:01.0\n");
        assertThatThrownBy(() -> VirtualHost.open(dir.resolve("old"))).hasMessageContaining("damaged").hasMessageContaining("unknown driver nouveau");
    }

    @Test
    void reopensWhatItCreated() throws IOException {
        var made = VirtualHost.create(dir.resolve("h"), 3, GpuModel.AMDGPU, 10);
        var opened = VirtualHost.open(dir.resolve("h"));
        assertThat(opened.gpus()).isEqualTo(made.gpus());
        assertThat(opened.firstCard()).isEqualTo(10);
        assertThat(opened.cardOf(opened.gpus().get(2))).isEqualTo("card12");
    }

    @Test
    void refusesANonEmptyDirectoryAndTheRealTrees() throws IOException {
        Files.writeString(dir.resolve("something"), "x");
        assertThatThrownBy(() -> VirtualHost.create(dir, 1, GpuModel.XE, 0)).isInstanceOf(FileAlreadyExistsException.class);
        assertThatThrownBy(() -> VirtualHost.create(Path.of("/sys/unwedge-test"), 1, GpuModel.XE, 0)).hasMessageContaining("real /sys");
        assertThatThrownBy(() -> VirtualHost.create(Path.of("/"), 1, GpuModel.XE, 0)).hasMessageContaining("refusing");
        assertThatThrownBy(() -> VirtualHost.open(dir)).hasMessageContaining("not a virtual host");
    }
}
