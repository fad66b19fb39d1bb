package io.unwedge.host.sysfs;

import io.unwedge.core.PciAddress;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A sysfs root: {@code /sys} on a real host, {@code DIR/sys} on the virtual one. Every path unwedge
 * builds under it goes through here. "Absent" and "permission denied" on reads are ordinary answers
 * (empty), because devices come and go under our feet.
 */
public final class Sysfs {

    /** The real one. Only the production wiring may name it. */
    public static final Path REAL_ROOT = Path.of("/sys");

    private static final Pattern DRIVER_NAME = Pattern.compile("[A-Za-z0-9_.:+-]{1,64}");

    private final Path root;

    public Sysfs(Path root) {
        this.root = Objects.requireNonNull(root).toAbsolutePath().normalize();
    }

    public Path root() {
        return root;
    }

    public boolean isRealSys() {
        try {
            return Files.isSameFile(root, REAL_ROOT);
        } catch (IOException e) {
            return root.equals(REAL_ROOT);
        }
    }

    public Path devices() {
        return root.resolve("devices");
    }

    public Path classDrm() {
        return root.resolve("class/drm");
    }

    /** Device coredumps ({@code devcd<m>}, contract §6), whatever device failed. */
    public Path classDevcoredump() {
        return root.resolve("class/devcoredump");
    }

    public Path pciDevice(PciAddress bdf) {
        return root.resolve("bus/pci/devices").resolve(bdf.toString());
    }

    /** {@code bus/pci/slots}: one directory per hotplug slot, with {@code address} and (with a hotplug driver) {@code power}. */
    public Path pciSlots() {
        return root.resolve("bus/pci/slots");
    }

    /** {@code bus/pci/rescan}: writing 1 rescans every bus; removed functions come back and are probed. */
    public Path pciRescan() {
        return root.resolve("bus/pci/rescan");
    }

    public Path pciDriver(String driver) {
        if (!DRIVER_NAME.matcher(driver).matches()) throw new IllegalArgumentException("odd driver name: " + driver);
        return root.resolve("bus/pci/drivers").resolve(driver);
    }

    /** The bound driver's name, from the {@code driver} link of a PCI function directory. */
    public static Optional<String> driverOf(Path function) {
        try {
            var name = Files.readSymbolicLink(function.resolve("driver")).getFileName().toString();
            return DRIVER_NAME.matcher(name).matches() ? Optional.of(name) : Optional.empty();
        } catch (IOException | UnsupportedOperationException e) {
            return Optional.empty();
        }
    }

    public static boolean hasDriverLink(Path function) {
        return Files.exists(function.resolve("driver"), LinkOption.NOFOLLOW_LINKS);
    }

    public static Optional<String> readTrimmed(Path file) {
        try {
            return Optional.of(Files.readString(file, StandardCharsets.UTF_8).strip());
        } catch (IOException e) {
            return Optional.empty();
        }
    }

    /**
     * Writes {@code value} to an attribute that must already exist. Never creates: on a real host a
     * missing attribute means the device or the driver is gone, and creating a file there is impossible
     * anyway; on the virtual host it would be a silent lie.
     */
    public static void writeAttribute(Path attribute, String value) throws IOException {
        if (!Files.exists(attribute, LinkOption.NOFOLLOW_LINKS)) throw new NoSuchFileException(attribute.toString());
        Files.writeString(attribute, value, StandardCharsets.US_ASCII,
                StandardOpenOption.WRITE, StandardOpenOption.TRUNCATE_EXISTING);
    }

    @Override
    public String toString() {
        return root.toString();
    }
}
