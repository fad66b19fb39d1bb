package io.unwedge.host.netlink;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.unwedge.core.Rejected;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.netlink.Delivery.Closed;
import io.unwedge.host.netlink.Delivery.Dropped;
import io.unwedge.host.netlink.Delivery.Kind;
import io.unwedge.host.netlink.Delivery.Received;
import io.unwedge.host.os.Errno;
import io.unwedge.host.os.Fd;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Sockets;
import io.unwedge.host.os.Sockets.Credentials;
import io.unwedge.host.os.Sockets.UnixAddress;
import io.unwedge.host.os.Wakeup;
import java.io.IOException;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.lang.foreign.MemorySegment;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.LongAdder;

/**
 * The daemon's local socket for uevents that reach it some other way than the kernel's broadcast: udev's
 * copy of a wedge, handed over by {@code unwedge handle-uevent} from a {@code RUN} rule.
 *
 * <h2>Protocol</h2>
 * AF_UNIX, SOCK_SEQPACKET: connection-oriented, so a peer that finds nobody listening is told at once
 * (ENOENT: no file; ECONNREFUSED: a file left by a daemon that died) and can act by itself; and
 * message-oriented, so one message is one uevent, in the kernel's own wire format
 * ({@code action@devpath\0KEY=VALUE\0…}, exactly what {@link UeventCodec} decodes). One connection carries
 * one message and one reply: a UTF-8 line {@code <verdict> <detail>}, the verdict one of
 * {@link Verdict}'s tokens.
 *
 * <h2>Trust</h2>
 * The same as for a netlink message (CVE-2009-1185: udev once acted on a local user's message), by other
 * means: the socket file is 0600 in a directory this class makes 0700 when it makes it, and each peer's
 * SO_PEERCRED (recorded by the kernel at connect(2), not claimed by the peer) must be uid 0 or this
 * process's own ({@link #trustedPeer}). Then the message must decode. Anything else is dropped, counted
 * by kind like a netlink drop, and answered with why; nothing a peer does makes {@link #serve} fail.
 *
 * <h2>Threads</h2>
 * {@link #serve} answers one connection at a time on the calling thread (call it from a platform thread:
 * it blocks in poll(2)), each peer given {@link #MESSAGE_WAIT} to send; {@link #close()} from any thread
 * ends it.
 */
public final class UeventSocket implements AutoCloseable {

    private static final System.Logger LOG = System.getLogger(UeventSocket.class.getName());

    /** How long a connected peer may take to send its one message. */
    public static final Duration MESSAGE_WAIT = Duration.ofSeconds(2);

    /** Longest reply read or written: one line. */
    static final int REPLY_MAX = 1024;

    private static final int BACKLOG = 64;
    private static final int S_IFMT = 0170000, S_IFSOCK = 0140000;

    private final Path path;
    private final Fd listener;
    private final Wakeup wakeup;
    private final int ownUid;

    private final LongAdder received = new LongAdder();
    private final LongAdder spoofed = new LongAdder();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder truncated = new LongAdder();

    private UeventSocket(Path path, Fd listener, Wakeup wakeup, int ownUid) {
        this.path = path;
        this.listener = listener;
        this.wakeup = wakeup;
        this.ownUid = ownUid;
    }

    /** What the daemon made of one message; the first word of the reply. */
    public enum Verdict {
        /** a wedge, handed to its device */
        ACCEPTED,
        /** taken, but nothing to do: the same wedge already heard, or not a wedge */
        IGNORED,
        /** the daemon will not act on it (it is stopping) */
        REFUSED,
        /** the peer is neither root nor the daemon's own uid */
        DENIED,
        /** not a uevent in the kernel's wire format (or none, or too long) */
        MALFORMED;

        public String token() {
            return name().toLowerCase(Locale.ROOT);
        }

        public static Optional<Verdict> parse(String token) {
            for (var v : values()) if (v.token().equals(token)) return Optional.of(v);
            return Optional.empty();
        }
    }

    /** The one-line answer to one message. */
    public record Reply(Verdict verdict, String detail) {
        public Reply {
            Objects.requireNonNull(verdict, "verdict");
            detail = detail.replace('\n', ' ');
        }

        /** {@code accepted card1 0000:06:00.0 seqnum 5208}; an unreadable line is a refusal that says so. */
        public static Reply parse(String line) {
            int sp = line.indexOf(' ');
            var verdict = Verdict.parse(sp < 0 ? line : line.substring(0, sp));
            if (verdict.isEmpty()) return new Reply(Verdict.REFUSED, "unreadable reply: " + line);
            return new Reply(verdict.get(), sp < 0 ? "" : line.substring(sp + 1));
        }

        byte[] wire() {
            byte[] b = (verdict.token() + " " + detail).getBytes(StandardCharsets.UTF_8);
            return b.length <= REPLY_MAX ? b : java.util.Arrays.copyOf(b, REPLY_MAX);
        }

        @Override
        public String toString() {
            return verdict.token() + " " + detail;
        }
    }

    /** What the daemon does with the messages; called on the serving thread, one at a time. */
    public interface Handler {
        /** A uevent from a trusted peer: hand it on, and say what became of it. */
        Reply received(Received received, Credentials peer);

        /** A message refused here (untrusted peer, none, too long, not a uevent): count and log it; the reply is the socket's. */
        void dropped(Dropped dropped, Credentials peer);
    }

    /**
     * Binds and listens at {@code path}. A missing directory is made 0700; the socket file is made 0600. A
     * socket file left by a process that died (connect says ECONNREFUSED) is replaced; a live one, or a file
     * that is not a socket, is an error: the caller holds the daemon lock, so either is someone else's.
     */
    public static UeventSocket bind(Path path) throws IOException {
        path = path.toAbsolutePath();
        var address = new UnixAddress(path.toString(), false);
        var dir = path.getParent();
        if (!Files.isDirectory(dir)) Files.createDirectories(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        clearStale(path, address);
        // set up on locals, handed to the object only once all of it worked
        var socket = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_SEQPACKET | Sockets.SOCK_CLOEXEC | Sockets.SOCK_NONBLOCK, 0, "uevent.sock");
        Wakeup wakeup = null;
        boolean bound = false;
        try {
            Sockets.bind(socket, address);
            bound = true;
            // the file was made under the umask (0755 at worst: connect needs write, so nobody else could); now 0600
            Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-------"));
            Sockets.listen(socket, BACKLOG);
            wakeup = Wakeup.open();
            var s = new UeventSocket(path, socket, wakeup, Sockets.effectiveUid());
            socket = null;
            wakeup = null;
            return s;
        } finally {
            if (wakeup != null) wakeup.close();
            if (socket != null) {
                socket.close();
                if (bound) Files.deleteIfExists(path);
            }
        }
    }

    private static void clearStale(Path path, UnixAddress address) throws IOException {
        int mode;
        try {
            mode = (int) Files.getAttribute(path, "unix:mode", LinkOption.NOFOLLOW_LINKS);
        } catch (NoSuchFileException e) {
            return;
        }
        if ((mode & S_IFMT) != S_IFSOCK) throw new FileAlreadyExistsException(path.toString(), null, "exists and is not a socket; not touching it");
        try (var probe = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_SEQPACKET | Sockets.SOCK_CLOEXEC, 0, "uevent.sock probe")) {
            Sockets.connect(probe, address);
            throw new FileAlreadyExistsException(path.toString(), null, "another process is listening on it");
        } catch (OsException e) {
            if (e.errno() != Errno.ECONNREFUSED && e.errno() != Errno.ENOENT) throw e;
        }
        Files.deleteIfExists(path); // left by a process that died
    }

    public Path path() {
        return path;
    }

    /** Answers connections until {@link #close()}. */
    public void serve(Handler handler) throws OsException {
        try (var arena = Arena.ofConfined()) {
            var buffer = arena.allocate(UeventCodec.MAX_SIZE + 1); // one byte more: a longer message shows as too long
            while (wakeup.await(listener)) {
                var accepted = Sockets.accept(listener, Sockets.SOCK_CLOEXEC | Sockets.SOCK_NONBLOCK, "uevent.sock connection");
                if (accepted.isEmpty()) continue;
                try (var connection = accepted.get()) {
                    answer(connection, buffer, handler);
                } catch (OsException e) {
                    // one peer's trouble (it hung up: EPIPE, ECONNRESET) is not the socket's
                    LOG.log(Level.DEBUG, "uevent socket: {0}, ignoring connection.", e.getMessage());
                }
            }
        } catch (OsException e) {
            if (wakeup.isWoken()) return; // closed under us: EBADF
            throw e;
        }
    }

    private void answer(Fd connection, MemorySegment buffer, Handler handler) throws OsException {
        var peer = Sockets.peerCredentials(connection);
        Reply reply = switch (read(connection, buffer, peer)) {
            case Received r -> handler.received(r, peer);
            case Dropped d -> {
                handler.dropped(d, peer);
                yield new Reply(d.kind() == Kind.SPOOFED ? Verdict.DENIED : Verdict.MALFORMED, d.detail());
            }
            case Closed c -> null; // the socket is closing
            case Delivery.Overflow o -> throw new AssertionError("a connection does not overflow");
        };
        if (reply == null) return;
        try (var arena = Arena.ofConfined()) {
            Sockets.send(connection, arena.allocateFrom(JAVA_BYTE, reply.wire()), Sockets.MSG_NOSIGNAL | Sockets.MSG_DONTWAIT);
        }
    }

    /**
     * The checks, cheapest first once the message is in, each an early return; a dropped message is counted by
     * kind. The message is read even from a peer that will be denied: closing with its message unread would
     * reset the connection (ECONNRESET) and the peer would never read why.
     */
    private Delivery read(Fd connection, MemorySegment buffer, Credentials peer) throws OsException {
        long deadline = System.nanoTime() + MESSAGE_WAIT.toNanos();
        long length;
        for (;;) {
            switch (wakeup.await(connection, deadline)) {
                case WOKEN -> {
                    return new Closed();
                }
                case DEADLINE -> {
                    return drop(malformed, Kind.MALFORMED, "no message within " + MESSAGE_WAIT.toMillis() + " ms");
                }
                case READY -> { }
            }
            var n = Sockets.recv(connection, buffer, Sockets.MSG_DONTWAIT);
            if (n.isPresent()) {
                length = n.getAsLong();
                break;
            }
            // readable, but nothing after all: wait again
        }
        long now = System.nanoTime();
        if (!trustedPeer(peer)) {
            return drop(spoofed, Kind.SPOOFED, "peer uid " + Integer.toUnsignedString(peer.uid()) + " (pid " + peer.pid()
                    + ") is neither root nor the daemon's uid");
        }
        if (length > UeventCodec.MAX_SIZE) {
            return drop(truncated, Kind.TRUNCATED, "message longer than " + UeventCodec.MAX_SIZE + " bytes");
        }
        return switch (UeventCodec.decode(buffer.asSlice(0, length).toArray(JAVA_BYTE))) {
            case Rejected r -> drop(malformed, Kind.MALFORMED, r.toString());
            case Uevent event -> {
                received.increment();
                yield new Received(event, now);
            }
        };
    }

    /**
     * Who may hand over a uevent: root (udev runs RUN programs as root) and the daemon's own uid (a daemon
     * run by hand, in a rehearsal, and its handle-uevent). Nobody else: a wedge makes the daemon unbind a
     * GPU and signal its users.
     */
    private boolean trustedPeer(Credentials peer) {
        return peer.uid() == 0 || peer.uid() == ownUid;
    }

    private static Dropped drop(LongAdder counter, Kind kind, String detail) {
        counter.increment();
        LOG.log(Level.DEBUG, "uevent socket {0}: {1}, ignoring message.", kind, detail);
        return new Dropped(kind, detail);
    }

    /** What the socket has seen since it was bound (it never overflows). */
    public Counters counters() {
        return new Counters(received.sum(), spoofed.sum(), malformed.sum(), truncated.sum(), 0);
    }

    /** Idempotent. {@link #serve} returns; the socket file goes. */
    @Override
    public void close() {
        if (!listener.isOpen()) return;
        wakeup.wake();
        listener.close();
        wakeup.close();
        try {
            Files.deleteIfExists(path);
        } catch (IOException e) {
            LOG.log(Level.DEBUG, "uevent socket: cannot remove {0}: {1}", path, e.getMessage());
        }
    }

    @Override
    public String toString() {
        return "UeventSocket[" + path + "]";
    }

    // ---- the peer's side: unwedge handle-uevent ----

    /** What became of {@link #send}. */
    public sealed interface Answer permits Replied, NotListening, NoReply {}

    /** The daemon's reply. */
    public record Replied(Reply reply) implements Answer {}

    /** Nobody serves the path: no such file (ENOENT), or a file nobody listens on (ECONNREFUSED, a daemon that died). */
    public record NotListening(String why) implements Answer {}

    /** Someone listens but did not answer in time, or hung up without a reply. */
    public record NoReply(String why) implements Answer {}

    /**
     * Hands {@code event} to whoever serves {@code path} and waits up to {@code timeout} for each of connect,
     * send and the reply. Errors other than "nobody there" and "no answer" (EACCES: not root) are thrown.
     */
    public static Answer send(Path path, Uevent event, Duration timeout) throws OsException {
        byte[] bytes = UeventCodec.encode(event);
        if (bytes.length > UeventCodec.MAX_SIZE) throw new IllegalArgumentException("a uevent of " + bytes.length + " bytes, limit " + UeventCodec.MAX_SIZE);
        var address = new UnixAddress(path.toString(), false);
        try (var socket = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_SEQPACKET | Sockets.SOCK_CLOEXEC, 0, "uevent.sock");
             var arena = Arena.ofConfined()) {
            Sockets.setTimeout(socket, Sockets.SO_SNDTIMEO, timeout);
            Sockets.setTimeout(socket, Sockets.SO_RCVTIMEO, timeout);
            try {
                Sockets.connect(socket, address);
            } catch (OsException e) {
                if (e.errno() == Errno.ENOENT || e.errno() == Errno.ECONNREFUSED) return new NotListening(path + ": " + Errno.describe(e.errno()));
                if (e.errno() == Errno.EAGAIN) return new NoReply("its queue stayed full for " + timeout.toMillis() + " ms");
                throw e;
            }
            int recvFlags = 0;
            try {
                Sockets.send(socket, arena.allocateFrom(JAVA_BYTE, bytes), Sockets.MSG_NOSIGNAL);
            } catch (OsException e) {
                if (e.errno() == Errno.EAGAIN) return new NoReply("it took no message within " + timeout.toMillis() + " ms");
                if (e.errno() != Errno.EPIPE && e.errno() != Errno.ECONNRESET) throw e;
                // it may have answered before reading (a peer it does not trust is told so at once) and hung up
                recvFlags = Sockets.MSG_DONTWAIT;
            }
            var buffer = arena.allocate(REPLY_MAX);
            java.util.OptionalLong n;
            try {
                n = Sockets.recv(socket, buffer, recvFlags);
                if (n.isEmpty() && recvFlags != 0) return new NoReply("it hung up without a reply");
            } catch (OsException e) {
                if (e.errno() == Errno.ECONNRESET) return new NoReply("it hung up: " + Errno.describe(e.errno()));
                throw e;
            }
            if (n.isEmpty()) return new NoReply("no reply within " + timeout.toMillis() + " ms");
            if (n.getAsLong() == 0) return new NoReply("it hung up without a reply");
            return new Replied(Reply.parse(new String(buffer.asSlice(0, n.getAsLong()).toArray(JAVA_BYTE), StandardCharsets.UTF_8)));
        }
    }
}
