package io.unwedge.host.procfs;

import java.util.Optional;

/** A device number {@code major:minor}, as {@code stat} gives it (st_dev, st_rdev) and {@code maps} prints it. */
public record DevNum(int major, int minor) {

    public static final int DRM_MAJOR = 226;
    /** {@code /dev/accel/accelN} (include/drm/drm_accel.h). */
    public static final int ACCEL_MAJOR = 261;

    public DevNum {
        if (major < 0 || minor < 0) throw new IllegalArgumentException("negative device number " + major + ":" + minor);
    }

    /** From a glibc-encoded {@code dev_t}, the form {@code unix:dev} and {@code unix:rdev} give. */
    public static DevNum decode(long dev) {
        int major = (int) (((dev >>> 8) & 0xfff) | ((dev >>> 32) & ~0xfffL));
        int minor = (int) ((dev & 0xff) | ((dev >>> 12) & ~0xffL));
        return new DevNum(major, minor);
    }

    /** {@code "226:1"}, decimal, as sysfs {@code dev} files write it. */
    public static Optional<DevNum> parseDecimal(String s) {
        return parse(s, 10);
    }

    /** {@code "fe:00"}, hex, as {@code /proc/<pid>/maps} writes it. */
    public static Optional<DevNum> parseHex(String s) {
        return parse(s, 16);
    }

    private static Optional<DevNum> parse(String s, int radix) {
        int colon = s == null ? -1 : s.indexOf(':');
        if (colon <= 0 || colon == s.length() - 1 || s.length() > 24) return Optional.empty();
        try {
            int major = Integer.parseUnsignedInt(s.substring(0, colon), radix);
            int minor = Integer.parseUnsignedInt(s.substring(colon + 1), radix);
            return major < 0 || minor < 0 ? Optional.empty() : Optional.of(new DevNum(major, minor));
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    @Override
    public String toString() {
        return major + ":" + minor;
    }
}
