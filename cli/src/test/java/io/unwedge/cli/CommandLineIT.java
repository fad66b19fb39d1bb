package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.host.netlink.PrivateNetns;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged command, as a user runs it. */
class CommandLineIT {

    @TempDir Path dir;

    static void requireNamespace() {
        var reason = PrivateNetns.unavailableReason();
        if (reason.isPresent() && "true".equals(System.getenv("CI"))) {
            throw new AssertionError("CI=true but no private network namespace: " + reason.get());
        }
        Assumptions.assumeTrue(reason.isEmpty(), () -> "skipped: no private network namespace: " + reason.orElse(""));
    }

    @Test
    void theDemoRecoversTheWedgedGpuThroughTheKernelAndExitsZero() throws Exception {
        requireNamespace();
        var r = Commands.run(60, "demo");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("events: the real kernel", "step=unbind", "step=bind", "step=settle",
                "outcome    recovered", "0 interruptions, still up", "done in",
                "step=drain", "signal=SIGTERM", "signal=SIGKILL", "exited cleanly, stubborn pid", "was killed (SIGKILL)");
    }

    @Test
    void theDemoSaysPlainlyWhenItUsesTheInProcessPath() throws Exception {
        var r = Commands.run(60, "demo", "--in-process");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("in-process event path", "outcome    recovered");
    }

    @Test
    void simRunAndDaemonAsSeparateProcessesInOneNamespaceRecoverAWedge() throws Exception {
        requireNamespace();
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2", "--driver", "i915");
        assertThat(created.code()).as(created.out()).isZero();
        assertThat(created.out()).contains("card0 0000:03:00.0 i915", "card1 0000:06:00.0 i915");
        String java = String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
        // everything below shares one fresh network namespace, as `ip netns exec` would give
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + dir.resolve("sim.log") + "' 2>&1 &",
                "sim=$!",
                java + " daemon --sysfs '" + root.resolve("sys") + "' --settle-ms 300 > '" + dir.resolve("daemon.log") + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 200); do grep -q daemon-start '" + dir.resolve("daemon.log") + "' && grep -q 'driver model running' '" + dir.resolve("sim.log") + "' && break; sleep 0.05; done",
                java + " sim wedge --root '" + root + "' card1 --methods rebind,bus-reset --pid 4242 --task glxgears || exit 9",
                "for i in $(seq 1 300); do grep -q recovery-end '" + dir.resolve("daemon.log") + "' && break; sleep 0.05; done",
                "kill -TERM $daemon; wait $daemon; echo daemon-exit=$?",
                "kill -TERM $sim; wait $sim",
                "cat '" + dir.resolve("daemon.log") + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 90);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("card1: WEDGED=rebind,bus-reset", "wedged card=card1 bdf=0000:06:00.0", "task=glxgears[4242]",
                "outcome=recovered", "daemon-signal signal=SIGTERM", "daemon-stop", "daemon-exit=0");
    }

    @Test
    void helpListsTheExitCodes() throws Exception {
        var r = Commands.run(30, "--help");
        assertThat(r.code()).isZero();
        assertThat(r.out()).contains("demo", "daemon", "sim", "Exit codes:", "70  internal error");
    }

    @Test
    void theDaemonRefusesTheRealSysNamedAsAVirtualOne() throws Exception {
        var r = Commands.run(30, "daemon", "--sysfs", "/sys", "--state-dir", dir.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.REFUSED.code);
        assertThat(r.out()).contains("names the real /sys");
    }

    @Test
    void badInputGetsAClearErrorAndTheUsageExitCode() throws Exception {
        var r = Commands.run(30, "sim", "create", "--root", dir.resolve("x").toString(), "--driver", "nouveau");
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.out()).contains("--driver must be xe, i915 or amdgpu, not 'nouveau'");
        var fault = Commands.run(30, "sim", "fault", "--root", dir.toString(), "03:00.0", "--probe-failures", "1");
        assertThat(fault.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(fault.out()).contains("not a BDF");
    }

    @Test
    void aSimRequestWithoutARunningModelSaysWhatIsMissing() throws Exception {
        Path root = dir.resolve("lab");
        assertThat(Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "1").code()).isZero();
        var r = Commands.run(30, "sim", "wedge", "--root", root.toString(), "card0");
        assertThat(r.code()).isNotZero();
        assertThat(r.out()).contains("is `unwedge sim run --root");
    }

    @Test
    void simRunRefusesTheHostsOwnNetworkNamespace() throws Exception {
        Path root = dir.resolve("lab");
        assertThat(Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "1").code()).isZero();
        var r = Commands.run(30, "sim", "run", "--root", root.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.REFUSED.code);
        assertThat(r.out()).contains("refusing to send virtual uevents into the host's own network namespace");
    }
}
