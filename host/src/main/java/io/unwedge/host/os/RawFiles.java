package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.ValueLayout;
import java.lang.invoke.MethodHandle;
import java.nio.ByteOrder;

/**
 * The file calls a walk over {@code /proc} makes thousands of times: openat(2), getdents64(2), statx(2),
 * readlinkat(2), read(2), close(2), on buffers the caller keeps, with names relative to a directory
 * descriptor. No {@code Path}, no {@code String} and no arena per call: at two thousand processes a scan
 * makes some twenty thousand calls, and the JDK's file API costs more per call than the kernel does.
 *
 * <p>One instance per thread (its arena is confined). Calls return their result or {@code -errno}, as
 * everywhere in this package; EINTR is retried. The descriptors {@link #openat} returns are the caller's
 * to {@link #close}, in the same method (a try/finally): they never outlive one process's look.
 *
 * <p>statx(2) rather than fstatat(2): its layout is the same on every architecture and it gives the device
 * numbers as major and minor, not glibc's encoding of them.
 */
public final class RawFiles implements AutoCloseable {

    public static final int AT_FDCWD = -100;
    public static final int O_RDONLY = 0;
    public static final int O_DIRECTORY = 0x10000;
    public static final int O_CLOEXEC = 0x80000;
    public static final int AT_SYMLINK_NOFOLLOW = 0x100;
    public static final int STATX_TYPE = 0x1, STATX_MODE = 0x2, STATX_INO = 0x100;

    public static final int S_IFMT = 0170000, S_IFCHR = 0020000, S_IFREG = 0100000, S_IFDIR = 0040000;

    /** struct statx, include/uapi/linux/stat.h: the offsets this class reads. */
    private static final long STX_MODE = 28, STX_INO = 32, STX_RDEV_MAJOR = 128, STX_RDEV_MINOR = 132,
            STX_DEV_MAJOR = 136, STX_DEV_MINOR = 140, STATX_SIZE = 256;

    /** struct linux_dirent64: d_ino (8), d_off (8), d_reclen (2), d_type (1, unused), d_name (NUL-terminated). */
    private static final long D_RECLEN = 16, D_NAME = 19;

    private static final ValueLayout.OfShort U16 = JAVA_SHORT.withOrder(ByteOrder.nativeOrder()).withByteAlignment(1);

    /**
     * Every call here goes through syscall(2) and one downcall handle: a command's JVM links each distinct
     * native signature at start (tens of ms apiece, before its first scan), and getdents64 has a glibc
     * wrapper only since 2.30. The numbers are the kernel's, per architecture (arch/x86/entry/syscalls,
     * include/uapi/asm-generic/unistd.h).
     */
    private record Numbers(long read, long close, long ioctl, long getdents64, long openat, long readlinkat, long statx) {
        static Numbers of(String arch) {
            return switch (arch) {
                case "amd64", "x86_64" -> new Numbers(0, 3, 16, 217, 257, 267, 332);
                // the generic table (include/uapi/asm-generic/unistd.h), which riscv64 and loongarch64 use too
                case "aarch64", "arm64", "riscv64", "loongarch64" -> new Numbers(63, 57, 29, 61, 56, 78, 291);
                default -> throw new UnsupportedOperationException(
                        "unwedge knows the system call numbers of x86_64 and of the generic table (aarch64, riscv64, loongarch64), not of " + arch);
            };
        }
    }

    private static final Numbers NR = Numbers.of(System.getProperty("os.arch"));

    /** long syscall(long number, ...): up to five arguments, passed as longs (C varargs). */
    private static final MethodHandle SYSCALL = Libc.variadic("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    /**
     * struct procmap_query, include/uapi/linux/fs.h (Linux 6.11): one VMA of a process, asked of its open
     * {@code maps} file by address, with its device and inode as numbers and its path only when asked for.
     */
    private static final long PMQ_SIZE = 0, PMQ_FLAGS = 8, PMQ_ADDR = 16, PMQ_VMA_START = 24, PMQ_VMA_END = 32,
            PMQ_VMA_FLAGS = 40, PMQ_INODE = 64, PMQ_DEV_MAJOR = 72, PMQ_DEV_MINOR = 76, PMQ_NAME_SIZE = 80,
            PMQ_NAME_ADDR = 88, PROCMAP_QUERY_SIZE = 104; // build_id_size (84) and build_id_addr (96) stay 0
    /** _IOWR('f', 17, struct procmap_query). */
    private static final long PROCMAP_QUERY = (3L << 30) | (PROCMAP_QUERY_SIZE << 16) | ('f' << 8) | 17;
    /** The VMA at the address or the next one after it; only VMAs backed by a file; only shared ones (VM_MAYSHARE). */
    private static final long PROCMAP_QUERY_COVERING_OR_NEXT_VMA = 0x10, PROCMAP_QUERY_FILE_BACKED_VMA = 0x20,
            PROCMAP_QUERY_VMA_SHARED = 0x08;
    /** procmap_query's vma_flags. */
    public static final long VMA_READABLE = 0x1, VMA_WRITABLE = 0x2, VMA_EXECUTABLE = 0x4, VMA_SHARED = 0x8;

    private final Arena arena = Arena.ofConfined();
    private final MemorySegment query = arena.allocate(PROCMAP_QUERY_SIZE, 8);
    private final MemorySegment errno = Libc.errnoState(arena);
    private final MemorySegment name = arena.allocate(4096);
    private final MemorySegment statx = arena.allocate(STATX_SIZE, 8);

    private RawFiles() {}

    /** For the calling thread only. */
    public static RawFiles open() {
        return new RawFiles();
    }

    /** A buffer that lives as long as this instance. */
    public MemorySegment allocate(long bytes) {
        return arena.allocate(bytes, 8);
    }

    /** {@code bytes[0..length)} as a NUL-terminated name in this instance's scratch (valid until the next call to this). */
    public MemorySegment name(byte[] bytes, int length) {
        if (length >= name.byteSize()) throw new IllegalArgumentException("name longer than " + (name.byteSize() - 1) + " bytes");
        MemorySegment.copy(bytes, 0, name, JAVA_BYTE, 0, length);
        name.set(JAVA_BYTE, length, (byte) 0);
        return name;
    }

    /** openat(2): a descriptor, or -errno. */
    public int openat(int dirfd, MemorySegment path, int flags) {
        return (int) call(NR.openat(), dirfd, addr(path), flags | O_CLOEXEC, 0, 0);
    }

    /** getdents64(2) into {@code buf}: bytes of records, 0 at the end, or -errno. */
    public long getdents64(int fd, MemorySegment buf) {
        return call(NR.getdents64(), fd, addr(buf), buf.byteSize(), 0, 0);
    }

    /** statx(2) of {@code path} under {@code dirfd} (following links unless {@link #AT_SYMLINK_NOFOLLOW}); 0 or -errno. Read the result with {@link #mode()} etc. */
    public int statx(int dirfd, MemorySegment path, int flags) {
        return (int) call(NR.statx(), dirfd, addr(path), flags, STATX_TYPE | STATX_MODE | STATX_INO, addr(statx));
    }

    /** readlinkat(2) into {@code buf} (not NUL-terminated): the length, or -errno. */
    public long readlinkat(int dirfd, MemorySegment path, MemorySegment buf) {
        return call(NR.readlinkat(), dirfd, addr(path), addr(buf), buf.byteSize(), 0);
    }

    /** read(2) of at most {@code length} bytes into {@code buf} from {@code offset}: bytes read, 0 at the end, or -errno. */
    public long read(int fd, MemorySegment buf, long offset, long length) {
        var into = buf.asSlice(offset, length);
        return call(NR.read(), fd, addr(into), length, 0, 0);
    }

    /**
     * PROCMAP_QUERY on an open {@code /proc/<pid>/maps}: the first shared file-backed VMA that covers or
     * follows {@code addr} (the kernel skips the others under one lock), read back with {@link #vmaStart()} etc.; 0, -ENOENT when there is none, -ENOTTY (or
     * -EINVAL) on a kernel before 6.11 or a file that is no maps. With {@code name} non-null the VMA's path
     * is written into it ({@link #vmaNameLength()}), which costs the kernel a d_path; otherwise it is not.
     */
    public int procmapQuery(int mapsFd, long addr, MemorySegment name) {
        query.fill((byte) 0);
        query.set(JAVA_LONG, PMQ_SIZE, PROCMAP_QUERY_SIZE);
        query.set(JAVA_LONG, PMQ_FLAGS, PROCMAP_QUERY_COVERING_OR_NEXT_VMA | PROCMAP_QUERY_FILE_BACKED_VMA | PROCMAP_QUERY_VMA_SHARED);
        query.set(JAVA_LONG, PMQ_ADDR, addr);
        if (name != null) {
            query.set(JAVA_INT, PMQ_NAME_SIZE, (int) Math.min(name.byteSize(), Integer.MAX_VALUE));
            query.set(JAVA_LONG, PMQ_NAME_ADDR, addr(name));
        }
        return (int) call(NR.ioctl(), mapsFd, PROCMAP_QUERY, addr(query), 0, 0);
    }

    public long vmaStart() {
        return query.get(JAVA_LONG, PMQ_VMA_START);
    }

    public long vmaEnd() {
        return query.get(JAVA_LONG, PMQ_VMA_END);
    }

    /** {@link #VMA_READABLE} etc. */
    public long vmaFlags() {
        return query.get(JAVA_LONG, PMQ_VMA_FLAGS);
    }

    public long vmaInode() {
        return query.get(JAVA_LONG, PMQ_INODE);
    }

    /** The VMA's file's {@code st_dev}, packed as {@link #packDev}. */
    public long vmaDev() {
        return packDev(query.get(JAVA_INT, PMQ_DEV_MAJOR), query.get(JAVA_INT, PMQ_DEV_MINOR));
    }

    /** The length of the path written, with its NUL. */
    public int vmaNameLength() {
        return query.get(JAVA_INT, PMQ_NAME_SIZE);
    }

    /** close(2), once (see {@link Libc#once}); the result is ignored, as Linux releases the number whatever it says. */
    public void close(int fd) {
        invoke(NR.close(), fd, 0, 0, 0, 0); // once: Linux releases the number even when close fails with EINTR
    }

    /** syscall(2) with EINTR retried: the result or -errno. Pointers go as their addresses, into this instance's own memory. */
    private long call(long number, long a, long b, long c, long d, long e) {
        // Libc.retrying's loop, written out: its shared lambda call site is megamorphic in a daemon, and this
        // one runs tens of thousands of times a scan
        for (;;) {
            long r = invoke(number, a, b, c, d, e);
            if (r != -1) return r;
            int n = Libc.errno(errno);
            if (n != Errno.EINTR) return -n;
        }
    }

    private long invoke(long number, long a, long b, long c, long d, long e) {
        try {
            return (long) SYSCALL.invokeExact(errno, number, a, b, c, d, e);
        } catch (RuntimeException | Error x) {
            throw x;
        } catch (Throwable t) {
            throw new AssertionError(t); // invokeExact declares Throwable; a downcall throws nothing checked
        }
    }

    /** A buffer's address for the kernel; only native memory has one that stays put. */
    private static long addr(MemorySegment segment) {
        if (!segment.isNative()) throw new IllegalArgumentException("not native memory: " + segment);
        return segment.address();
    }

    /** The last {@link #statx}: {@code st_mode}. */
    public int mode() {
        return Short.toUnsignedInt(statx.get(JAVA_SHORT, STX_MODE));
    }

    public long ino() {
        return statx.get(JAVA_LONG, STX_INO);
    }

    /** The last statx's {@code st_dev}, as {@link #packDev} packs it. */
    public long dev() {
        return packDev(statx.get(JAVA_INT, STX_DEV_MAJOR), statx.get(JAVA_INT, STX_DEV_MINOR));
    }

    /** The last statx's {@code st_rdev}, as {@link #packDev} packs it (0:0 for anything but a device node). */
    public long rdev() {
        return packDev(statx.get(JAVA_INT, STX_RDEV_MAJOR), statx.get(JAVA_INT, STX_RDEV_MINOR));
    }

    /** A device number as one long, major in the high half: compared without a record per descriptor. */
    public static long packDev(int major, int minor) {
        return (long) major << 32 | Integer.toUnsignedLong(minor);
    }

    public static int major(long packed) {
        return (int) (packed >>> 32);
    }

    public static int minor(long packed) {
        return (int) packed;
    }

    /** getdents64 records: the length of the record at {@code offset}. */
    public static int direntLength(MemorySegment buf, long offset) {
        return Short.toUnsignedInt(buf.get(U16, offset + D_RECLEN));
    }

    /** The NUL-terminated name of the record at {@code offset}, copied into {@code into}; its length. */
    public static int direntName(MemorySegment buf, long offset, byte[] into) {
        long at = offset + D_NAME, end = offset + direntLength(buf, offset);
        int n = 0;
        for (; at < end && n < into.length; at++, n++) {
            byte b = buf.get(JAVA_BYTE, at);
            if (b == 0) break;
            into[n] = b;
        }
        return n;
    }

    @Override
    public void close() {
        arena.close();
    }
}
