package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.Journal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The restart cases a crash point cannot reach: an earlier daemon's recovery, met by a changed device. */
class RestartTest {

    @TempDir Path dir;

    static WedgedEvent wedge(String devpath) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("SEQNUM", "4242");
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(Uevent.of("change", devpath, f))).event();
    }

    /** What a daemon killed right after its unbind took effect leaves in the journal. */
    static long unboundByAnEarlierDaemon(Journal journal, WedgedEvent event) throws Exception {
        long id = journal.beginRecovery(journal.recordEvent(event, Instant.now()), event);
        journal.driver(id, "xe");
        journal.stepEnded(journal.intent(id, Step.UNBIND), new StepResult(Step.UNBIND, Outcome.OK, 3, "wrote"));
        return id;
    }

    /** The unbind the earlier daemon wrote before it died, as the kernel would have carried it out. */
    static void unbindByHand(io.unwedge.sim.VirtualHost host, io.unwedge.sim.SimGpu gpu) throws Exception {
        Files.writeString(host.sys().resolve("bus/pci/drivers/xe/unbind"), gpu.bdf() + "\n");
        long deadline = System.nanoTime() + 5_000_000_000L;
        while (host.isBound(gpu)) {
            if (System.nanoTime() > deadline) throw new AssertionError("the sim did not unbind");
            Thread.sleep(5);
        }
    }

    static void awaitNoneUnfinished(Rig rig) throws Exception {
        long deadline = System.nanoTime() + 15_000_000_000L;
        while (!rig.journal.unfinished().isEmpty()) {
            if (System.nanoTime() > deadline) throw new AssertionError("still unfinished:\n" + rig.log());
            Thread.sleep(10);
        }
    }

    @Test
    void aDeviceThatIsGoneAtRestartIsAbandonedAndSaidSo() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(2000, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) ->
                id[0] = unboundByAnEarlierDaemon(journal, wedge("/devices/pci0000:00/0000:00:09.0/0000:09:00.0/drm/card5")))) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).contains("failed");
            assertThat(row.reason().orElseThrow()).startsWith("restart:").contains("device gone at restart");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("gone abandoned"));
            assertThat(rig.log()).contains("restart-reconciled", "found=gone", "action=abandoned");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("bind") || l.startsWith("unbind"));
        }
    }

    @Test
    void aBindThatFailsAtRestartClosesTheRecoveryFailedWithTheDeviceStateSaid() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(800, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            unbindByHand(host, gpu);
            // the driver will not probe this time
            model.failProbes(gpu.bdf(), 1);
        })) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).contains("failed");
            assertThat(row.reason().orElseThrow()).contains("found unbound at restart; resuming failed");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("unbound resumed"));
            assertThat(rig.topology.isUnbound(rig.gpu(0).bdf())).as("still unbound, and said so").isTrue();
            assertThat(rig.simLines).anyMatch(l -> l.contains("probe failed"));
        }
    }

    @Test
    void aColdResetCutShortWithTheSlotPoweredOffIsPoweredOnRescannedAndBound() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), io.unwedge.daemon.RecoveryPolicy.DEFAULT, io.unwedge.sim.VirtualHost.Options.DEFAULT,
                (journal, host, model) -> {
                    var gpu = host.gpus().getFirst();
                    id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
                    journal.driver(id[0], "xe", io.unwedge.core.RecoveryMethod.COLD_RESET);
                    // the earlier daemon removed the functions, powered the slot off, and died before powering it on
                    journal.stepEnded(journal.intent(id[0], Step.REMOVE), new StepResult(Step.REMOVE, Outcome.OK, 2, "wrote 1 to …/remove"));
                    journal.stepEnded(journal.intent(id[0], Step.POWER_OFF, Recovery.SLOT_PREFIX + "1"),
                            new StepResult(Step.POWER_OFF, Outcome.OK, 2, "wrote 0 to " + host.sys() + "/bus/pci/slots/1/power"));
                    Files.writeString(host.slotDir(gpu).orElseThrow().resolve("power"), "0\n");
                    long deadline = System.nanoTime() + 5_000_000_000L;
                    while (host.isPresent(gpu.bdf()) || model.isPowered(gpu)) {
                        if (System.nanoTime() > deadline) throw new AssertionError("the sim did not power the slot off");
                        Thread.sleep(5);
                    }
                })) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).as(rig.log()).contains("recovered");
            assertThat(rig.log()).contains("restart-power-cycle", "slot=1", "left powered off", "restart-rescan", "back=true");
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
            assertThat(rig.simLines).containsSubsequence("power slot 1: off", "power slot 1: on");
        }
    }

    @Test
    void theSlotOfAPowerOffIsReadFromItsIntentOrItsEnd() {
        var intent = new io.unwedge.daemon.journal.StepRow(1, 1, Step.POWER_OFF, Instant.EPOCH, java.util.Optional.empty(),
                java.util.Optional.empty(), java.util.Optional.empty(), java.util.Optional.of("slot 7"));
        var ended = new io.unwedge.daemon.journal.StepRow(1, 1, Step.POWER_OFF, Instant.EPOCH, java.util.Optional.empty(),
                java.util.Optional.empty(), java.util.Optional.of("ok"), java.util.Optional.of("wrote 0 to /sys/bus/pci/slots/12-1/power"));
        assertThat(Restart.slotOf(intent)).contains("7");
        assertThat(Restart.slotOf(ended)).contains("12-1");
    }

    @Test
    void aDeviceFoundUnboundAtRestartIsBoundBackToItsDriver() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            unbindByHand(host, gpu);
        })) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).as(rig.log()).contains("recovered");
            assertThat(row.cardAfter()).contains("card0");
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
        }
    }
}
