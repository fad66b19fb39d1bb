package io.unwedge.cli;

import static io.unwedge.cli.CommandLineIT.requireNamespace;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.daemon.journal.Journal;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code unwedge handle-uevent} as udev's rule runs it: the packaged command, the uevent in its environment
 * (and nothing else: {@code env -i}), beside a daemon or alone, with {@code sim run} in one fresh network
 * namespace so the virtual host's wedges go through the kernel.
 */
class UdevIT {

    @TempDir Path dir;

    static String java() {
        return String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
    }

    /** {@code env -i} with a wedge of the lab's {@code card} as udev has it (DEVNAME under /dev), SEQNUM from the shell variable {@code seqVar}. */
    static String wedgeEnv(Path root, String card, String seqVar) {
        return "env -i ACTION=change DEVPATH=\"$(readlink -f '" + root.resolve("sys/class/drm").resolve(card) + "' | sed 's|^" + root.resolve("sys")
                + "||')\" SUBSYSTEM=drm WEDGED=rebind,bus-reset SEQNUM=\"$" + seqVar + "\" DEVNAME=/dev/dri/" + card
                + " DEVTYPE=drm_minor MAJOR=226 MINOR=" + card.substring(4) + " USEC_INITIALIZED=123456 ID_PATH=pci-x";
    }

    Path lab() throws Exception {
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        return root;
    }

    @Test
    void withTheDaemonRunningUdevsCopyOfAKernelWedgeIsIgnoredAndAHandOffIsRecovered() throws Exception {
        requireNamespace();
        Path root = lab();
        Path simLog = dir.resolve("sim.log"), daemonLog = dir.resolve("daemon.log");
        String java = java();
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + simLog + "' 2>&1 &",
                "sim=$!",
                java + " daemon --sysfs '" + root.resolve("sys") + "' --settle-ms 300 > '" + daemonLog + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 400); do grep -q uevent-socket-listening '" + daemonLog + "' && grep -q 'driver model running' '" + simLog + "' && break; sleep 0.05; done",
                // the kernel's copy: the simulator's wedge goes through the kernel, the daemon hears it on netlink
                java + " sim wedge --root '" + root + "' card1 --methods rebind,bus-reset || exit 9",
                "for i in $(seq 1 400); do grep -q 'wedged card=card1' '" + daemonLog + "' && break; sleep 0.05; done",
                "seq=$(sed -n 's/.* wedged card=card1 .*seqnum=\\([0-9]*\\).*/\\1/p' '" + daemonLog + "' | head -n1)",
                "echo kernel-seqnum=$seq",
                // udev's copy of the same wedge, handed over while the daemon recovers it
                wedgeEnv(root, "card1", "seq") + " " + java + " handle-uevent --sysfs '" + root.resolve("sys") + "'; echo copy-exit=$?",
                "for i in $(seq 1 400); do grep -q 'recovery-end card=card1' '" + daemonLog + "' && break; sleep 0.05; done",
                // a wedge only udev reported (the kernel's copy lost, say): handed over, and recovered by the daemon
                "fresh=$((seq + 1000000))",
                wedgeEnv(root, "card0", "fresh") + " " + java + " handle-uevent --sysfs '" + root.resolve("sys") + "'; echo handoff-exit=$?",
                "for i in $(seq 1 400); do grep -q 'recovery-end card=card0' '" + daemonLog + "' && break; sleep 0.05; done",
                "kill -TERM $daemon; wait $daemon; echo daemon-exit=$?",
                "kill -TERM $sim; wait $sim",
                "echo '--- daemon'; cat '" + daemonLog + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 120);
        assertThat(r.code()).as(r.out()).isZero();
        var seq = Pattern.compile("kernel-seqnum=(\\d+)").matcher(r.out());
        assertThat(seq.find()).as(r.out()).isTrue();
        long kernelSeqnum = Long.parseLong(seq.group(1));
        assertThat(r.out()).contains(
                "ignored card1 0000:06:00.0 seqnum " + kernelSeqnum + ": SEQNUM " + kernelSeqnum + " already taken", "copy-exit=0",
                "accepted card0 0000:03:00.0 seqnum " + (kernelSeqnum + 1000000) + " WEDGED=rebind,bus-reset", "handoff-exit=0",
                "wedge-duplicate card=card1", "uevent-handed-over pid=", "outcome=duplicate", "outcome=taken", "daemon-exit=0");
        try (var j = Journal.openReadOnly(root.resolve("state"), InstantSource.system())) {
            var rows = j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10);
            assertThat(rows).as(r.out()).hasSize(2);
            var card1 = rows.stream().filter(x -> x.card().equals("card1")).toList();
            assertThat(card1).as("card1 recovered once").hasSize(1);
            assertThat(card1.getFirst().seqnum()).isEqualTo(kernelSeqnum);
            assertThat(card1.getFirst().result()).contains("recovered");
            var card0 = rows.stream().filter(x -> x.card().equals("card0")).toList();
            assertThat(card0).hasSize(1);
            assertThat(card0.getFirst().seqnum()).isEqualTo(kernelSeqnum + 1000000);
            assertThat(card0.getFirst().result()).contains("recovered");
            // udev's extra properties stay out: the journal keeps the kernel's message
            var raw = j.wedge(card0.getFirst().eventId()).orElseThrow().uevent();
            assertThat(raw.fields()).doesNotContainKeys("USEC_INITIALIZED", "ID_PATH").containsEntry("DEVNAME", "dri/card0");
        }
        assertThat(root.resolve("state/uevent.sock")).as("removed when the daemon stops").doesNotExist();
    }

    @Test
    void withNoDaemonHandleUeventRecoversTheDeviceItselfAndJournalsIt() throws Exception {
        requireNamespace();
        Path root = lab();
        Path simLog = dir.resolve("sim.log");
        String java = java();
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + simLog + "' 2>&1 &",
                "sim=$!",
                "for i in $(seq 1 400); do grep -q 'driver model running' '" + simLog + "' && break; sleep 0.05; done",
                // the kernel's broadcast goes unheard: nobody listens
                java + " sim wedge --root '" + root + "' card1 --methods rebind,bus-reset || exit 9",
                "seq=424242",
                wedgeEnv(root, "card1", "seq") + " " + java + " handle-uevent --sysfs '" + root.resolve("sys") + "' --state-dir '"
                        + root.resolve("state") + "'; echo alone-exit=$?",
                "kill -TERM $sim; wait $sim",
                "echo '--- sim'; cat '" + simLog + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 120);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("handle-uevent-alone card=card1 bdf=0000:06:00.0 seqnum=424242", "no daemon (",
                "ENOENT", "recovery-end card=card1 bdf=0000:06:00.0 method=rebind seqnum=424242 outcome=recovered",
                "handle-uevent-done card=card1 bdf=0000:06:00.0 seqnum=424242 result=recovered attempts=1", "alone-exit=0",
                "unbind 0000:06:00.0 from xe", "bind 0000:06:00.0 to xe: card1");
        try (var j = Journal.openReadOnly(root.resolve("state"), InstantSource.system())) {
            var rows = j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10);
            assertThat(rows).as(r.out()).hasSize(1);
            assertThat(rows.getFirst().seqnum()).isEqualTo(424242);
            assertThat(rows.getFirst().result()).contains("recovered");
            assertThat(j.unfinished()).isEmpty();
        }
        Path function = root.resolve("sys/bus/pci/devices/0000:06:00.0");
        assertThat(Files.isSymbolicLink(function.resolve("driver"))).as("bound again").isTrue();
        assertThat(root.resolve("state/uevent.sock")).doesNotExist();
    }

    @Test
    void aLockHeldByADaemonThatDoesNotAnswerIsARefusal() throws Exception {
        Path root = lab();
        Path state = Files.createDirectories(root.resolve("state"));
        try (var lockFile = FileChannel.open(state.resolve("daemon.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             var lock = lockFile.tryLock()) {
            assertThat(lock).isNotNull();
            var cmd = new ArrayList<>(List.of("env", "-i", "ACTION=change",
                    "DEVPATH=/devices/pci0000:00/0000:00:01.1/0000:04:00.0/0000:05:01.0/0000:06:00.0/drm/card1", "SUBSYSTEM=drm",
                    "WEDGED=rebind,bus-reset", "SEQNUM=77"));
            cmd.addAll(Commands.java());
            cmd.addAll(List.of("handle-uevent", "--sysfs", root.resolve("sys").toString()));
            var r = Commands.exec(cmd, 60);
            assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.REFUSED.code);
            assertThat(r.out()).contains("another unwedge holds " + state.resolve("daemon.lock") + " and does not answer on "
                    + state.resolve("uevent.sock") + "; card1 is not recovered here");
        }
        try (var j = Journal.openReadOnly(state, InstantSource.system())) {
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).isEmpty();
        } catch (io.unwedge.daemon.journal.JournalException e) {
            // no journal at all is as good: nothing was started
            assertThat(state.resolve("journal.db")).doesNotExist();
        }
    }

    @Test
    void noDevpathIsAUsageErrorAndWhatIsNotAWedgeExitsZeroQuietly() throws Exception {
        var cmd = new ArrayList<>(List.of("env", "-i", "ACTION=change", "SUBSYSTEM=drm", "WEDGED=rebind", "SEQNUM=1"));
        cmd.addAll(Commands.java());
        cmd.add("handle-uevent");
        var r = Commands.exec(cmd, 30);
        assertThat(r.code()).as(r.out()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.out()).contains("unwedge: no uevent in the environment: DEVPATH is not set");

        var hotplug = new ArrayList<>(List.of("env", "-i", "ACTION=change", "DEVPATH=/devices/pci0000:00/0000:00:01.0/0000:03:00.0/drm/card0",
                "SUBSYSTEM=drm", "HOTPLUG=1", "SEQNUM=2"));
        hotplug.addAll(Commands.java());
        hotplug.addAll(List.of("handle-uevent", "--socket", dir.resolve("nobody.sock").toString()));
        var quiet = Commands.exec(hotplug, 30);
        assertThat(quiet.code()).as(quiet.out()).isZero();
        assertThat(quiet.out()).isEmpty();

        // WEDGED= where the kernel never sends it: still not ours, but said
        var odd = new ArrayList<>(List.of("env", "-i", "ACTION=add", "DEVPATH=/devices/pci0000:00/0000:00:01.0/0000:03:00.0/drm/card0",
                "SUBSYSTEM=drm", "WEDGED=rebind", "SEQNUM=3"));
        odd.addAll(Commands.java());
        odd.add("handle-uevent");
        var said = Commands.exec(odd, 30);
        assertThat(said.code()).isZero();
        assertThat(said.out().strip()).isEqualTo("unwedge: not a wedge, ignoring: WEDGED on action add");

        var help = Commands.run(30, "handle-uevent", "--help");
        assertThat(help.code()).isZero();
        assertThat(help.out()).contains("Usage: unwedge handle-uevent", "--socket=PATH", "Exit codes:");
        var bad = Commands.run(30, "handle-uevent", "--sysfs");
        assertThat(bad.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(bad.out()).contains("Missing required parameter for option '--sysfs'", "Try `unwedge handle-uevent --help`.");
    }
}
