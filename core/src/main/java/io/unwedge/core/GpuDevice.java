package io.unwedge.core;

import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * A GPU as sysfs showed it at one moment: its primary minor, PCI function, bound driver and minors.
 * A snapshot, not a live view: re-resolve by BDF after anything changes (the card number may move).
 *
 * @param sysPath the PCI function's directory relative to the sysfs root, e.g.
 *                {@code devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0}
 * @param minors  the minors under {@code <function>/drm} and {@code <function>/accel}, e.g. {@code card0, renderD128}
 */
public record GpuDevice(String card, int cardIndex, PciAddress bdf, Optional<String> driver, String sysPath,
                        List<String> minors) {
    public GpuDevice {
        Objects.requireNonNull(card);
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(driver);
        minors = List.copyOf(minors);
    }

    public boolean bound() {
        return driver.isPresent();
    }

    @Override
    public String toString() {
        return card + " " + bdf + " driver=" + driver.orElse("(none)");
    }
}
