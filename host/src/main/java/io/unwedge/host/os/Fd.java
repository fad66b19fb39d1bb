package io.unwedge.host.os;

/**
 * An owned file descriptor that is closed exactly once, and never while a call is using its number.
 *
 * <p>Why the use count: closing a descriptor that another thread is blocked on (poll, recvmsg) does not
 * wake that thread, and the number may be handed to the next open() at once, so the blocked thread would
 * then read someone else's file. Callers borrow the number around each call with {@link #acquire()} /
 * {@link #release()}; {@link #close()} marks the descriptor dead at once (new borrows fail) and the last
 * borrower performs the actual close(2). Waking the borrower is the owner's job (see {@link Wakeup}).
 */
public final class Fd implements AutoCloseable {

    private final int fd;
    private final String what;

    private int users;        // guarded by this
    private boolean closing;  // guarded by this
    private boolean closed;   // guarded by this

    Fd(int fd, String what) {
        if (fd < 0) throw new IllegalArgumentException("fd " + fd);
        this.fd = fd;
        this.what = what;
    }

    /** What the descriptor is, for messages: {@code "NETLINK_KOBJECT_UEVENT"}, {@code "inotify"}. */
    public String what() {
        return what;
    }

    public synchronized boolean isOpen() {
        return !closing;
    }

    /** Borrows the number for one call, or returns -1 once {@link #close()} has begun. */
    synchronized int acquire() {
        if (closing) return -1;
        users++;
        return fd;
    }

    void release() {
        boolean last;
        synchronized (this) {
            last = --users == 0 && closing && !closed;
            if (last) closed = true;
        }
        if (last) Io.close(fd);
    }

    /** Borrows the number or fails like the kernel would on a closed descriptor. */
    int acquireOrThrow(String syscall) throws OsException {
        int n = acquire();
        if (n < 0) throw new OsException(syscall, what, Errno.EBADF);
        return n;
    }

    /** Idempotent. The close(2) result is ignored: on Linux the number is released whatever it says. */
    @Override
    public void close() {
        boolean now;
        synchronized (this) {
            if (closing) return;
            closing = true;
            now = users == 0;
            if (now) closed = true;
        }
        if (now) Io.close(fd);
    }

    @Override
    public String toString() {
        return "fd " + fd + " (" + what + ")";
    }
}
