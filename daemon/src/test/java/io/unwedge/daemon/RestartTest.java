package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.Journal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The restart cases a crash point cannot reach: an earlier daemon's recovery, met by a changed device. */
class RestartTest {

    @TempDir Path dir;

    static WedgedEvent wedge(String devpath) {
        return wedge(devpath, "rebind,bus-reset", 4242);
    }

    static WedgedEvent wedge(String devpath, String methods, long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", methods);
        f.put("SEQNUM", Long.toString(seqnum));
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(Uevent.of("change", devpath, f))).event();
    }

    /** What a daemon killed right after its rebind's unbind took effect leaves in the journal. */
    static long unboundByAnEarlierDaemon(Journal journal, WedgedEvent event) throws Exception {
        return unboundByAnEarlierDaemon(journal, event, Optional.of(RecoveryMethod.REBIND));
    }

    /** As above; without a method, the row of a daemon from before the method was journaled ahead (v1). */
    static long unboundByAnEarlierDaemon(Journal journal, WedgedEvent event, Optional<RecoveryMethod> method) throws Exception {
        long id = begunByAnEarlierDaemon(journal, event, method);
        journal.stepEnded(journal.intent(id, Step.UNBIND), new StepResult(Step.UNBIND, Outcome.OK, 3, "wrote"));
        return id;
    }

    /** A recovery an earlier daemon began with xe as the driver (and {@code method}, unless a v1 row), and nothing more yet. */
    static long begunByAnEarlierDaemon(Journal journal, WedgedEvent event, Optional<RecoveryMethod> method) throws Exception {
        long id = journal.beginRecovery(journal.recordEvent(event, Instant.now()), event);
        if (method.isPresent()) journal.driver(id, "xe", method.get());
        else journal.driver(id, "xe");
        return id;
    }

    /** The newest recovery: an escalation from {@code from}, as a running daemon's would be. */
    static io.unwedge.daemon.journal.RecoveryRow escalatedFrom(Rig rig, long from) throws Exception {
        var next = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 1).getFirst();
        assertThat(next.escalatedFrom()).as("linked to the attempt it follows").contains(from);
        return next;
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
            assertThat(row.reason().orElseThrow()).contains("resumed: bound again to xe as card0, settled 100 ms");
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
            assertThat(rig.journal.show(id[0]).orElseThrow().steps()).extracting(s -> s.step() + " " + s.outcome().orElse("?"))
                    .containsExactly("unbind ok", "bind ok", "settle ok");
        }
    }

    /**
     * A bus reset cut short in its reset: the GPU and its audio function were unbound, and reset_method was
     * changed (here to nothing at all: the sim's GPU with an audio function supports flr alone). The journal has what the reset changed besides the GPU's driver (v6), so
     * the restart binds the audio function back to its own driver and writes the original reset_method back.
     */
    @Test
    void aResetCutShortHasItsAudioFunctionBoundBackAndItsResetMethodWrittenBack() throws Exception {
        long[] id = new long[1];
        String[] original = new String[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), io.unwedge.daemon.RecoveryPolicy.DEFAULT,
                io.unwedge.sim.VirtualHost.Options.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            var audio = gpu.audioBdf().orElseThrow();
            var resetMethod = host.functionDir(gpu).resolve("reset_method");
            original[0] = Files.readString(resetMethod).strip();
            var event = wedge(gpu.devpath() + "/drm/card0");
            id[0] = begunByAnEarlierDaemon(journal, event, Optional.of(RecoveryMethod.BUS_RESET));
            journal.toRestore(id[0], java.util.List.of(new Journal.Restore(Journal.Restore.Kind.BIND, audio, "snd_hda_intel")));
            journal.stepEnded(journal.intent(id[0], Step.UNBIND), new StepResult(Step.UNBIND, Outcome.OK, 3, "wrote"));
            journal.toRestore(id[0], java.util.List.of(new Journal.Restore(Journal.Restore.Kind.RESET_METHOD, gpu.bdf(), original[0])));
            journal.intent(id[0], Step.RESET); // the daemon died in the reset
            model.probeDelay(audio, java.time.Duration.ofMillis(800)); // the audio function's bind takes a while
            // what its writes did before it died
            Files.writeString(host.sys().resolve("bus/pci/drivers/snd_hda_intel/unbind"), audio + "\n");
            unbindByHand(host, gpu);
            Files.writeString(resetMethod, "\n"); // every method disabled: the one other value the sim takes beside its audio function
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (Files.exists(host.functionDir(gpu, audio).resolve("driver"))) {
                if (System.nanoTime() > deadline) throw new AssertionError("the sim did not unbind the audio function");
                Thread.sleep(5);
            }
        })) {
            awaitNoneUnfinished(rig);
            var gpu = rig.gpu(0);
            var audio = rig.host.gpus().getFirst().audioBdf().orElseThrow();
            assertThat(rig.journal.show(id[0]).orElseThrow().recovery().result()).as(rig.log()).contains("recovered");
            assertThat(rig.topology.isUp(gpu.bdf())).isTrue();
            // put back before the row is closed (a daemon dying in between finds it unfinished and puts back again)
            assertThat(rig.topology.isUnbound(audio)).as("the audio function bound back: " + rig.log()).isFalse();
            assertThat(Files.readString(rig.host.functionDir(rig.host.gpus().getFirst()).resolve("reset_method")).strip())
                    .as("reset_method written back").isEqualTo(original[0]).isNotEmpty();
            assertThat(rig.log()).contains("restart-put-back recovery=" + id[0] + " bdf=" + audio + " what=bind value=snd_hda_intel")
                    .contains("restart-put-back recovery=" + id[0] + " bdf=" + gpu.bdf() + " what=reset_method");
        }
    }

    /**
     * The daemon died just after journaling an escalation (rebind had failed; bus-reset was next) and before its
     * unbind: the restart finds the device bound and untouched, and the wedge goes on from rebind, as the running
     * daemon would have: bus-reset, journaled as escalated from the rebind, not rebind all over again.
     */
    @Test
    void anUntouchedEscalationGoesOnFromTheAttemptItFollowed() throws Exception {
        long[] ids = new long[2];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), io.unwedge.daemon.RecoveryPolicy.DEFAULT,
                io.unwedge.sim.VirtualHost.Options.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            var event = wedge(gpu.devpath() + "/drm/card0");
            long eventId = journal.recordEvent(event, Instant.now());
            ids[0] = journal.beginRecovery(eventId, event);
            journal.driver(ids[0], "xe", RecoveryMethod.REBIND);
            journal.endRecovery(ids[0], new RecoveryReport(event, gpu.bdf(), Optional.of(RecoveryMethod.REBIND), Result.FAILED,
                    "bind timeout", java.util.List.of(), Optional.of("card0"), 10, Optional.empty()));
            ids[1] = journal.beginEscalation(eventId, event, ids[0]); // ... and the daemon died
        })) {
            var r = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(r.method()).as(rig.log()).contains(RecoveryMethod.BUS_RESET);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(rig.journal.show(ids[1]).orElseThrow().recovery().reason().orElseThrow()).contains("escalating on from rebind");
            assertThat(escalatedFrom(rig, ids[0]).method()).contains("bus-reset");
        }
    }

    /**
     * A restart holds the gate as a recovery's steps do: with the host-wide cap of one, a wedge of the other GPU
     * while the restart's bound card0 settles waits for it, and its first step comes after the restart's end.
     */
    @Test
    void aWedgeWhileARestartSettlesWaitsForTheRestartsPass() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            unbindByHand(host, gpu);
        }, io.unwedge.daemon.RecoveryPolicy.DEFAULT)) { // max_concurrent 1
            // bound again, and settling for 1.5 s: the restart holds its pass
            rig.awaitLog(l -> l.contains("recovery-step bdf=" + rig.gpu(0).bdf() + " recovery=" + id[0] + " step=bind outcome=ok"));
            rig.model.wedge("card1", RecoveryEndToEndTest.REBIND_BUS_RESET, Optional.empty());
            assertThat(rig.nextReport(java.time.Duration.ofSeconds(20)).result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            awaitNoneUnfinished(rig);
            String log = rig.log();
            assertThat(log).contains("recovery-waiting card=card1");
            assertThat(log.indexOf("restart-reconciled")).as(log).isPositive()
                    .isLessThan(log.indexOf("recovery-step card=card1"));
            assertThat(rig.journal.show(id[0]).orElseThrow().recovery().result()).contains("recovered");
        }
    }

    /**
     * A resumed recovery gets the settle window a recovery gets: the device wedges again just after the restart
     * bound it back, so the recovery fails (rewedged) and escalates as a running daemon's would: the next method
     * of the wedge's ladder (bus-reset after rebind), journaled as escalated from the resumed recovery.
     */
    @Test
    void aDeviceThatWedgesAgainWhileSettlingAfterARestartEscalatesToTheNextMethod() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            unbindByHand(host, gpu);
            model.rewedgeAfter(gpu.bdf(), java.time.Duration.ofMillis(150)); // after the restart's bind
        })) {
            var again = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(again.result()).as(rig.log()).isEqualTo(RecoveryReport.Result.RECOVERED);
            assertThat(again.method()).as("escalated past the rebind that just failed").contains(RecoveryMethod.BUS_RESET);
            awaitNoneUnfinished(rig);
            var crashed = rig.journal.show(id[0]).orElseThrow();
            assertThat(crashed.recovery().result()).as(rig.log()).contains("failed");
            assertThat(crashed.recovery().reason().orElseThrow()).contains("resumed: bound again to xe as card0, then settle rewedged: wedged again",
                    "escalating, as a running daemon would");
            assertThat(crashed.steps()).extracting(s -> s.step() + " " + s.outcome().orElse("?"))
                    .containsExactly("unbind ok", "bind ok", "settle rewedged");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("unbound resumed"));
            var history = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10);
            assertThat(history).hasSize(2);
            var next = history.getFirst();
            assertThat(next.escalatedFrom()).as("linked to the attempt it follows").contains(id[0]);
            assertThat(next.eventId()).as("the same wedge, as an escalation is").isEqualTo(crashed.recovery().eventId());
            assertThat(next.method()).contains("bus-reset");
            assertThat(next.result()).contains("recovered");
            assertThat(rig.log()).contains("restart-reconciled", "action=resumed", "outcome=failed", "step=settle outcome=rewedged",
                    "recovery-escalate", "from=rebind to=bus-reset recovery=" + id[0]);
            assertThat(rig.simLines).anyMatch(l -> l.startsWith("re-wedge of"));
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
        }
    }

    /**
     * The escalation finds the device by its function, not by the card its wedge named: while the daemon was
     * down the other GPU was bound again and took card0, so the restart's bind gives this one card1.
     */
    @Test
    void theEscalationAfterARestartFindsTheDeviceUnderItsNewCardNumber() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 2, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            var other = host.gpus().get(1);
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            unbindByHand(host, gpu);
            unbindByHand(host, other);
            Files.writeString(host.sys().resolve("bus/pci/drivers/xe/bind"), other.bdf() + "\n"); // takes the lowest free card: card0
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!Files.exists(host.sys().resolve("bus/pci/devices/" + other.bdf() + "/drm/card0"))) {
                if (System.nanoTime() > deadline) throw new AssertionError("the other GPU did not come back as card0");
                Thread.sleep(5);
            }
            model.rewedgeAfter(gpu.bdf(), java.time.Duration.ofMillis(150));
        })) {
            var again = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(again.result()).as(rig.log()).isEqualTo(RecoveryReport.Result.RECOVERED);
            assertThat(again.method()).contains(RecoveryMethod.BUS_RESET);
            assertThat(again.bdf()).isEqualTo(rig.gpu(0).bdf());
            awaitNoneUnfinished(rig);
            assertThat(escalatedFrom(rig, id[0]).cardAfter()).contains("card1");
            assertThat(rig.log()).contains("recovery-start card=card1 bdf=" + rig.gpu(0).bdf());
        }
    }

    /**
     * When the resumed attempt was the ladder's last (the driver asked for rebind alone), its re-wedge while
     * settling leaves nothing to escalate to: the device is quarantined, as after a ladder's last failure.
     */
    @Test
    void aReWedgeAfterRestartingTheLaddersLastMethodQuarantines() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0", "rebind", 4243));
            unbindByHand(host, gpu);
            model.rewedgeAfter(gpu.bdf(), java.time.Duration.ofMillis(150));
        })) {
            var again = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(again.result()).as(rig.log()).isEqualTo(RecoveryReport.Result.FAILED);
            assertThat(again.reason()).contains("every method failed (rebind)", "the last, rebind, in recovery " + id[0] + ", which a restart resumed");
            awaitNoneUnfinished(rig);
            escalatedFrom(rig, id[0]);
            assertThat(rig.journal.quarantined()).singleElement().satisfies(q -> assertThat(q.bdf()).isEqualTo(rig.gpu(0).bdf()));
        }
    }

    /**
     * A journal row that does not name its method (a v1 daemon's) cannot say where the ladder goes on: the
     * re-wedge while settling is recovered as a recovery of its own, from the start of its ladder.
     */
    @Test
    void aReWedgeAfterRestartingARecoveryWithoutAMethodIsARecoveryOfItsOwn() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"), Optional.empty());
            unbindByHand(host, gpu);
            model.rewedgeAfter(gpu.bdf(), java.time.Duration.ofMillis(150));
        })) {
            var again = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(again.result()).as(rig.log()).isEqualTo(RecoveryReport.Result.RECOVERED);
            awaitNoneUnfinished(rig);
            var crashed = rig.journal.show(id[0]).orElseThrow();
            assertThat(crashed.recovery().reason().orElseThrow()).contains("settle rewedged", "handled again as a new recovery");
            var history = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10);
            assertThat(history).as("the re-wedge was recovered as a recovery of its own").hasSize(2);
            assertThat(history.getFirst().escalatedFrom()).isEmpty();
            assertThat(history.getFirst().seqnum()).isNotEqualTo(crashed.recovery().seqnum());
            assertThat(history.getFirst().method()).contains("rebind");
            assertThat(history.getFirst().result()).contains("recovered");
        }
    }

    /**
     * A recovery begun before this boot is left alone: the reboot reset the device and the kernel probed it
     * afresh. Here the device is found unbound (say its driver was not loaded this time): a restart that
     * took the old row at its word would bind it, or, found bound, drain and rebind a healthy GPU.
     */
    @Test
    void aRecoveryFromBeforeThisBootIsAbandonedAndNothingIsTouched() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            try (var db = java.sql.DriverManager.getConnection("jdbc:sqlite:" + journal.file());
                 var st = db.prepareStatement("UPDATE recoveries SET started_at = ? WHERE id = ?")) {
                st.setLong(1, Instant.parse("2020-01-01T00:00:00Z").toEpochMilli() * 1000); // long before any boot of this machine
                st.setLong(2, id[0]);
                assertThat(st.executeUpdate()).isEqualTo(1);
            }
            unbindByHand(host, gpu);
        })) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).contains("failed");
            assertThat(row.reason().orElseThrow()).contains("before this boot", "the reboot reset the device, nothing done");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("previous-boot abandoned"));
            Thread.sleep(300);
            assertThat(rig.simLines).as("not bound back (the unbind is the test's own)").noneMatch(l -> l.startsWith("bind "))
                    .filteredOn(l -> l.startsWith("unbind ")).hasSize(1);
            assertThat(rig.topology.isUnbound(rig.gpu(0).bdf())).isTrue();
        }
    }

    /**
     * The daemon died after a step had failed (here its bind timed out) and before the recovery ended: a running
     * daemon would have escalated, and the restart does, to the next method of the wedge's ladder.
     */
    @Test
    void aFailedStepFoundAtRestartEscalatesAsARunningDaemonWould() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            journal.stepEnded(journal.intent(id[0], Step.BIND), new StepResult(Step.BIND, Outcome.TIMEOUT, 3000, "no card after 3000 ms"));
            // the device came up after all (a late probe): bound, with its card
        })) {
            var again = rig.nextReport(java.time.Duration.ofSeconds(20));
            assertThat(again.result()).as(rig.log()).isEqualTo(RecoveryReport.Result.RECOVERED);
            assertThat(again.method()).contains(RecoveryMethod.BUS_RESET);
            awaitNoneUnfinished(rig);
            var crashed = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(crashed.reason().orElseThrow()).contains("the recovery had failed: bind timeout", "escalating, as a running daemon would");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("bound escalated"));
            assertThat(escalatedFrom(rig, id[0]).method()).contains("bus-reset");
        }
    }

    /** A drain that refused ended the wedge there, in a running daemon too: found bound, closed as it was. */
    @Test
    void aRefusedDrainFoundAtRestartIsClosedNotEscalated() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            var e = wedge(gpu.devpath() + "/drm/card0");
            id[0] = begunByAnEarlierDaemon(journal, e, Optional.of(RecoveryMethod.REBIND));
            journal.stepEnded(journal.intent(id[0], Step.DRAIN), new StepResult(Step.DRAIN, Outcome.REFUSED, 10, "holders remain: 42 Xorg"));
        })) {
            awaitNoneUnfinished(rig);
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("bound found-bound"));
            Thread.sleep(300);
            assertThat(rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        }
    }

    /**
     * The daemon died in a quarantine's unbind (the quarantine is journaled before it): the device, found
     * unbound, is not bound back; the quarantine stands until `unwedge release`.
     */
    @Test
    void aDeviceQuarantinedUnboundIsNotBoundBackByARestart() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(3000, 1500), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            assertThat(journal.quarantine(gpu.bdf(), "every method failed (rebind, bus-reset)",
                    io.unwedge.core.safety.QuarantineMode.UNBOUND)).isTrue();
            unbindByHand(host, gpu);
        })) {
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).contains("failed");
            assertThat(row.reason().orElseThrow()).contains("quarantined (left unbound)", "unwedge release " + rig.gpu(0).bdf());
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("unbound quarantined"));
            Thread.sleep(300);
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("bind "));
            assertThat(rig.topology.isUnbound(rig.gpu(0).bdf())).isTrue();
        }
    }

    /**
     * Decision: a device found bound without a card is not recovered. The restart waits for the card up to the
     * bind deadline (a probe may be in flight), then closes the recovery failed and leaves the device as it is,
     * saying why and what to do: xe's boot survivability mode here, whose probe makes no card until the firmware
     * is flashed (another unbind and bind would do the same again).
     */
    @Test
    void aDeviceFoundBoundWithoutACardIsWaitedForThenFailedAndLeftAsItIs() throws Exception {
        long[] id = new long[1];
        try (var rig = new Rig(dir, 1, Rig.timeouts(600, 100), false, true, DrainPolicy.DEFAULT, (journal, host, model) -> {
            var gpu = host.gpus().getFirst();
            id[0] = unboundByAnEarlierDaemon(journal, wedge(gpu.devpath() + "/drm/card0"));
            model.survivability("card0"); // its wedge (vendor-specific) waits in the socket for the daemon
            unbindByHand(host, gpu);
            Files.writeString(host.sys().resolve("bus/pci/drivers/xe/bind"), gpu.bdf() + "\n");
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (!host.isBound(gpu)) {
                if (System.nanoTime() > deadline) throw new AssertionError("the sim did not bind");
                Thread.sleep(5);
            }
        })) {
            long t0 = System.nanoTime();
            awaitNoneUnfinished(rig);
            var row = rig.journal.show(id[0]).orElseThrow().recovery();
            assertThat(row.result()).as(rig.log()).contains("failed");
            assertThat(row.reason().orElseThrow()).contains("found bound at restart but without a card minor after 600 ms",
                    "not recovered, left as it is", "survivability_mode exists: the firmware needs flashing");
            assertThat(rig.journal.restarts(id[0])).singleElement()
                    .satisfies(r -> assertThat(r.found() + " " + r.action()).isEqualTo("bound-no-card abandoned"));
            assertThat(rig.log()).contains("restart-reconciled", "found=bound-no-card", "action=abandoned", "outcome=failed");
            var bdf = rig.gpu(0).bdf();
            assertThat(rig.topology.isUnbound(bdf)).as("left bound").isFalse();
            assertThat(rig.topology.isUp(bdf)).as("and without a card").isFalse();
            assertThat(rig.simLines.stream().filter(l -> l.startsWith("bind ") || l.startsWith("unbind ")).count())
                    .as("the restart neither unbinds nor binds it: only the hand's two writes\n" + rig.simLines).isEqualTo(2);
        }
    }
}
