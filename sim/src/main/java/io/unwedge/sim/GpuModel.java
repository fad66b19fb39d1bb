package io.unwedge.sim;

import java.util.Optional;

/**
 * The PCI identity of the virtual GPUs each driver gets: real parts, so a tree looks like a real host's.
 * Each card also has its HDMI/DP audio controller ({@link #audioDevice}), which the sim puts at function 1
 * of the GPU's device, driven by {@link #AUDIO_DRIVER}.
 */
public enum GpuModel {
    /** Intel Arc B580 (Battlemage), the xe capture's kind of card; its audio controller 8086:e2f7 */
    XE("xe", 0x8086, 0xe20b, 0x8086, 0x1100, 0xe2f7),
    /** Intel Arc A770 (DG2); audio 8086:4f90 */
    I915("i915", 0x8086, 0x56a0, 0x8086, 0x1020, 0x4f90),
    /** AMD Radeon RX 7900 XTX (Navi 31); audio 1002:ab30 */
    AMDGPU("amdgpu", 0x1002, 0x744c, 0x1002, 0x0e3b, 0xab30);

    /** The driver of every discrete GPU's HDMI/DP audio function. */
    public static final String AUDIO_DRIVER = "snd_hda_intel";

    public final String driver;
    public final int vendor;
    public final int device;
    public final int subsystemVendor;
    public final int subsystemDevice;
    /** The device id of the card's audio function (same vendor and subsystem as the GPU). */
    public final int audioDevice;

    GpuModel(String driver, int vendor, int device, int subsystemVendor, int subsystemDevice, int audioDevice) {
        this.driver = driver;
        this.vendor = vendor;
        this.device = device;
        this.subsystemVendor = subsystemVendor;
        this.subsystemDevice = subsystemDevice;
        this.audioDevice = audioDevice;
    }

    public static Optional<GpuModel> ofDriver(String driver) {
        for (var m : values()) if (m.driver.equals(driver)) return Optional.of(m);
        return Optional.empty();
    }
}
