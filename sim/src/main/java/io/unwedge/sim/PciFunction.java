package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.Uevent;
import java.util.LinkedHashMap;
import java.util.Locale;
import java.util.Optional;

/**
 * What sysfs and the uevents say about one PCI function of the virtual host: a bridge, a GPU, or a
 * card's audio controller. The keys are those drivers/pci/pci-driver.c:pci_uevent() writes.
 *
 * @param sysPath relative to the sysfs root, {@code devices/pci0000:00/…/<BDF>}
 * @param driver  the driver that binds it when probed; empty for bridges (pcieport is not modelled)
 */
record PciFunction(PciAddress bdf, String sysPath, int vendor, int device, int pciClass, int subsystemVendor,
                   int subsystemDevice, Optional<String> driver) {

    static final int CLASS_VGA = 0x030000;
    static final int CLASS_HDA = 0x040300;
    static final int CLASS_BRIDGE = 0x060400;

    static PciFunction gpu(SimGpu g) {
        var m = g.model();
        return new PciFunction(g.bdf(), g.sysPath(), m.vendor, m.device, CLASS_VGA, m.subsystemVendor, m.subsystemDevice,
                Optional.of(m.driver));
    }

    static PciFunction audio(SimGpu g) {
        var m = g.model();
        var bdf = g.audioBdf().orElseThrow(() -> new IllegalArgumentException(g.bdf() + " has no audio function"));
        return new PciFunction(bdf, g.sysPath(bdf), m.vendor, m.audioDevice, CLASS_HDA, m.subsystemVendor, m.subsystemDevice,
                Optional.of(GpuModel.AUDIO_DRIVER));
    }

    /** An Intel root port / PCIe switch port. */
    static PciFunction bridge(SimGpu g, PciAddress bdf) {
        return new PciFunction(bdf, g.sysPath(bdf), 0x8086, 0x7f36, CLASS_BRIDGE, 0, 0, Optional.empty());
    }

    String devpath() {
        return "/" + sysPath;
    }

    boolean isGpu() {
        return pciClass == CLASS_VGA;
    }

    String pciId() {
        return String.format(Locale.ROOT, "%04X:%04X", vendor, device);
    }

    String subsysId() {
        return String.format(Locale.ROOT, "%04X:%04X", subsystemVendor, subsystemDevice);
    }

    String modalias() {
        return String.format(Locale.ROOT, "pci:v%08Xd%08Xsv%08Xsd%08Xbc%02Xsc%02Xi%02X", vendor, device, subsystemVendor,
                subsystemDevice, pciClass >> 16, (pciClass >> 8) & 0xff, pciClass & 0xff);
    }

    /** The function's {@code uevent} file: DRIVER= only while bound. */
    String ueventFile(boolean bound) {
        return (bound ? "DRIVER=" + driver.orElseThrow() + "\n" : "") + "PCI_CLASS=" + Integer.toHexString(pciClass).toUpperCase(Locale.ROOT)
                + "\nPCI_ID=" + pciId() + "\nPCI_SUBSYS_ID=" + subsysId() + "\nPCI_SLOT_NAME=" + bdf + "\nMODALIAS=" + modalias() + "\n";
    }

    /** The function's own uevent: {@code add}, {@code remove}, {@code bind} (with DRIVER=) or {@code unbind}. */
    Uevent event(String action) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "pci");
        if (action.equals("bind")) f.put("DRIVER", driver.orElseThrow());
        f.put("PCI_CLASS", Integer.toHexString(pciClass).toUpperCase(Locale.ROOT));
        f.put("PCI_ID", pciId());
        f.put("PCI_SUBSYS_ID", subsysId());
        f.put("PCI_SLOT_NAME", bdf.toString());
        f.put("MODALIAS", modalias());
        return Uevent.of(action, devpath(), f);
    }
}
