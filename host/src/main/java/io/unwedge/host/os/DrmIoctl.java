package io.unwedge.host.os;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;

/**
 * {@code DRM_IOCTL_VERSION} on a DRM node: the cheapest ioctl every DRM driver answers, and one a wedged
 * device still answers (it is handled by the DRM core, not the driver's submission path), so it proves the
 * node is a live DRM device bound to a driver — the optional last check of a recovery.
 */
public final class DrmIoctl {

    private DrmIoctl() {}

    /** include/uapi/drm/drm.h: struct drm_version (x86-64 and every LP64 ABI: 64 bytes). */
    private static final StructLayout DRM_VERSION = MemoryLayout.structLayout(
            ValueLayout.JAVA_INT.withName("version_major"),
            ValueLayout.JAVA_INT.withName("version_minor"),
            ValueLayout.JAVA_INT.withName("version_patchlevel"),
            MemoryLayout.paddingLayout(4),
            ValueLayout.JAVA_LONG.withName("name_len"),
            ValueLayout.ADDRESS.withName("name"),
            ValueLayout.JAVA_LONG.withName("date_len"),
            ValueLayout.ADDRESS.withName("date"),
            ValueLayout.JAVA_LONG.withName("desc_len"),
            ValueLayout.ADDRESS.withName("desc"));
    private static final VarHandle MAJOR = DRM_VERSION.varHandle(PathElement.groupElement("version_major"));
    private static final VarHandle MINOR = DRM_VERSION.varHandle(PathElement.groupElement("version_minor"));
    private static final VarHandle NAME_LEN = DRM_VERSION.varHandle(PathElement.groupElement("name_len"));
    private static final VarHandle NAME = DRM_VERSION.varHandle(PathElement.groupElement("name"));

    /** DRM_IOWR(0x00, struct drm_version): _IOC(_IOC_READ|_IOC_WRITE, 'd', 0, 64). */
    static final long DRM_IOCTL_VERSION = (3L << 30) | ((long) 64 << 16) | ('d' << 8);

    private static final int O_RDWR = 2, O_CLOEXEC = 0x80000, O_NOCTTY = 0x100;
    // open(const char *path, int flags, ...) and ioctl(int fd, unsigned long request, ...): the mode and the
    // argument are C varargs
    private static final MethodHandle OPEN = Libc.variadic("open",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.ADDRESS, ValueLayout.JAVA_INT, ValueLayout.JAVA_INT), 2);
    private static final MethodHandle IOCTL = Libc.variadic("ioctl",
            FunctionDescriptor.of(ValueLayout.JAVA_INT, ValueLayout.JAVA_INT, ValueLayout.JAVA_LONG, ValueLayout.ADDRESS), 2);

    /** What the driver behind the node says it is, e.g. {@code xe 1.1}. */
    public record Version(String driver, int major, int minor) {
        @Override
        public String toString() {
            return driver + " " + major + "." + minor;
        }
    }

    static {
        if (DRM_VERSION.byteSize() != 64) throw new AssertionError("struct drm_version is 64 bytes on LP64");
    }

    /**
     * Opens {@code node} and asks for its version.
     *
     * @throws OsException {@code open} or {@code ioctl} with its errno: ENOTTY when the file is no DRM
     *                     node, ENODEV when its driver is gone
     */
    public static Version version(Path node) throws OsException {
        try (var arena = Arena.ofConfined()) {
            var path = arena.allocateFrom(node.toString());
            long fd = Libc.retrying(arena, s -> (int) OPEN.invokeExact(s, path, O_RDWR | O_CLOEXEC | O_NOCTTY, 0));
            if (fd < 0) throw new OsException("open", node, (int) -fd);
            try {
                var v = arena.allocate(DRM_VERSION);
                var name = arena.allocate(64);
                NAME_LEN.set(v, 0L, 63L);
                NAME.set(v, 0L, name);
                long r = Libc.retrying(arena, s -> (int) IOCTL.invokeExact(s, (int) fd, DRM_IOCTL_VERSION, v));
                if (r < 0) throw new OsException("ioctl(DRM_IOCTL_VERSION)", node, (int) -r);
                long len = Math.min(63L, (long) NAME_LEN.get(v, 0L));
                String driver = new String(name.asSlice(0, len).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                return new Version(driver, (int) MAJOR.get(v, 0L), (int) MINOR.get(v, 0L));
            } finally {
                Io.close((int) fd);
            }
        }
    }
}
