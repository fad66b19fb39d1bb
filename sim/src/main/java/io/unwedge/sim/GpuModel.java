package io.unwedge.sim;

import java.util.Locale;
import java.util.Optional;

/** The PCI identity of the virtual GPUs each driver gets: real parts, so a tree looks like a real host's. */
public enum GpuModel {
    /** Intel Arc B580 (Battlemage), the xe capture's kind of card */
    XE("xe", 0x8086, 0xe20b, 0x8086, 0x1100),
    /** Intel Arc A770 (DG2) */
    I915("i915", 0x8086, 0x56a0, 0x8086, 0x1020),
    /** AMD Radeon RX 7900 XTX (Navi 31) */
    AMDGPU("amdgpu", 0x1002, 0x744c, 0x1002, 0x0e3b);

    public final String driver;
    public final int vendor;
    public final int device;
    public final int subsystemVendor;
    public final int subsystemDevice;

    GpuModel(String driver, int vendor, int device, int subsystemVendor, int subsystemDevice) {
        this.driver = driver;
        this.vendor = vendor;
        this.device = device;
        this.subsystemVendor = subsystemVendor;
        this.subsystemDevice = subsystemDevice;
    }

    public static Optional<GpuModel> ofDriver(String driver) {
        for (var m : values()) if (m.driver.equals(driver)) return Optional.of(m);
        return Optional.empty();
    }

    /** The PCI function's uevent keys, as drivers/pci/pci-driver.c:pci_uevent() writes them. */
    String pciId() {
        return String.format(Locale.ROOT, "%04X:%04X", vendor, device);
    }

    String subsysId() {
        return String.format(Locale.ROOT, "%04X:%04X", subsystemVendor, subsystemDevice);
    }

    String modalias() {
        return String.format(Locale.ROOT, "pci:v%08Xd%08Xsv%08Xsd%08Xbc03sc00i00", vendor, device, subsystemVendor, subsystemDevice);
    }
}
