package io.unwedge.host.os;

/**
 * Something {@link Wakeup#awaitAny} can wait on with others in one poll(2): a pidfd (readable once its
 * process exits), an inotify instance (readable while events are queued).
 */
public sealed interface Pollable permits Pidfd, Inotify {
    /** The descriptor poll(2) watches for POLLIN; borrowed for each wait, never closed by the waiter. */
    Fd pollFd();
}
