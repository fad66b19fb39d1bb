package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;

/** Plain file-descriptor calls: close, read, write, poll, eventfd. */
final class Io {

    static final int POLLIN = 0x001;
    static final int POLLERR = 0x008;
    static final int POLLHUP = 0x010;
    static final int POLLNVAL = 0x020;

    static final int EFD_CLOEXEC = 0x80000;  // O_CLOEXEC
    static final int EFD_NONBLOCK = 0x800;   // O_NONBLOCK

    /** struct pollfd, poll(2). */
    static final StructLayout POLLFD = MemoryLayout.structLayout(
            JAVA_INT.withName("fd"),
            JAVA_SHORT.withName("events"),
            JAVA_SHORT.withName("revents")).withName("pollfd");
    static final VarHandle POLLFD_FD = POLLFD.varHandle(PathElement.groupElement("fd"));
    static final VarHandle POLLFD_EVENTS = POLLFD.varHandle(PathElement.groupElement("events"));
    static final VarHandle POLLFD_REVENTS = POLLFD.varHandle(PathElement.groupElement("revents"));

    private static final MethodHandle CLOSE = Libc.function("close",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle READ = Libc.function("read",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle WRITE = Libc.function("write",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle POLL = Libc.function("poll",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle EVENTFD = Libc.function("eventfd",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    private Io() {}

    static int close(int fd) {
        try (var arena = Arena.ofConfined()) {
            return (int) Libc.once(arena, s -> (int) CLOSE.invokeExact(s, fd));
        }
    }

    /** read(2) into {@code buf}; bytes read or -errno. */
    static long read(int fd, MemorySegment buf) {
        try (var arena = Arena.ofConfined()) {
            return Libc.retrying(arena, s -> (long) READ.invokeExact(s, fd, buf, buf.byteSize()));
        }
    }

    /** write(2) of {@code buf}; bytes written or -errno. */
    static long write(int fd, MemorySegment buf) {
        try (var arena = Arena.ofConfined()) {
            return Libc.retrying(arena, s -> (long) WRITE.invokeExact(s, fd, buf, buf.byteSize()));
        }
    }

    /** poll(2) over {@code fds} (an array of {@link #POLLFD}) with no timeout; ready count or -errno. */
    static int poll(MemorySegment fds, int count) {
        try (var arena = Arena.ofConfined()) {
            return (int) Libc.retrying(arena, s -> (int) POLL.invokeExact(s, fds, (long) count, -1));
        }
    }

    /**
     * poll(2) with a timeout in milliseconds ({@code 0}: just look); ready count (0 at the timeout) or -errno.
     * An EINTR retry starts the timeout again: callers loop on their own deadline anyway.
     */
    static int poll(MemorySegment fds, int count, int timeoutMillis) {
        try (var arena = Arena.ofConfined()) {
            return (int) Libc.retrying(arena, s -> (int) POLL.invokeExact(s, fds, (long) count, timeoutMillis));
        }
    }

    /** eventfd(2); the new descriptor or -errno. */
    static int eventfd(int flags) {
        try (var arena = Arena.ofConfined()) {
            return (int) Libc.retrying(arena, s -> (int) EVENTFD.invokeExact(s, 0, flags));
        }
    }
}
