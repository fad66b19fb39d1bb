package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;

/**
 * An eventfd(2) that lets {@code close()} on one thread wake a thread blocked in poll(2) on another
 * descriptor. A blocked reader polls its descriptor and this eventfd together, with no timeout; once
 * {@link #wake()} is called the eventfd stays readable, so every later {@link #await} returns at once.
 */
public final class Wakeup implements AutoCloseable {

    private final Fd eventfd;
    private volatile boolean woken;

    private Wakeup(Fd eventfd) {
        this.eventfd = eventfd;
    }

    public static Wakeup open() throws OsException {
        int fd = Io.eventfd(Io.EFD_CLOEXEC | Io.EFD_NONBLOCK);
        if (fd < 0) throw new OsException("eventfd", "", -fd);
        return new Wakeup(new Fd(fd, "eventfd"));
    }

    /** Wakes every current and future {@link #await}. Idempotent, callable from any thread. */
    public void wake() {
        woken = true;
        int fd = eventfd.acquire();
        if (fd < 0) return;
        try (var arena = Arena.ofConfined()) {
            // EAGAIN would mean the counter is near 2^64 - 1: it is readable then, which is all we need.
            Io.write(fd, arena.allocateFrom(JAVA_LONG, 1L));
        } finally {
            eventfd.release();
        }
    }

    public boolean isWoken() {
        return woken;
    }

    /**
     * Blocks until {@code fd} has something to say (readable, an error such as ENOBUFS pending, or hung up)
     * and returns true, or until {@link #wake()} and returns false. A closed {@code fd} counts as woken.
     */
    public boolean await(Fd fd) throws OsException {
        if (woken) return false;
        int target = fd.acquire();
        if (target < 0) return false;
        int self = eventfd.acquire();
        if (self < 0) {
            fd.release();
            return false;
        }
        try (var arena = Arena.ofConfined()) {
            var fds = arena.allocate(Io.POLLFD, 2);
            var mine = fds.asSlice(Io.POLLFD.byteSize());
            Io.POLLFD_FD.set(fds, 0L, target);
            Io.POLLFD_EVENTS.set(fds, 0L, (short) Io.POLLIN);
            Io.POLLFD_FD.set(mine, 0L, self);
            Io.POLLFD_EVENTS.set(mine, 0L, (short) Io.POLLIN);
            int n = Io.poll(fds, 2);
            if (n < 0) throw new OsException("poll", fd.what(), -n);
            if ((short) Io.POLLFD_REVENTS.get(mine, 0L) != 0 || woken) return false;
            // The use count makes POLLNVAL impossible short of a bug elsewhere in the process.
            if (((short) Io.POLLFD_REVENTS.get(fds, 0L) & Io.POLLNVAL) != 0) {
                throw new OsException("poll", fd.what(), Errno.EBADF);
            }
            return true;
        } finally {
            eventfd.release();
            fd.release();
        }
    }

    /** How a bounded {@link #await(Fd, long)} ended. */
    public enum Ended { READY, WOKEN, DEADLINE }

    /**
     * As {@link #await(Fd)}, but also ends at {@code deadlineNanos} (on the {@link System#nanoTime()} scale).
     * A closed {@code fd} counts as woken.
     */
    public Ended await(Fd fd, long deadlineNanos) throws OsException {
        if (woken) return Ended.WOKEN;
        int target = fd.acquire();
        if (target < 0) return Ended.WOKEN;
        int self = eventfd.acquire();
        if (self < 0) {
            fd.release();
            return Ended.WOKEN;
        }
        try (var arena = Arena.ofConfined()) {
            var fds = arena.allocate(Io.POLLFD, 2);
            var mine = fds.asSlice(Io.POLLFD.byteSize());
            Io.POLLFD_FD.set(fds, 0L, target);
            Io.POLLFD_EVENTS.set(fds, 0L, (short) Io.POLLIN);
            Io.POLLFD_FD.set(mine, 0L, self);
            Io.POLLFD_EVENTS.set(mine, 0L, (short) Io.POLLIN);
            for (;;) {
                long left = deadlineNanos - System.nanoTime();
                // rounded up, so that a deadline 0.4 ms away is waited for rather than spun on
                int millis = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                int n = Io.poll(fds, 2, millis);
                if (n < 0) throw new OsException("poll", fd.what(), -n);
                if ((short) Io.POLLFD_REVENTS.get(mine, 0L) != 0 || woken) return Ended.WOKEN;
                short revents = (short) Io.POLLFD_REVENTS.get(fds, 0L);
                if ((revents & Io.POLLNVAL) != 0) throw new OsException("poll", fd.what(), Errno.EBADF);
                if (revents != 0) return Ended.READY;
                if (deadlineNanos - System.nanoTime() <= 0) return Ended.DEADLINE;
            }
        } finally {
            eventfd.release();
            fd.release();
        }
    }

    @Override
    public void close() {
        wake(); // a thread still in await must not sleep on a descriptor that is going away
        eventfd.close();
    }
}
