package io.unwedge.sim;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
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
