package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import java.util.List;

/**
 * One virtual GPU's fixed facts: where it sits in the PCI hierarchy and which driver owns it.
 *
 * @param bridges the PCI path from the host bridge down to the GPU's parent, e.g. root port,
 *                switch upstream port, switch downstream port (a discrete card behind a PCIe switch)
 */
public record SimGpu(PciAddress bdf, GpuModel model, List<PciAddress> bridges, String hostBridge) {
    public SimGpu {
        bridges = List.copyOf(bridges);
    }

    /** {@code devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0}, relative to the sysfs root. */
    public String sysPath() {
        var b = new StringBuilder("devices/").append(hostBridge);
        for (var bridge : bridges) b.append('/').append(bridge);
        return b.append('/').append(bdf).toString();
    }

    /** The DEVPATH the kernel puts in this function's uevents. */
    public String devpath() {
        return "/" + sysPath();
    }
}
