package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.lang.foreign.Arena;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * sd_notify against a socket this test binds itself, as the service manager would. Java's DatagramChannel
 * has no AF_UNIX (JDK 16 added it to SocketChannel and ServerSocketChannel only, and never the abstract
 * namespace), so the listener is the same FFM layer.
 */
class SdNotifyTest {

    @TempDir Path dir;

    /** The manager's end: a bound datagram socket and what arrived on it. */
    static final class Manager implements AutoCloseable {
        final Fd socket;

        Manager(Sockets.UnixAddress address) throws OsException {
            socket = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, 0, "test manager");
            Sockets.bind(socket, address);
        }

        List<String> received() throws OsException {
            var out = new ArrayList<String>();
            try (var arena = Arena.ofConfined()) {
                var buffer = arena.allocate(4096);
                for (;;) {
                    var n = Sockets.recv(socket, buffer, Sockets.MSG_DONTWAIT);
                    if (n.isEmpty()) return out;
                    out.add(new String(buffer.asSlice(0, n.getAsLong()).toArray(java.lang.foreign.ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8));
                }
            }
        }

        @Override
        public void close() {
            socket.close();
        }
    }

    void sendsEveryState(String notifySocket, Sockets.UnixAddress bound) throws Exception {
        try (var manager = new Manager(bound); var notify = SdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", notifySocket))) {
            assertThat(notify.enabled()).isTrue();
            notify.ready("2 cards");
            notify.status("3 cards, last: card1 recovered 412 ms");
            notify.watchdog();
            notify.stopping();
            notify.send("READY=1");
            assertThat(manager.received()).containsExactly(
                    "READY=1\nSTATUS=2 cards",
                    "STATUS=3 cards, last: card1 recovered 412 ms",
                    "WATCHDOG=1",
                    "STOPPING=1",
                    "READY=1");
        }
    }

    @Test
    void aPathSocketGetsEachStateAsOneDatagram() throws Exception {
        var path = dir.resolve("notify").toString();
        sendsEveryState(path, Sockets.UnixAddress.parse(path));
    }

    @Test
    void anAbstractSocketNamedWithAnAtGetsThemToo() throws Exception {
        var name = "unwedge-test-" + UUID.randomUUID();
        sendsEveryState("@" + name, new Sockets.UnixAddress(name, true));
    }

    @Test
    void theAbstractNameIsNotAPath() throws Exception {
        // a listener on the path "x" does not hear "@x": the address is really in the abstract namespace
        var name = dir.resolve("same-name").toString();
        try (var onPath = new Manager(new Sockets.UnixAddress(name, false)); var notify = SdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", "@" + name))) {
            assertThatThrownBy(() -> notify.send("READY=1")).isInstanceOf(OsException.class)
                    .hasMessageContaining("ECONNREFUSED");
            assertThat(onPath.received()).isEmpty();
        }
    }

    @Test
    void aNewlineInAStatusDoesNotStartAnotherAssignment() throws Exception {
        var path = dir.resolve("n2").toString();
        try (var manager = new Manager(Sockets.UnixAddress.parse(path)); var notify = SdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", path))) {
            notify.status("ok\nREADY=1");
            assertThat(manager.received()).containsExactly("STATUS=ok READY=1");
        }
    }

    @Test
    void withoutNotifySocketEveryCallDoesNothing() throws Exception {
        for (var env : List.of(Map.<String, String>of(), Map.of("NOTIFY_SOCKET", ""))) {
            try (var notify = SdNotify.fromEnvironment(env)) {
                assertThat(notify.enabled()).isFalse();
                notify.ready("x");
                notify.watchdog();
                notify.stopping();
            }
        }
    }

    @Test
    void aGoneManagerIsAnOsExceptionNamingTheCall() throws Exception {
        try (var notify = SdNotify.fromEnvironment(Map.of("NOTIFY_SOCKET", dir.resolve("nobody").toString()))) {
            assertThatThrownBy(notify::watchdog).isInstanceOf(OsException.class).hasMessageStartingWith("sendto(");
        }
    }

    @Test
    void addressesLongerThanSunPathAreRefused() {
        assertThatThrownBy(() -> Sockets.UnixAddress.parse("/" + "x".repeat(107))).isInstanceOf(IllegalArgumentException.class);
        assertThat(Sockets.UnixAddress.parse("/" + "x".repeat(106)).name()).hasSize(107);
    }

    @Test
    void theWatchdogIntervalIsReadAsSdWatchdogEnabledReadsIt() {
        assertThat(SdNotify.watchdogInterval(Map.of(), 42)).isEmpty();
        assertThat(SdNotify.watchdogInterval(Map.of("WATCHDOG_USEC", "30000000"), 42)).contains(Duration.ofSeconds(30));
        assertThat(SdNotify.watchdogInterval(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "42"), 42)).contains(Duration.ofSeconds(30));
        assertThat(SdNotify.watchdogInterval(Map.of("WATCHDOG_USEC", "30000000", "WATCHDOG_PID", "43"), 42)).isEmpty();
        assertThat(SdNotify.watchdogInterval(Map.of("WATCHDOG_USEC", "0"), 42)).isEmpty();
        assertThat(SdNotify.watchdogInterval(Map.of("WATCHDOG_USEC", "soon"), 42)).isEqualTo(Optional.empty());
    }
}
