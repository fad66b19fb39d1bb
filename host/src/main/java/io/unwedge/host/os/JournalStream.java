package io.unwedge.host.os;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;

/**
 * Whether this process's standard output is the journal. systemd.exec(5): the manager sets
 * {@code $JOURNAL_STREAM} to {@code DEVICE:INODE} (decimal) of the stream it connected stdout or stderr to,
 * and a service should compare it with its own descriptor rather than trust the variable alone: a child
 * that inherited the variable may have had its stdout redirected elsewhere.
 */
public final class JournalStream {

    public static final String JOURNAL_STREAM = "JOURNAL_STREAM";

    private JournalStream() {}

    /** True when {@code $JOURNAL_STREAM} names the file {@code /proc/self/fd/1} is (stat follows the link). */
    public static boolean isStdout(Map<String, String> env) {
        return matches(env.get(JOURNAL_STREAM), Path.of("/proc/self/fd/1"));
    }

    /** True when {@code value} is {@code DEVICE:INODE} of {@code file}; false for anything unreadable. */
    static boolean matches(String value, Path file) {
        if (value == null) return false;
        int colon = value.indexOf(':');
        if (colon <= 0) return false;
        try {
            long dev = Long.parseUnsignedLong(value.substring(0, colon));
            long ino = Long.parseUnsignedLong(value.substring(colon + 1));
            var attrs = Files.readAttributes(file, "unix:dev,ino");
            return ((Number) attrs.get("dev")).longValue() == dev && ((Number) attrs.get("ino")).longValue() == ino;
        } catch (NumberFormatException | IOException | UnsupportedOperationException e) {
            return false;
        }
    }
}
