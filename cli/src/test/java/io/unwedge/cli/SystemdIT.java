package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.host.os.Fd;
import io.unwedge.host.os.Sockets;
import java.lang.foreign.Arena;
import java.lang.foreign.ValueLayout;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged daemon as systemd runs it: {@code $NOTIFY_SOCKET} bound by the test (a path: an abstract
 * name would not cross into the daemon's fresh network namespace, abstract AF_UNIX names belong to one),
 * {@code $WATCHDOG_USEC}, JSON logs, SIGTERM.
 */
class SystemdIT {

    @TempDir Path dir;

    @Test
    void readyThenWatchdogPingsWhileIdleThenStoppingOnSigtermAndJsonLines() throws Exception {
        CommandLineIT.requireNamespace();
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        var address = new Sockets.UnixAddress(dir.resolve("notify").toString(), false);
        try (Fd manager = Sockets.socket(Sockets.AF_UNIX, Sockets.SOCK_DGRAM | Sockets.SOCK_CLOEXEC, 0, "test manager")) {
            Sockets.bind(manager, address);
            var cmd = new ArrayList<>(List.of("unshare", "--net", "--"));
            cmd.addAll(Commands.java());
            cmd.addAll(List.of("daemon", "--sysfs", root.resolve("sys").toString(), "--log-format", "json"));
            var pb = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(dir.resolve("daemon.log").toFile());
            pb.environment().put("NOTIFY_SOCKET", address.toString());
            pb.environment().put("WATCHDOG_USEC", "400000");
            pb.environment().remove("WATCHDOG_PID");
            pb.environment().remove("JOURNAL_STREAM");
            var daemon = pb.start();
            var states = new CopyOnWriteArrayList<String>();
            try {
                await(manager, states, s -> s.startsWith("READY=1"), 60, daemon);
                assertThat(states.getFirst()).isEqualTo("READY=1\nSTATUS=2 cards, listening");
                // idle, blocked on netlink: pinged every 200 ms all the same
                await(manager, states, s -> states.stream().filter("WATCHDOG=1"::equals).count() >= 3, 30, daemon);
                daemon.destroy(); // SIGTERM to the daemon we started (unshare execs it: same pid)
                await(manager, states, "STOPPING=1"::equals, 30, daemon);
                assertThat(daemon.waitFor(60, TimeUnit.SECONDS)).isTrue();
                assertThat(daemon.exitValue()).isZero();
            } finally {
                daemon.destroyForcibly();
            }
            var log = java.nio.file.Files.readAllLines(dir.resolve("daemon.log"));
            assertThat(log).isNotEmpty().allSatisfy(l -> assertThat(l).startsWith("{\"time\":\"").endsWith("}"));
            assertThat(String.join("\n", log)).contains("\"event\":\"daemon-start\"", "\"event\":\"watchdog\"",
                    "\"event\":\"sd-notify-ready\"", "\"event\":\"daemon-stop\"");
            assertThat(states).doesNotContain("WATCHDOG=1\n"); // each datagram is exactly one state
        }
    }

    @Test
    void anUnknownLogFormatIsAUsageError() throws Exception {
        var r = Commands.run(30, "daemon", "--sysfs", dir.resolve("sys").toString(), "--log-format", "yaml");
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.out()).contains("--log-format must be text or json, not 'yaml'");
    }

    /** Reads datagrams until one satisfies {@code until}; polls because the test has no event loop of its own. */
    static void await(Fd manager, List<String> states, Predicate<String> until, long seconds, Process daemon) throws Exception {
        long deadline = System.nanoTime() + TimeUnit.SECONDS.toNanos(seconds);
        try (var arena = Arena.ofConfined()) {
            var buffer = arena.allocate(4096);
            while (System.nanoTime() < deadline) {
                var n = Sockets.recv(manager, buffer, Sockets.MSG_DONTWAIT);
                if (n.isPresent()) {
                    var s = new String(buffer.asSlice(0, n.getAsLong()).toArray(ValueLayout.JAVA_BYTE), StandardCharsets.UTF_8);
                    states.add(s);
                    if (until.test(s)) return;
                } else {
                    Thread.sleep(20);
                }
            }
        }
        throw new AssertionError("not seen within " + seconds + " s; states: " + states + "; alive: " + daemon.isAlive());
    }
}
