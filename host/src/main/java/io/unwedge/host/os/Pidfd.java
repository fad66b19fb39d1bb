package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.util.Optional;

/**
 * A process descriptor, pidfd_open(2): a handle on one process that a recycled pid can never redirect.
 *
 * <h2>Why a pidfd, and the order of things</h2>
 * A pid read from {@code /proc} is a name that the kernel hands to the next process once its owner has been
 * reaped; {@code kill(pid)} after that hits a stranger. A pidfd names the process itself:
 * pidfd_send_signal(2) on it fails with ESRCH once that process has exited, whatever the pid number now
 * belongs to. So a caller (the drain) first opens the pidfd, then checks through {@code /proc/<pid>} that the
 * process is still the one it means (still a holder), then signals through the pidfd: if the pid was
 * recycled between the scan and the open, the check sees a process that does not hold the device; if it was
 * recycled after the open, the signal goes to the exited process and fails with ESRCH.
 *
 * <p>Exit is waited for by poll(2): a pidfd becomes readable (POLLIN) when its process exits (kernel 5.3+),
 * together with a {@link Wakeup} so that a stopping daemon does not sit out a grace period.
 *
 * <p>Both calls go through syscall(2), whose numbers (424, 434) are the same on every architecture since
 * they were added after the syscall tables were unified (Linux 5.1/5.3); the glibc wrappers are younger
 * (2.36) than some distributions unwedge runs on.
 */
public final class Pidfd implements AutoCloseable, Pollable {

    public static final int SIGKILL = 9;
    public static final int SIGTERM = 15;

    private static final long SYS_PIDFD_SEND_SIGNAL = 424;
    private static final long SYS_PIDFD_OPEN = 434;

    /** long syscall(long number, ...): the arguments after the number are varargs, passed as longs. */
    private static final MethodHandle SYSCALL = Libc.variadic("syscall",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG, JAVA_LONG), 1);

    private final Fd fd;
    private final int pid;

    private Pidfd(Fd fd, int pid) {
        this.fd = fd;
        this.pid = pid;
    }

    /**
     * Opens a pidfd on {@code pid}; empty when no such process exists (ESRCH: it exited, or was never there).
     * The descriptor is close-on-exec, as pidfd_open always makes it.
     */
    public static Optional<Pidfd> open(int pid) throws OsException {
        if (pid <= 0) throw new IllegalArgumentException("pid must be positive: " + pid);
        long r;
        try (var arena = Arena.ofConfined()) {
            r = Libc.retrying(arena, s -> (long) SYSCALL.invokeExact(s, SYS_PIDFD_OPEN, (long) pid, 0L, 0L, 0L));
        }
        if (r == -Errno.ESRCH) return Optional.empty();
        if (r < 0) throw new OsException("pidfd_open", "pid " + pid, (int) -r);
        return Optional.of(new Pidfd(new Fd((int) r, "pidfd " + pid), pid));
    }

    public int pid() {
        return pid;
    }

    /**
     * Sends {@code signal} to this process, never to another that took its number. Returns false when the
     * process has already exited (ESRCH): nothing was sent, which for a drain is the outcome it wanted.
     */
    public boolean signal(int signal) throws OsException {
        int n = fd.acquireOrThrow("pidfd_send_signal");
        try (var arena = Arena.ofConfined()) {
            long r = Libc.retrying(arena, s -> (long) SYSCALL.invokeExact(s, SYS_PIDFD_SEND_SIGNAL, (long) n, (long) signal,
                    MemorySegment.NULL.address(), 0L));
            if (r == -Errno.ESRCH) return false;
            if (r < 0) throw new OsException("pidfd_send_signal", "pid " + pid + ", signal " + signal, (int) -r);
            return true;
        } finally {
            fd.release();
        }
    }

    /** Whether the process has exited, without waiting. */
    public boolean hasExited() throws OsException {
        int n = fd.acquireOrThrow("poll");
        try (var arena = Arena.ofConfined()) {
            var p = arena.allocate(Io.POLLFD);
            Io.POLLFD_FD.set(p, 0L, n);
            Io.POLLFD_EVENTS.set(p, 0L, (short) Io.POLLIN);
            int r = Io.poll(p, 1, 0);
            if (r < 0) throw new OsException("poll", fd.what(), -r);
            return ((short) Io.POLLFD_REVENTS.get(p, 0L) & Io.POLLIN) != 0;
        } finally {
            fd.release();
        }
    }

    /**
     * Waits until the process exits ({@link Wakeup.Ended#READY}), {@code wakeup} is woken, or
     * {@code deadlineNanos} ({@link System#nanoTime()} scale) passes. No sleeping: one poll(2).
     */
    public Wakeup.Ended awaitExit(Wakeup wakeup, long deadlineNanos) throws OsException {
        return wakeup.await(fd, deadlineNanos);
    }

    /** Readable once the process has exited. */
    @Override
    public Fd pollFd() {
        return fd;
    }

    /** Idempotent. Closing a pidfd does nothing to the process. */
    @Override
    public void close() {
        fd.close();
    }

    @Override
    public String toString() {
        return fd.toString();
    }
}
