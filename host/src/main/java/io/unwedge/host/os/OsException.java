package io.unwedge.host.os;

import java.io.IOException;
import java.nio.file.Path;
import java.util.Objects;
import java.util.Optional;

/**
 * The one exception the host layer throws: a system call failed with an errno that is not an expected
 * outcome. The message names the call, what it was called on and the errno, e.g.
 * {@code "bind(NETLINK_KOBJECT_UEVENT): EPERM (Operation not permitted)"}.
 */
public final class OsException extends IOException {

    private final String syscall;
    private final int errno;
    private final String path;

    /** A failure of {@code syscall} on something that is not a file, e.g. {@code "NETLINK_KOBJECT_UEVENT"}. */
    public OsException(String syscall, String subject, int errno) {
        super(message(syscall, subject, errno));
        this.syscall = Objects.requireNonNull(syscall, "syscall");
        this.errno = errno;
        this.path = null;
    }

    /** A failure of {@code syscall} on a file, e.g. inotify_add_watch on a directory. */
    public OsException(String syscall, Path path, int errno) {
        super(message(syscall, path.toString(), errno));
        this.syscall = Objects.requireNonNull(syscall, "syscall");
        this.errno = errno;
        this.path = path.toString();
    }

    private static String message(String syscall, String subject, int errno) {
        return syscall + "(" + (subject == null ? "" : subject) + "): " + Errno.describe(errno);
    }

    /** The bare name of the call, e.g. {@code "bind"}. */
    public String syscall() {
        return syscall;
    }

    public int errno() {
        return errno;
    }

    /** The file the call was about, when it was about one. */
    public Optional<String> path() {
        return Optional.ofNullable(path);
    }
}
