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
import java.net.ConnectException;
import java.net.SocketException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SelectionKey;
import java.nio.channels.Selector;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.AccessDeniedException;
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
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.LongAdder;

/**
 * The daemon's local socket for uevents that reach it some other way than the kernel's broadcast: udev's
 * copy of a wedge, handed over by {@code unwedge handle-uevent} from a {@code RUN} rule.
 *
 * <h2>Protocol</h2>
 * AF_UNIX, SOCK_STREAM, one connection per uevent: the peer writes one uevent in the kernel's own wire
 * format ({@code action@devpath\0KEY=VALUE\0…}, exactly what {@link UeventCodec} decodes) and shuts down
 * its writing side; the end of the stream is the end of the message. The daemon answers with one UTF-8 line,
 * {@code <verdict> <detail>} (the verdict one of {@link Verdict}'s tokens), and closes. Connection-oriented,
 * so a peer that finds nobody there is told at once (ENOENT: no file; ECONNREFUSED: a file left by a daemon
 * that died) and can act by itself.
 *
 * <p>Why a stream and not SOCK_SEQPACKET, which would frame the message by itself: the peer is a cold JVM
 * started by udev for each wedge, and the JDK's own {@code SocketChannel} speaks AF_UNIX streams, where
 * SOCK_SEQPACKET would need FFM: linking the downcalls costs that process more than the rest of its work
 * (docs/systemd.md, "udev", has the figures). The daemon's side is FFM, for SO_PEERCRED.
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
 * it blocks in poll(2)), each peer given {@link #MESSAGE_WAIT} to send its message; {@link #close()} from
 * any thread ends it.
 */
public final class UeventSocket implements AutoCloseable {

    /** Only the daemon's side logs: the peer's process is a cold JVM that need not start a logger. */
    private static final class Log {
        static final System.Logger LOG = System.getLogger(UeventSocket.class.getName());
    }

    /** How long a connected peer may take to send its one message. */
    public static final Duration MESSAGE_WAIT = Duration.ofSeconds(2);

    /** accept4(2)'s errors that pass: the process or the system short of descriptors or memory, a peer's protocol error. */
    private static final java.util.Set<Integer> SHORT_OF = java.util.Set.of(Errno.EMFILE, Errno.ENFILE, Errno.ENOBUFS, Errno.ENOMEM, Errno.EPROTO);
    /** How long the listener rests after one of them: the queue keeps the peers meanwhile. */
    private static final Duration BACK_OFF = Duration.ofMillis(100);

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
        /** not a uevent in the kernel's wire format (or none, or too long, or not ended in time) */
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
        var socket = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC | Sockets.SOCK_NONBLOCK, 0, "uevent.sock");
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
        try (var probe = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC, 0, "uevent.sock probe")) {
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
                Optional<Fd> accepted;
                try {
                    accepted = Sockets.accept(listener, Sockets.SOCK_CLOEXEC | Sockets.SOCK_NONBLOCK, "uevent.sock connection");
                } catch (OsException e) {
                    if (!SHORT_OF.contains(e.errno())) throw e;
                    // short of descriptors or memory for now: the peer waits in the queue, and is taken once there is some
                    Log.LOG.log(Level.WARNING, "uevent socket: {0}; trying again in {1} ms.", e.getMessage(), BACK_OFF.toMillis());
                    if (wakeup.awaitAny(java.util.List.<io.unwedge.host.os.Pollable>of(), System.nanoTime() + BACK_OFF.toNanos()).ended() == Wakeup.Ended.WOKEN) return;
                    continue;
                }
                if (accepted.isEmpty()) continue;
                try (var connection = accepted.get()) {
                    answer(connection, buffer, handler);
                } catch (OsException e) {
                    // one peer's trouble (it hung up: EPIPE, ECONNRESET) is not the socket's
                    Log.LOG.log(Level.DEBUG, "uevent socket: {0}, ignoring connection.", e.getMessage());
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
     * Reads the message to its end, then the checks, cheapest first, each an early return; a dropped message
     * is counted by kind. The stream is read to its end even from a peer that will be denied, and past
     * {@link UeventCodec#MAX_SIZE}: closing with bytes unread would reset the connection (ECONNRESET) and
     * the peer would never read why.
     */
    private Delivery read(Fd connection, MemorySegment buffer, Credentials peer) throws OsException {
        long deadline = System.nanoTime() + MESSAGE_WAIT.toNanos();
        long length = 0; // kept, at most MAX_SIZE + 1: one more says "too long"; the rest is read over it and dropped
        for (;;) {
            switch (wakeup.await(connection, deadline)) {
                case WOKEN -> {
                    return new Closed();
                }
                case DEADLINE -> {
                    return drop(malformed, Kind.MALFORMED, "no whole message within " + MESSAGE_WAIT.toMillis()
                            + " ms (one uevent, then the end of the stream)");
                }
                case READY -> { }
            }
            var n = Sockets.recv(connection, length > UeventCodec.MAX_SIZE ? buffer : buffer.asSlice(length), Sockets.MSG_DONTWAIT);
            if (n.isEmpty()) continue; // readable, but nothing after all: wait again
            if (n.getAsLong() == 0) break; // the end of the stream: the whole message
            if (length <= UeventCodec.MAX_SIZE) length += n.getAsLong();
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
        Log.LOG.log(Level.DEBUG, "uevent socket {0}: {1}, ignoring message.", kind, detail);
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
            Log.LOG.log(Level.DEBUG, "uevent socket: cannot remove {0}: {1}", path, e.getMessage());
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
     * Hands {@code event} to whoever serves {@code path} and waits up to {@code timeout} for the reply. With
     * the JDK's own AF_UNIX channel: no native code is linked in the peer's cold JVM. Errors other than "nobody
     * there" and "no answer" are thrown (a socket this process may not write: {@link AccessDeniedException}).
     * The whole exchange, connect(2) included, ends by {@code timeout}.
     */
    public static Answer send(Path path, Uevent event, Duration timeout) throws IOException {
        byte[] bytes = UeventCodec.encode(event);
        if (bytes.length > UeventCodec.MAX_SIZE) throw new IllegalArgumentException("a uevent of " + bytes.length + " bytes, limit " + UeventCodec.MAX_SIZE);
        long deadline = System.nanoTime() + timeout.toNanos();
        try (var channel = SocketChannel.open(StandardProtocolFamily.UNIX); var selector = Selector.open()) {
            // non-blocking from the connect on: a daemon whose queue of peers is full makes connect(2) fail
            // with EAGAIN at once, where a blocking one would wait for as long as the daemon does not accept
            channel.configureBlocking(false);
            try {
                if (!channel.connect(UnixDomainSocketAddress.of(path))) {
                    var connecting = channel.register(selector, SelectionKey.OP_CONNECT);
                    while (!channel.finishConnect()) {
                        if (!ready(selector, deadline)) return new NoReply("not connected within " + timeout.toMillis() + " ms");
                    }
                    connecting.cancel();
                    selector.selectNow(); // deregisters the cancelled key before the channel is registered again
                }
            } catch (ConnectException e) {
                return new NotListening(path + ": ECONNREFUSED (" + e.getMessage() + ")"); // a file nobody listens on
            } catch (SocketException e) {
                if (!Files.exists(path, LinkOption.NOFOLLOW_LINKS)) return new NotListening(path + ": ENOENT (No such file or directory)");
                if (!Files.isWritable(path)) throw new AccessDeniedException(path.toString(), null, "connect: " + e.getMessage());
                return new NoReply("cannot connect: " + e.getMessage() + " (a full queue of peers it has not taken: EAGAIN)");
            }
            try {
                var key = channel.register(selector, SelectionKey.OP_WRITE);
                var out = ByteBuffer.wrap(bytes);
                while (out.hasRemaining()) {
                    if (channel.write(out) == 0 && !ready(selector, deadline)) return new NoReply("it took no message within " + timeout.toMillis() + " ms");
                }
                channel.shutdownOutput(); // the end of the message
                key.interestOps(SelectionKey.OP_READ);
                var in = ByteBuffer.allocate(REPLY_MAX);
                while (in.hasRemaining()) {
                    int n = channel.read(in);
                    if (n < 0) break; // the end of the reply
                    if (n == 0 && !ready(selector, deadline)) return new NoReply("no reply within " + timeout.toMillis() + " ms");
                }
                if (in.position() == 0) return new NoReply("it hung up without a reply");
                return new Replied(Reply.parse(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8)));
            } catch (SocketException e) {
                return new NoReply("it hung up: " + e.getMessage()); // ECONNRESET, EPIPE
            }
        }
    }

    /** Waits for the channel registered with {@code selector} until {@code deadline}; false at the deadline. */
    private static boolean ready(Selector selector, long deadline) throws IOException {
        long left = deadline - System.nanoTime();
        if (left <= 0) return false;
        selector.selectedKeys().clear();
        return selector.select(Math.max(1, TimeUnit.NANOSECONDS.toMillis(left))) > 0 || deadline - System.nanoTime() > 0;
    }
}
