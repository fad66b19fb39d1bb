package io.unwedge.cli;

import static io.unwedge.cli.CommandLineIT.requireNamespace;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.Step;
import io.unwedge.daemon.CrashPoint;
import io.unwedge.daemon.journal.Journal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Optional;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The daemon SIGKILLed at each step boundary of a recovery (UNWEDGE_CRASH_AT, test only), then started again
 * without the switch: the device must end bound with its card, and the journal must hold no unfinished
 * recovery, the crashed one closed with what the restart found and did. Packaged jar, `sim run` and both
 * daemons in one fresh network namespace; the simulator outlives the crash, as a real kernel would.
 */
class CrashIT {

    static final PciAddress GPU1 = PciAddress.parse("0000:06:00.0").orElseThrow();

    @TempDir Path dir;

    static Stream<String> points() {
        return CrashPoint.REBIND.stream();
    }

    /** Each point of a bus reset and a cold reset, with the method that passes it. */
    static Stream<org.junit.jupiter.params.provider.Arguments> resetPoints() {
        return CrashPoint.RESETS.stream().map(p -> org.junit.jupiter.params.provider.Arguments.of(p,
                p.endsWith(":reset") ? "bus-reset" : "cold-reset"));
    }

    @ParameterizedTest(name = "{1} {0}")
    @MethodSource("resetPoints")
    void aDaemonKilledInABusOrColdResetLeavesADeviceTheRestartBringsBack(String point, String method) throws Exception {
        var r = crashAndRestart(point, method);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("crash-point " + point + " reached", "crash-exit=137", "restart-exit=0");
        assertBound(r);
        try (var j = Journal.openReadOnly(dir.resolve("lab").resolve("state"), InstantSource.system())) {
            assertThat(j.unfinished()).as(r.out()).isEmpty();
            var crashed = j.show(1).orElseThrow().recovery();
            assertThat(crashed.result()).as(r.out()).contains("recovered");
            assertThat(crashed.reason().orElseThrow()).startsWith("restart: ");
            assertThat(j.leftUnbound()).as("no device left unbound by unwedge").isEmpty();
        }
    }

    /**
     * A simulator and a daemon armed to die at {@code point} in one fresh network namespace; card1 wedged with
     * {@code methods}; then a second daemon that reconciles, stopped once the device is back. The output holds
     * both daemons' logs and the simulator's.
     */
    private Commands.Result crashAndRestart(String point, String methods) throws Exception {
        requireNamespace();
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        String java = String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
        Path simLog = dir.resolve("sim.log"), first = dir.resolve("daemon1.log"), second = dir.resolve("daemon2.log");
        Path function = root.resolve("sys/bus/pci/devices/" + GPU1);
        String daemon = java + " daemon --sysfs '" + root.resolve("sys") + "' --settle-ms 300";
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + simLog + "' 2>&1 &",
                "sim=$!",
                "UNWEDGE_CRASH_AT='" + point + "' " + daemon + " > '" + first + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 200); do grep -q daemon-start '" + first + "' && grep -q 'driver model running' '" + simLog + "' && break; sleep 0.05; done",
                java + " sim wedge --root '" + root + "' card1 --methods " + methods + " || exit 9",
                "wait $daemon; echo crash-exit=$?",
                // the restart, without the switch
                daemon + " > '" + second + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 300); do grep -q restart-reconciled '" + second + "' && break; sleep 0.05; done",
                // a retried wedge runs a whole new recovery
                "if grep -q action=retried '" + second + "'; then for i in $(seq 1 300); do grep -q recovery-end '" + second + "' && break; sleep 0.05; done; fi",
                "for i in $(seq 1 100); do [ -L '" + function + "/driver' ] && ls '" + function + "/drm' | grep -q '^card' && break; sleep 0.05; done",
                "kill -TERM $daemon; wait $daemon; echo restart-exit=$?",
                "kill -TERM $sim; wait $sim",
                "echo '--- first daemon'; cat '" + first + "'; echo '--- second daemon'; cat '" + second + "'; echo '--- sim'; cat '" + simLog + "'");
        return Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 120);
    }

    /** card1's function ends bound, with a card. */
    private void assertBound(Commands.Result r) throws Exception {
        Path function = dir.resolve("lab").resolve("sys/bus/pci/devices/" + GPU1);
        assertThat(function.resolve("driver")).as(r.out()).matches(p -> Files.isSymbolicLink(p), "is a driver link");
        try (var minors = Files.list(function.resolve("drm"))) {
            assertThat(minors.map(p -> p.getFileName().toString())).as(r.out()).anyMatch(n -> n.matches("card[0-9]+"));
        }
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("points")
    void aDaemonKilledAtEachPointLeavesTheDeviceBoundAndTheJournalClosedAfterARestart(String point) throws Exception {
        var r = crashAndRestart(point, "rebind,bus-reset");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).as("the first daemon died by SIGKILL at the point").contains(
                "crash-point-armed point=" + point, "crash-point " + point + " reached", "crash-exit=137", "restart-exit=0");
        assertThat(r.out().substring(r.out().indexOf("--- second daemon")))
                .contains("restart-unfinished recoveries=1", "restart-reconciled recovery=1 bdf=" + GPU1)
                .doesNotContain("crash-point");

        assertBound(r);
        try (var j = Journal.openReadOnly(dir.resolve("lab").resolve("state"), InstantSource.system())) {
            assertThat(j.unfinished()).as("no recovery left unfinished\n" + r.out()).isEmpty();
            var crashed = j.show(1).orElseThrow();
            assertThat(crashed.recovery().reason().orElseThrow()).as(r.out()).startsWith("restart: ");
            assertThat(crashed.recovery().driver()).contains("xe");
            var restarts = j.restarts(1);
            assertThat(restarts).as(r.out()).hasSize(1);
            String action = restarts.getFirst().action();
            switch (point) {
                case "after-intent:unbind" -> {
                    // never unbound: the wedge is handled again, as recovery 2
                    assertThat(action).isEqualTo("retried");
                    assertThat(crashed.recovery().result()).contains("failed");
                    var again = j.show(2).orElseThrow().recovery();
                    assertThat(again.result()).as(r.out()).contains("recovered");
                    assertThat(again.seqnum()).isEqualTo(crashed.recovery().seqnum());
                }
                case "after-write:unbind", "after-unbound", "after-intent:bind" -> {
                    // the device was left without a driver: the restart bound it back
                    assertThat(action).as(r.out()).isEqualTo("resumed");
                    assertThat(restarts.getFirst().found()).isEqualTo("unbound");
                    assertThat(crashed.recovery().result()).contains("recovered");
                    // the restart's bind, then the settle window a recovery would have watched
                    var steps = crashed.steps();
                    assertThat(steps.getLast().step()).isEqualTo(Step.SETTLE);
                    assertThat(steps.getLast().outcome()).contains("ok");
                    var bind = steps.get(steps.size() - 2);
                    assertThat(bind.step()).isEqualTo(Step.BIND);
                    assertThat(bind.outcome()).contains("ok");
                    assertThat(bind.detail().orElseThrow()).startsWith("restart: wrote " + GPU1);
                }
                default -> {
                    // the bind had been written (or done): found bound
                    assertThat(action).as(r.out()).isEqualTo("found-bound");
                    assertThat(crashed.recovery().result()).contains("recovered");
                    assertThat(crashed.recovery().reason().orElseThrow()).contains("found bound at restart as card1");
                }
            }
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10))
                    .allSatisfy(h -> assertThat(h.finished()).isTrue());
            assertThat(j.leftUnbound()).as("no device left unbound by unwedge").isEmpty();
        }
    }

    @Test
    void anUnknownCrashPointIsAUsageError() throws Exception {
        Files.createDirectories(dir.resolve("sys/devices"));
        var cmd = new java.util.ArrayList<>(List.of("env", CrashPoint.ENV + "=after-lunch"));
        cmd.addAll(Commands.java());
        cmd.addAll(List.of("daemon", "--sysfs", dir.resolve("sys").toString()));
        var r = Commands.exec(cmd, 30);
        assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.out()).contains("UNWEDGE_CRASH_AT must be one of after-intent:unbind", "not 'after-lunch'");
    }
}
