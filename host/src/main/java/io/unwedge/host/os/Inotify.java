package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;

/**
 * An inotify(7) instance. {@link #take()} blocks in poll(2) on the inotify descriptor and a {@link Wakeup}
 * eventfd, with no timeout, so {@link #close()} from another thread ends a blocked take at once.
 * Watches may be added and removed while another thread is blocked in take.
 */
public final class Inotify implements AutoCloseable, Pollable {

    /** File was written (also a FIFO: queued inside the writer's write(), so in write order). */
    public static final int IN_MODIFY = 0x00000002;
    public static final int IN_CREATE = 0x00000100;
    public static final int IN_DELETE = 0x00000200;
    public static final int IN_DELETE_SELF = 0x00000400;
    public static final int IN_CLOSE_WRITE = 0x00000008;
    /** A file not opened for writing was closed (its last descriptor: the open file description is released). */
    public static final int IN_CLOSE_NOWRITE = 0x00000010;
    public static final int IN_MOVED_FROM = 0x00000040;
    public static final int IN_MOVED_TO = 0x00000080;
    /** The watch is gone: removed, or the watched directory was deleted or unmounted. */
    public static final int IN_IGNORED = 0x00008000;
    /** The kernel's event queue overflowed (wd is -1): events were lost, rescan. */
    public static final int IN_Q_OVERFLOW = 0x00004000;
    /** Only watch the path if it is a directory. */
    public static final int IN_ONLYDIR = 0x01000000;

    private static final int IN_CLOEXEC = 0x80000;   // O_CLOEXEC
    private static final int IN_NONBLOCK = 0x800;    // O_NONBLOCK

    /** struct inotify_event, inotify(7); {@code len} bytes of NUL-padded name follow. */
    private static final StructLayout INOTIFY_EVENT = MemoryLayout.structLayout(
            JAVA_INT.withName("wd"),
            JAVA_INT.withName("mask"),
            JAVA_INT.withName("cookie"),
            JAVA_INT.withName("len")).withName("inotify_event");
    private static final VarHandle EV_WD = INOTIFY_EVENT.varHandle(PathElement.groupElement("wd"));
    private static final VarHandle EV_MASK = INOTIFY_EVENT.varHandle(PathElement.groupElement("mask"));
    private static final VarHandle EV_LEN = INOTIFY_EVENT.varHandle(PathElement.groupElement("len"));

    /** Many events per read(2); the minimum would be sizeof(struct inotify_event) + NAME_MAX + 1. */
    private static final long READ_BUFFER = 64 * 1024;

    private static final MethodHandle INOTIFY_INIT1 = Libc.function("inotify_init1",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle INOTIFY_ADD_WATCH = Libc.function("inotify_add_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle INOTIFY_RM_WATCH = Libc.function("inotify_rm_watch",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));

    /** One event; {@code name} is the entry inside the watched directory, "" for the directory itself. */
    public record Event(int wd, int mask, String name) {
        public Event {
            Objects.requireNonNull(name, "name");
        }

        public boolean is(int bits) {
            return (mask & bits) != 0;
        }
    }

    private final Fd fd;
    private final Wakeup wakeup;

    private Inotify(Fd fd, Wakeup wakeup) {
        this.fd = fd;
        this.wakeup = wakeup;
    }

    public static Inotify open() throws OsException {
        Fd fd;
        try (var arena = Arena.ofConfined()) {
            int n = (int) Libc.retrying(arena, s -> (int) INOTIFY_INIT1.invokeExact(s, IN_CLOEXEC | IN_NONBLOCK));
            if (n < 0) throw new OsException("inotify_init1", "", -n);
            fd = new Fd(n, "inotify");
        }
        try {
            return new Inotify(fd, Wakeup.open());
        } catch (OsException e) {
            fd.close();
            throw e;
        }
    }

    /** inotify_add_watch(2); returns the watch descriptor (the same one again for a path already watched). */
    public int watch(Path dir, int mask) throws OsException {
        int n = fd.acquireOrThrow("inotify_add_watch");
        try (var arena = Arena.ofConfined()) {
            var path = arena.allocateFrom(dir.toString(), StandardCharsets.UTF_8);
            int wd = (int) Libc.retrying(arena, s -> (int) INOTIFY_ADD_WATCH.invokeExact(s, n, path, mask));
            if (wd < 0) throw new OsException("inotify_add_watch", dir, -wd);
            return wd;
        } finally {
            fd.release();
        }
    }

    /**
     * inotify_rm_watch(2). EINVAL means the watch is already gone (the directory was deleted and the
     * kernel sent IN_IGNORED): that is the outcome asked for, so it is not an error. A no-op once closed.
     */
    public void unwatch(int wd) {
        int n = fd.acquire();
        if (n < 0) return;
        try (var arena = Arena.ofConfined()) {
            Libc.retrying(arena, s -> (int) INOTIFY_RM_WATCH.invokeExact(s, n, wd));
        } finally {
            fd.release();
        }
    }

    /**
     * Every event queued now, without waiting (empty when none, or once closed): for a caller that learnt
     * from {@link Wakeup#awaitAny} that something is queued and only needs the queue emptied.
     */
    public List<Event> takeReady() throws OsException {
        int n = fd.acquire();
        if (n < 0) return List.of();
        try (var arena = Arena.ofConfined()) {
            var buf = arena.allocate(READ_BUFFER, 8);
            var out = new ArrayList<Event>();
            for (;;) {
                long r = Io.read(n, buf);
                if (r == -Errno.EAGAIN) return List.copyOf(out);
                if (r < 0) throw new OsException("read", fd.what(), (int) -r);
                out.addAll(parse(buf, r));
            }
        } finally {
            fd.release();
        }
    }

    @Override
    public Fd pollFd() {
        return fd;
    }

    /**
     * Blocks until at least one event is queued and returns every event one read(2) gave, in order.
     * Returns an empty list once {@link #close()} has been called, from any thread.
     */
    public List<Event> take() throws OsException {
        for (;;) {
            if (!wakeup.await(fd)) return List.of();
            int n = fd.acquire();
            if (n < 0) return List.of();
            try (var arena = Arena.ofConfined()) {
                var buf = arena.allocate(READ_BUFFER, 8);
                long r = Io.read(n, buf);
                if (r == -Errno.EAGAIN) continue;  // another thread took them first
                if (r < 0) throw new OsException("read", fd.what(), (int) -r);
                var events = parse(buf, r);
                if (!events.isEmpty()) return events;
            } finally {
                fd.release();
            }
        }
    }

    private static List<Event> parse(MemorySegment buf, long length) {
        var events = new ArrayList<Event>();
        long header = INOTIFY_EVENT.byteSize();
        for (long off = 0; off + header <= length; ) {
            var ev = buf.asSlice(off);
            int len = (int) EV_LEN.get(ev, 0L);
            events.add(new Event((int) EV_WD.get(ev, 0L), (int) EV_MASK.get(ev, 0L), name(ev.asSlice(header, len))));
            off += header + len;
        }
        return List.copyOf(events);
    }

    /** The kernel pads the name with NULs to an aligned length. File names are bytes; shown as UTF-8. */
    private static String name(MemorySegment padded) {
        long end = 0;
        while (end < padded.byteSize() && padded.get(JAVA_BYTE, end) != 0) end++;
        return new String(padded.asSlice(0, end).toArray(JAVA_BYTE), StandardCharsets.UTF_8);
    }

    /** Idempotent; wakes a thread blocked in {@link #take()}, which then returns an empty list. */
    @Override
    public void close() {
        wakeup.wake();
        fd.close();
        wakeup.close();
    }
}
