package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** {@code unwedge users}, packaged, against a virtual host and a child this test starts and kills. */
class UsersIT {

    @TempDir Path dir;
    Process child;

    @AfterEach
    void kill() {
        if (child != null) child.destroy();
    }

    Path host() throws Exception {
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        return root;
    }

    @Test
    void aChildHoldingTheNodeMakesItHeldAndItsEndMakesItFree() throws Exception {
        Path root = host();
        String sys = root.resolve("sys").toString(), dev = root.resolve("dev").toString();
        child = new ProcessBuilder("bash", "-c", "exec 3<'" + root.resolve("dev/dri/card1") + "'; echo ready; exec sleep 120")
                .redirectErrorStream(true).start();
        assertThat(new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine()).isEqualTo("ready");
        // "ready" comes before the exec: its name is sleep's only after it
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!java.nio.file.Files.readString(Path.of("/proc", Long.toString(child.pid()), "comm")).strip().equals("sleep")) {
            assertThat(System.nanoTime()).as("the child execs sleep").isLessThan(deadline);
            Thread.sleep(5);
        }

        var held = Commands.run(30, "users", "card1", "--sysfs", sys, "--dev", dev);
        assertThat(held.code()).as(held.out()).isEqualTo(ExitCode.FAILED.code);
        assertThat(held.out()).contains("card1 0000:06:00.0 xe: held by 1 process", " " + child.pid() + " ", "sleep",
                "fd 3 " + root.resolve("dev/dri/card1"));

        var byBdf = Commands.run(30, "users", "0000:06:00.0", "--sysfs", sys, "--dev", dev, "--json");
        assertThat(byBdf.code()).as(byBdf.out()).isEqualTo(ExitCode.FAILED.code);
        assertThat(byBdf.out()).contains("\"card\":\"card1\"", "\"free\":false", "\"pid\":" + child.pid(), "\"fd\":3");

        var other = Commands.run(30, "users", "card0", "--sysfs", sys, "--dev", dev);
        assertThat(other.code()).as(other.out()).isZero();
        assertThat(other.out()).contains("card0 0000:03:00.0 xe: free");

        var all = Commands.run(30, "users", "--all", "--sysfs", sys);
        assertThat(all.code()).as(all.out()).isEqualTo(ExitCode.FAILED.code);
        assertThat(all.out()).contains("card0 0000:03:00.0 xe: free", "card1 0000:06:00.0 xe: held by 1 process");

        child.destroy();
        child.waitFor();
        var free = Commands.run(30, "users", "card1", "--sysfs", sys, "--dev", dev);
        assertThat(free.code()).as(free.out()).isZero();
        assertThat(free.out()).contains("card1 0000:06:00.0 xe: free");
    }

    @Test
    void allAttributesEachHolderToItsOwnDevice() throws Exception {
        Path root = host();
        String sys = root.resolve("sys").toString(), dev = root.resolve("dev").toString();
        // one process holds both cards (card0 and card1's render node), this one only card0
        child = new ProcessBuilder("bash", "-c", "exec 3<'" + root.resolve("dev/dri/card0") + "' 4<'" + root.resolve("dev/dri/renderD129")
                + "'; echo ready; exec sleep 120").redirectErrorStream(true).start();
        assertThat(new BufferedReader(new InputStreamReader(child.getInputStream(), StandardCharsets.UTF_8)).readLine()).isEqualTo("ready");
        var second = new ProcessBuilder("bash", "-c", "exec 5<'" + root.resolve("dev/dri/card0") + "'; echo ready; exec sleep 120")
                .redirectErrorStream(true).start();
        try {
            assertThat(new BufferedReader(new InputStreamReader(second.getInputStream(), StandardCharsets.UTF_8)).readLine()).isEqualTo("ready");
            var all = Commands.run(30, "users", "--all", "--sysfs", sys, "--dev", dev, "--json");
            assertThat(all.code()).as(all.out()).isEqualTo(ExitCode.FAILED.code);
            String card0 = all.out().substring(all.out().indexOf("\"card\":\"card0\""), all.out().indexOf("\"card\":\"card1\""));
            String card1 = all.out().substring(all.out().indexOf("\"card\":\"card1\""));
            assertThat(card0).contains("\"pid\":" + child.pid(), "\"pid\":" + second.pid(), "\"fd\":3", "\"fd\":5").doesNotContain("\"fd\":4");
            assertThat(card1).contains("\"pid\":" + child.pid(), "\"fd\":4").doesNotContain("\"pid\":" + second.pid(), "\"fd\":3");
        } finally {
            second.destroy();
            second.waitFor();
        }
    }

    @Test
    void noSuchDeviceExitsThree() throws Exception {
        Path root = host();
        var r = Commands.run(30, "users", "card7", "--sysfs", root.resolve("sys").toString());
        assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.NO_DEVICE.code);
        var b = Commands.run(30, "users", "0000:42:00.0", "--sysfs", root.resolve("sys").toString());
        assertThat(b.code()).as(b.out()).isEqualTo(ExitCode.NO_DEVICE.code);
        var bad = Commands.run(30, "users", "nonsense", "--sysfs", root.resolve("sys").toString());
        assertThat(bad.code()).as(bad.out()).isEqualTo(ExitCode.USAGE.code);
        var none = Commands.run(30, "users", "--sysfs", root.resolve("sys").toString());
        assertThat(none.code()).as(none.out()).isEqualTo(ExitCode.USAGE.code);
    }

    @Test
    void allOnThisMachineSaysPlainlyThereAreNoDrmDevices() throws Exception {
        // reads the real /sys (read only); this test machine has no GPU
        org.junit.jupiter.api.Assumptions.assumeFalse(java.nio.file.Files.isDirectory(Path.of("/dev/dri")), "this machine has DRM devices");
        var r = Commands.run(30, "users", "--all");
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("no DRM devices under /sys");
    }
}
