package io.unwedge.host.os;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.util.Map;
import java.util.Optional;

/**
 * The service manager's notification protocol, sd_notify(3), without libsystemd: each state is one
 * datagram of newline-separated {@code KEY=VALUE} lines sent on an AF_UNIX SOCK_DGRAM socket to
 * {@code $NOTIFY_SOCKET} (a path, or {@code @name} in the abstract namespace). Without the variable every
 * call does nothing: the daemon runs the same under systemd, under a test and in a terminal.
 *
 * <p>One socket is opened at start and kept (sd_notify opens one per call; keeping it means a notification
 * cannot fail for want of a descriptor later). It is SOCK_CLOEXEC, so a child never inherits it. The
 * environment variable is not unset: Java cannot, and nothing the daemon starts is a service.
 */
public final class SdNotify implements AutoCloseable {

    public static final String NOTIFY_SOCKET = "NOTIFY_SOCKET";
    public static final String WATCHDOG_USEC = "WATCHDOG_USEC";
    public static final String WATCHDOG_PID = "WATCHDOG_PID";

    private final Optional<Sockets.UnixAddress> target;
    private final Optional<Fd> socket;

    private SdNotify(Optional<Sockets.UnixAddress> target, Optional<Fd> socket) {
        this.target = target;
        this.socket = socket;
    }

    /** The notifier {@code $NOTIFY_SOCKET} names, or one that does nothing when it is unset or empty. */
    public static SdNotify fromEnvironment(Map<String, String> env) throws OsException {
        var value = env.get(NOTIFY_SOCKET);
        if (value == null || value.isEmpty()) return new SdNotify(Optional.empty(), Optional.empty());
        var address = Sockets.UnixAddress.parse(value);
        var socket = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, 0, "NOTIFY_SOCKET");
        return new SdNotify(Optional.of(address), Optional.of(socket));
    }

    /** Whether notifications go anywhere. */
    public boolean enabled() {
        return target.isPresent();
    }

    public Optional<Sockets.UnixAddress> target() {
        return target;
    }

    /**
     * Sends {@code state} (one or more {@code KEY=VALUE} lines) as one datagram; does nothing when disabled.
     * Failures (the manager gone: ECONNREFUSED, ENOENT) are thrown; the caller logs them and carries on.
     */
    public void send(String state) throws OsException {
        if (target.isEmpty()) return;
        try (var arena = Arena.ofConfined()) {
            byte[] bytes = state.getBytes(StandardCharsets.UTF_8);
            var data = arena.allocate(Math.max(1, bytes.length));
            data.copyFrom(java.lang.foreign.MemorySegment.ofArray(bytes));
            Sockets.sendto(socket.orElseThrow(), data.asSlice(0, bytes.length), target.get());
        }
    }

    /** {@code READY=1}, with a status line when one is given. */
    public void ready(String status) throws OsException {
        send(status == null || status.isEmpty() ? "READY=1" : "READY=1\nSTATUS=" + oneLine(status));
    }

    public void status(String status) throws OsException {
        send("STATUS=" + oneLine(status));
    }

    public void watchdog() throws OsException {
        send("WATCHDOG=1");
    }

    public void stopping() throws OsException {
        send("STOPPING=1");
    }

    /**
     * The watchdog interval the manager expects pings within, as sd_watchdog_enabled(3) reads it:
     * {@code $WATCHDOG_USEC} set and positive, and {@code $WATCHDOG_PID} unset or this process. Empty
     * when no watchdog is asked for; a malformed value is a watchdog not asked for either (sd_watchdog_enabled
     * returns an error then, and the manager would have written a number).
     */
    public static Optional<Duration> watchdogInterval(Map<String, String> env, long ownPid) {
        var usec = env.get(WATCHDOG_USEC);
        if (usec == null || usec.isEmpty()) return Optional.empty();
        long micros;
        try {
            micros = Long.parseLong(usec);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
        if (micros <= 0) return Optional.empty();
        var pid = env.get(WATCHDOG_PID);
        if (pid != null && !pid.isEmpty()) {
            try {
                if (Long.parseLong(pid) != ownPid) return Optional.empty();
            } catch (NumberFormatException e) {
                return Optional.empty();
            }
        }
        return Optional.of(Duration.ofNanos(Math.multiplyExact(micros, 1000L)));
    }

    /** A newline would start a new KEY=VALUE line: a status is one line. */
    private static String oneLine(String s) {
        return s.replace('\n', ' ');
    }

    @Override
    public void close() {
        socket.ifPresent(Fd::close);
    }
}
