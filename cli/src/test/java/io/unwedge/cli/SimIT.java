package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged `sim` commands beyond rebind: faults, devcoredumps, survivability, the PCI attributes, by shell. */
class SimIT {

    @TempDir Path dir;

    @Test
    void createSaysWhatEachCardHasAndTheOptionsTakeItAway() throws Exception {
        var full = Commands.run(30, "sim", "create", "--root", dir.resolve("full").toString(), "--gpus", "1");
        assertThat(full.code()).as(full.out()).isZero();
        assertThat(full.out()).contains("card0 0000:03:00.0 xe  audio 0000:03:00.1  reset  slot 1 (0000:01:00)");
        var bare = Commands.run(30, "sim", "create", "--root", dir.resolve("bare").toString(), "--gpus", "1", "--driver", "amdgpu",
                "--no-audio", "--no-reset", "--no-slots");
        assertThat(bare.code()).as(bare.out()).isZero();
        assertThat(bare.out()).contains("card0 0000:03:00.0 amdgpu\n");
        assertThat(dir.resolve("bare/sys/bus/pci/devices/0000:03:00.0/reset")).doesNotExist();
        assertThat(dir.resolve("bare/sys/bus/pci/devices/0000:03:00.1")).doesNotExist();
    }

    @Test
    void faultOptionsAreCheckedBeforeAnythingIsAsked() throws Exception {
        Path root = dir.resolve("lab");
        assertThat(Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "1").code()).isZero();
        var bad = Commands.run(30, "sim", "fault", "--root", root.toString(), "0000:03:00.0", "--fail-write", "frobnicate=EBUSY");
        assertThat(bad.code()).as(bad.out()).isEqualTo(ExitCode.USAGE.code);
        assertThat(bad.out()).contains("--fail-write wants ATTR=ERRNO", "not 'frobnicate=EBUSY'");
        var none = Commands.run(30, "sim", "fault", "--root", root.toString(), "0000:03:00.0");
        assertThat(none.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(none.out()).contains("sim fault needs a fault to set");
        var negative = Commands.run(30, "sim", "wedge", "--root", root.toString(), "card0", "--devcoredump", "-5");
        assertThat(negative.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(negative.out()).contains("--devcoredump cannot be negative");
    }

    @Test
    void theKernelsBehaviourByShellAgainstARunningSim() throws Exception {
        CommandLineIT.requireNamespace();
        Path root = dir.resolve("lab");
        assertThat(Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2").code()).isZero();
        Path sys = root.resolve("sys");
        Path log = dir.resolve("sim.log");
        String java = String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
        String sim = java + " sim --root '" + root + "' ";
        String fn = sys + "/bus/pci/devices/0000:03:00.0";
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 20 --devcoredump-expiry-ms 60000 > '" + log + "' 2>&1 &",
                "pid=$!",
                "for i in $(seq 1 200); do grep -q 'driver model running' '" + log + "' && break; sleep 0.05; done",
                "waitfor() { for i in $(seq 1 200); do eval \"$1\" && return 0; sleep 0.05; done; echo \"timed out: $1\"; return 1; }",
                // a failing write, named in errors.log, and the device untouched
                java + " sim fault --root '" + root + "' 0000:03:00.0 --fail-write remove=EBUSY || exit 11",
                "echo 1 > '" + fn + "/remove'",
                "waitfor \"grep -q 'remove 0000:03:00.0: EBUSY (injected fault)' '" + root + "/sim/errors.log'\" || exit 12",
                "test -d '" + fn + "' || exit 13",
                // remove and rescan by hand
                "echo 1 > '" + fn + "/remove'",
                "waitfor \"! test -e '" + fn + "'\" || exit 14",
                "echo 1 > '" + sys + "/bus/pci/rescan'",
                "waitfor \"test -e '" + sys + "/class/drm/card0'\" || exit 15",
                // a devcoredump with a wedge, freed by a write
                java + " sim wedge --root '" + root + "' card0 --methods rebind --devcoredump 100 || exit 16",
                "test $(stat -c %s '" + sys + "/class/devcoredump/devcd1/data') = 100 || exit 17",
                "echo 1 > '" + sys + "/class/devcoredump/devcd1/data'",
                "waitfor \"! test -e '" + sys + "/devices/virtual/devcoredump/devcd1'\" || exit 18",
                // slot power: off, and on again
                "echo 0 > '" + sys + "/bus/pci/slots/2/power'",
                "waitfor \"! test -e '" + sys + "/bus/pci/devices/0000:04:00.0'\" || exit 19",
                "echo 0 > '" + sys + "/bus/pci/slots/2/power'",
                "waitfor \"grep -q 'power slot 2: ENODEV (already off)' '" + root + "/sim/errors.log'\" || exit 20",
                "echo 1 > '" + sys + "/bus/pci/slots/2/power'",
                "waitfor \"test -e '" + sys + "/class/drm/card1'\" || exit 21",
                // xe's survivability mode and the flash that ends it
                java + " sim survivability --root '" + root + "' card1 || exit 22",
                "head -1 '" + sys + "/bus/pci/devices/0000:06:00.0/survivability_mode'",
                java + " sim flash --root '" + root + "' 0000:06:00.0 || exit 23",
                "test -e '" + sys + "/bus/pci/devices/0000:06:00.0/survivability_mode' && exit 24",
                java + " sim devcoredump --root '" + root + "' card7 && exit 25",
                "kill -TERM $pid; wait $pid",
                "cat '" + log + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 120);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("fault set on 0000:03:00.0", "card0: WEDGED=rebind devcd1", "Survivability mode type: Runtime",
                "card1: WEDGED=vendor-specific survivability_mode: Runtime", "flashed 0000:06:00.0",
                "no bound GPU has card7",
                "sim: rescan: 0000:03:00.0 found", "sim: devcoredump devcd1 freed: data written", "sim: power slot 2: off", "sim: power slot 2: on");
        assertThat(Files.readString(root.resolve("sim/errors.log"))).contains("EBUSY (injected fault)", "ENODEV (already off)");
    }
}
