package io.unwedge.host.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.netlink.Delivery.Dropped;
import io.unwedge.host.netlink.Delivery.Kind;
import io.unwedge.host.netlink.Delivery.Received;
import io.unwedge.host.netlink.UeventSocket.NoReply;
import io.unwedge.host.netlink.UeventSocket.NotListening;
import io.unwedge.host.netlink.UeventSocket.Replied;
import io.unwedge.host.netlink.UeventSocket.Reply;
import io.unwedge.host.netlink.UeventSocket.Verdict;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Sockets;
import java.io.IOException;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon's uevent socket, real AF_UNIX sockets in a temporary directory: what is taken, what is refused and why. */
class UeventSocketTest {

    static final Duration WAIT = Duration.ofSeconds(5);

    @TempDir Path dir;

    /** A wedge of card1 as udev has it, SEQNUM {@code seqnum}. */
    static Uevent wedge(long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("MAJOR", "226");
        f.put("MINOR", "1");
        f.put("DEVNAME", "dri/card1");
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", Long.toString(seqnum));
        return Uevent.of("change", "/devices/pci0000:00/0000:00:01.0/0000:06:00.0/drm/card1", f);
    }

    /** Records what the socket hands over and answers every uevent with {@code accepted}. */
    static final class Recorder implements UeventSocket.Handler {
        final List<Received> received = new CopyOnWriteArrayList<>();
        final List<Dropped> dropped = new CopyOnWriteArrayList<>();
        final List<Sockets.Credentials> peers = new CopyOnWriteArrayList<>();

        @Override
        public Reply received(Received r, Sockets.Credentials peer) {
            received.add(r);
            peers.add(peer);
            return new Reply(Verdict.ACCEPTED, "seqnum " + r.event().get("SEQNUM"));
        }

        @Override
        public void dropped(Dropped d, Sockets.Credentials peer) {
            dropped.add(d);
            peers.add(peer);
        }
    }

    private final List<AutoCloseable> open = new ArrayList<>();
    private final List<Thread> servers = new ArrayList<>();

    /** Binds at {@code path} and serves with {@code handler} on a platform thread of its own. */
    UeventSocket serving(Path path, UeventSocket.Handler handler) throws IOException {
        var socket = UeventSocket.bind(path);
        open.add(socket);
        servers.add(Thread.ofPlatform().name("uevent-socket-test").start(() -> {
            try {
                socket.serve(handler);
            } catch (OsException e) {
                throw new RuntimeException(e);
            }
        }));
        return socket;
    }

    @AfterEach
    void closeAll() throws Exception {
        for (var c : open) c.close();
        for (var t : servers) {
            t.join(5000);
            assertThat(t.isAlive()).as("serve() returns once the socket is closed").isFalse();
        }
    }

    @Test
    void aUeventIsHandedOverWithThePeersCredentialsAndTheHandlersReplyComesBack() throws Exception {
        var recorder = new Recorder();
        Path path = dir.resolve("run/uevent.sock");
        var socket = serving(path, recorder);
        var answer = UeventSocket.send(path, wedge(5208), WAIT);
        assertThat(answer).isEqualTo(new Replied(new Reply(Verdict.ACCEPTED, "seqnum 5208")));
        assertThat(recorder.received).extracting(Received::event).containsExactly(wedge(5208));
        assertThat(recorder.peers.getFirst().pid()).isEqualTo(ProcessHandle.current().pid());
        assertThat(recorder.peers.getFirst().uid()).isEqualTo(Sockets.effectiveUid());
        assertThat(socket.counters()).isEqualTo(new Counters(1, 0, 0, 0, 0));
        // the directory it made is 0700, the socket 0600
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path.getParent()))).isEqualTo("rwx------");
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(path))).isEqualTo("rw-------");
    }

    @Test
    void aMessageThatIsNotAUeventIsRefusedWithTheReasonAndCounted() throws Exception {
        var recorder = new Recorder();
        Path path = dir.resolve("uevent.sock");
        var socket = serving(path, recorder);
        assertThat(raw(path, "hello\0".getBytes(StandardCharsets.UTF_8))).isEqualTo("malformed no-header: no action@/devpath header");
        assertThat(raw(path, "change@/devices/x\0ACTION=change\0DEVPATH=/devices/y\0".getBytes(StandardCharsets.UTF_8)))
                .startsWith("malformed header-mismatch:");
        assertThat(raw(path, "change@/devices/x\0ACTION=change\0DEVPATH=/devices/x\0SEQNUM=-1\0".getBytes(StandardCharsets.UTF_8)))
                .isEqualTo("malformed bad-seqnum: SEQNUM='-1'");
        byte[] huge = new byte[3 * UeventCodec.MAX_SIZE]; // read to its end all the same, so that the reply is read
        java.util.Arrays.fill(huge, (byte) 'A');
        assertThat(raw(path, huge)).isEqualTo("malformed message longer than 8192 bytes");
        assertThat(recorder.received).isEmpty();
        assertThat(recorder.dropped).extracting(Dropped::kind).containsExactly(Kind.MALFORMED, Kind.MALFORMED, Kind.MALFORMED, Kind.TRUNCATED);
        assertThat(socket.counters()).isEqualTo(new Counters(0, 0, 3, 1, 0));
        // and the socket still serves the next peer
        assertThat(UeventSocket.send(path, wedge(9), WAIT)).isInstanceOf(Replied.class);
        assertThat(recorder.received).hasSize(1);
    }

    @Test
    void aPeerThatNeverEndsItsMessageIsAnsweredAfterTheWaitAndTheNextIsServed() throws Exception {
        var recorder = new Recorder();
        Path path = dir.resolve("uevent.sock");
        serving(path, recorder);
        try (var silent = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            silent.connect(UnixDomainSocketAddress.of(path));
            silent.write(ByteBuffer.wrap(UeventCodec.encode(wedge(9)))); // and no end of stream
            long start = System.nanoTime();
            assertThat(readAll(silent)).isEqualTo("malformed no whole message within 2000 ms (one uevent, then the end of the stream)");
            assertThat(Duration.ofNanos(System.nanoTime() - start)).isGreaterThanOrEqualTo(UeventSocket.MESSAGE_WAIT.minusMillis(100));
        }
        assertThat(recorder.received).isEmpty();
        assertThat(UeventSocket.send(path, wedge(10), WAIT)).isInstanceOf(Replied.class);
    }

    @Test
    void nobodyThereIsNotListeningNotAnError() throws Exception {
        // no file: ENOENT
        var none = UeventSocket.send(dir.resolve("uevent.sock"), wedge(1), WAIT);
        assertThat(none).isInstanceOf(NotListening.class);
        assertThat(((NotListening) none).why()).contains("ENOENT");
        // a file a dead daemon left: ECONNREFUSED
        Path path = dir.resolve("stale.sock");
        leaveStale(path);
        var stale = UeventSocket.send(path, wedge(1), WAIT);
        assertThat(stale).isInstanceOf(NotListening.class);
        assertThat(((NotListening) stale).why()).contains("ECONNREFUSED");
    }

    @Test
    void aStaleSocketIsReplacedButALiveOneOrAnotherFileIsLeftAlone() throws Exception {
        Path path = dir.resolve("uevent.sock");
        leaveStale(path);
        var recorder = new Recorder();
        serving(path, recorder);
        assertThat(UeventSocket.send(path, wedge(3), WAIT)).isInstanceOf(Replied.class);
        // a second daemon would take the live one's place: refused, and the first still serves
        assertThatThrownBy(() -> UeventSocket.bind(path)).isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("another process is listening");
        assertThat(UeventSocket.send(path, wedge(4), WAIT)).isInstanceOf(Replied.class);
        Path file = Files.writeString(dir.resolve("not-a-socket"), "keep me");
        assertThatThrownBy(() -> UeventSocket.bind(file)).isInstanceOf(FileAlreadyExistsException.class).hasMessageContaining("is not a socket");
        assertThat(file).hasContent("keep me");
    }

    @Test
    void closingEndsServeAndRemovesTheFile() throws Exception {
        Path path = dir.resolve("uevent.sock");
        var socket = serving(path, new Recorder());
        socket.close();
        servers.getFirst().join(5000);
        assertThat(servers.getFirst().isAlive()).isFalse();
        assertThat(path).doesNotExist();
        assertThat(UeventSocket.send(path, wedge(1), WAIT)).isInstanceOf(NotListening.class);
        socket.close(); // idempotent
    }

    @Test
    void aListenerThatNeverAnswersIsNoReplyWithinTheTimeout() throws Exception {
        Path path = dir.resolve("mute.sock");
        try (var mute = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC, 0, "mute")) {
            Sockets.bind(mute, new Sockets.UnixAddress(path.toString(), false));
            Sockets.listen(mute, 4);
            var answer = UeventSocket.send(path, wedge(1), Duration.ofMillis(300));
            assertThat(answer).isInstanceOf(NoReply.class);
            assertThat(((NoReply) answer).why()).isEqualTo("no reply within 300 ms");
        }
    }

    @Test
    void aListenerWhoseQueueOfPeersIsFullIsNoReplyAtOnceNotAWaitForever() throws Exception {
        Path path = dir.resolve("full.sock");
        var queued = new java.util.ArrayList<java.nio.channels.SocketChannel>();
        try (var full = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC, 0, "full")) {
            Sockets.bind(full, new Sockets.UnixAddress(path.toString(), false));
            Sockets.listen(full, 1);
            // peers it never accepts, until the kernel takes no more
            while (queued.size() < 64) {
                var c = java.nio.channels.SocketChannel.open(java.net.StandardProtocolFamily.UNIX);
                c.configureBlocking(false);
                try {
                    c.connect(java.net.UnixDomainSocketAddress.of(path));
                    queued.add(c);
                } catch (java.io.IOException e) {
                    c.close();
                    break;
                }
            }
            assertThat(queued).as("the queue filled up").hasSizeLessThan(64);
            long t0 = System.nanoTime();
            var answer = UeventSocket.send(path, wedge(1), Duration.ofSeconds(2));
            assertThat(answer).isInstanceOf(NoReply.class);
            assertThat(((NoReply) answer).why()).contains("cannot connect");
            assertThat(System.nanoTime() - t0).as("within its timeout").isLessThan(Duration.ofSeconds(3).toNanos());
        } finally {
            for (var c : queued) c.close();
        }
    }

    @Test
    void aPeerOfAnotherUidIsDenied() throws Exception {
        Assumptions.assumeTrue(Sockets.effectiveUid() == 0, "needs root to run a peer as nobody");
        Assumptions.assumeTrue(Files.isExecutable(Path.of("/usr/bin/setpriv")), "needs setpriv(1)");
        // let nobody reach the socket at all, so that SO_PEERCRED is what stops it (not the file's mode)
        Files.setPosixFilePermissions(dir, PosixFilePermissions.fromString("rwxr-xr-x"));
        Path path = dir.resolve("uevent.sock");
        var recorder = new Recorder();
        var socket = serving(path, recorder);
        Files.setPosixFilePermissions(path, PosixFilePermissions.fromString("rw-rw-rw-"));
        var cmd = new ArrayList<>(List.of("/usr/bin/setpriv", "--reuid=65534", "--regid=65534", "--clear-groups", "--",
                Path.of(System.getProperty("java.home"), "bin", "java").toString(), "--enable-native-access=ALL-UNNAMED",
                "-cp", readableClasspath(), UeventSocketClient.class.getName(), path.toString()));
        var p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(out).as(out).contains("Replied[reply=denied peer uid 65534 (pid ", ") is neither root nor the daemon's uid]");
        assertThat(recorder.received).isEmpty();
        assertThat(recorder.dropped).extracting(Dropped::kind).containsExactly(Kind.SPOOFED);
        assertThat(recorder.peers.getFirst().uid()).isEqualTo(65534);
        assertThat(socket.counters().spoofed()).isEqualTo(1);
    }

    /** This module's classes and core's, copied where nobody may read them (~/.m2 may be closed to it). */
    private String readableClasspath() throws Exception {
        var parts = new ArrayList<String>();
        int i = 0;
        for (var c : List.of(UeventSocketClient.class, UeventSocket.class, Uevent.class)) {
            Path from = Path.of(c.getProtectionDomain().getCodeSource().getLocation().toURI());
            Path to = dir.resolve("cp" + i++);
            if (Files.isDirectory(from)) {
                try (var walk = Files.walk(from)) {
                    for (var p : walk.toList()) {
                        Path t = to.resolve(from.relativize(p).toString());
                        if (Files.isDirectory(p)) Files.createDirectories(t);
                        else Files.copy(p, t);
                    }
                }
            } else {
                Files.createDirectories(to);
                to = Files.copy(from, to.resolve(from.getFileName()));
            }
            try (var walk = Files.walk(dir.resolve("cp" + (i - 1)))) {
                for (var p : walk.toList()) Files.setPosixFilePermissions(p, PosixFilePermissions.fromString(Files.isDirectory(p) ? "rwxr-xr-x" : "rw-r--r--"));
            }
            parts.add(to.toString());
        }
        return String.join(":", parts);
    }

    /** A socket file with nobody behind it, as a daemon killed with SIGKILL leaves it. */
    static void leaveStale(Path path) throws OsException {
        try (var s = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_STREAM | Sockets.SOCK_CLOEXEC, 0, "dead daemon")) {
            Sockets.bind(s, new Sockets.UnixAddress(path.toString(), false));
            Sockets.listen(s, 1);
        }
        assertThat(path).exists();
    }

    /** Sends {@code bytes} as one message (then the end of the stream) and returns the reply line. */
    static String raw(Path path, byte[] bytes) throws IOException {
        try (var s = SocketChannel.open(StandardProtocolFamily.UNIX)) {
            s.connect(UnixDomainSocketAddress.of(path));
            var out = ByteBuffer.wrap(bytes);
            while (out.hasRemaining()) s.write(out);
            s.shutdownOutput();
            return readAll(s);
        }
    }

    /** The reply, to the end of the stream (blocking: the socket answers within its wait). */
    static String readAll(SocketChannel s) throws IOException {
        var in = ByteBuffer.allocate(UeventSocket.REPLY_MAX);
        while (in.hasRemaining() && s.read(in) >= 0) { }
        return new String(in.array(), 0, in.position(), StandardCharsets.UTF_8);
    }
}
