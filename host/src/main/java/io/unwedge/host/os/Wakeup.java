package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.Objects;

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
        return poll(List.of(fd), NO_DEADLINE).ended() == Ended.READY;
    }

    /** How a bounded {@link #await(Fd, long)} ended. */
    public enum Ended { READY, WOKEN, DEADLINE }

    /**
     * As {@link #await(Fd)}, but also ends at {@code deadlineNanos} (on the {@link System#nanoTime()} scale).
     * A closed {@code fd} counts as woken.
     */
    public Ended await(Fd fd, long deadlineNanos) throws OsException {
        return poll(List.of(fd), deadlineNanos).ended();
    }

    /** How {@link #awaitAny} ended, and on {@link Ended#READY} which of the descriptors are ready, by their index. */
    public record Any(Ended ended, BitSet ready) {
        public Any {
            Objects.requireNonNull(ended);
            ready = (BitSet) ready.clone();
        }

        public boolean isReady(int index) {
            return ready.get(index);
        }
    }

    /**
     * As {@link #await(Fd, long)}, over several descriptors at once: returns when at least one of them is
     * readable (or hung up), on {@link #wake()}, or at {@code deadlineNanos}. One poll(2), no sleeping.
     * A descriptor closed meanwhile counts as woken.
     */
    public Any awaitAny(List<? extends Pollable> waitables, long deadlineNanos) throws OsException {
        var fds = new ArrayList<Fd>(waitables.size());
        for (var w : waitables) fds.add(w.pollFd());
        return poll(fds, deadlineNanos);
    }

    /** No deadline: poll(2) without a timeout. */
    private static final long NO_DEADLINE = Long.MAX_VALUE;

    /** The one poll loop: {@code targets} and this eventfd together, until one is ready, a wake, or the deadline. */
    private Any poll(List<Fd> targets, long deadlineNanos) throws OsException {
        var none = new BitSet();
        if (woken) return new Any(Ended.WOKEN, none);
        int count = targets.size();
        var borrowed = new ArrayList<Fd>(count + 1);
        try (var arena = Arena.ofConfined()) {
            var fds = arena.allocate(Io.POLLFD, count + 1);
            for (int i = 0; i <= count; i++) {
                var fd = i < count ? targets.get(i) : eventfd;
                int n = fd.acquire();
                if (n < 0) return new Any(Ended.WOKEN, none);
                borrowed.add(fd);
                var slot = fds.asSlice(i * Io.POLLFD.byteSize());
                Io.POLLFD_FD.set(slot, 0L, n);
                Io.POLLFD_EVENTS.set(slot, 0L, (short) Io.POLLIN);
            }
            var mine = fds.asSlice(count * Io.POLLFD.byteSize());
            for (;;) {
                int n;
                if (deadlineNanos == NO_DEADLINE) {
                    n = Io.poll(fds, count + 1);
                } else {
                    long left = deadlineNanos - System.nanoTime();
                    // rounded up, so that a deadline 0.4 ms away is waited for rather than spun on
                    int millis = left <= 0 ? 0 : (int) Math.min(Integer.MAX_VALUE, (left + 999_999) / 1_000_000);
                    n = Io.poll(fds, count + 1, millis);
                }
                if (n < 0) throw new OsException("poll", count > 0 ? targets.getFirst().what() : "wakeup", -n);
                if ((short) Io.POLLFD_REVENTS.get(mine, 0L) != 0 || woken) return new Any(Ended.WOKEN, none);
                var ready = new BitSet();
                for (int i = 0; i < count; i++) {
                    short revents = (short) Io.POLLFD_REVENTS.get(fds.asSlice(i * Io.POLLFD.byteSize()), 0L);
                    // the use count makes POLLNVAL impossible short of a bug elsewhere in the process
                    if ((revents & Io.POLLNVAL) != 0) throw new OsException("poll", targets.get(i).what(), Errno.EBADF);
                    if (revents != 0) ready.set(i);
                }
                if (!ready.isEmpty()) return new Any(Ended.READY, ready);
                if (deadlineNanos != NO_DEADLINE && deadlineNanos - System.nanoTime() <= 0) return new Any(Ended.DEADLINE, none);
            }
        } finally {
            for (var fd : borrowed) fd.release();
        }
    }

    @Override
    public void close() {
        wake(); // a thread still in await must not sleep on a descriptor that is going away
        eventfd.close();
    }
}
