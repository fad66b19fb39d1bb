package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.MethodPolicy;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.safety.SafetyPolicy;
import io.unwedge.core.Step;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.StepRow;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The daemon, the virtual host and the real kernel between them, as in the field. */
class RecoveryEndToEndTest {

    static final Duration WAIT = Duration.ofSeconds(15);
    static final List<RecoveryMethod> REBIND_BUS_RESET = List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);

    @TempDir Path dir;

    @Test
    void aWedgeFromTheKernelIsRebindAndVerified() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 300), false, true)) {
            rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(r.method()).contains(RecoveryMethod.REBIND);
            assertThat(r.bdf()).hasToString("0000:06:00.0");
            assertThat(r.steps()).extracting(StepResult::step).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
            assertThat(r.steps()).extracting(StepResult::outcome).containsOnly(Outcome.OK);
            assertThat(r.cardAfter()).contains("card1");
            assertThat(r.latencyMicros()).isPresent();
            assertThat(r.driver()).as("the driver the wedge found").contains("xe");
            assertThat(r.event().seqnum()).as("SEQNUM was appended by the kernel").isPositive();
            assertThat(rig.topology.isUp(rig.gpu(1).bdf())).isTrue();
            assertThat(rig.model.wedgedWith(rig.gpu(1).bdf())).isEmpty();
            // the other GPU was never touched
            assertThat(rig.simLines).noneMatch(l -> l.contains("0000:03:00.0"));
            assertThat(rig.log()).contains("recovery-step", "step=unbind", "step=bind", "step=settle", "bdf=0000:06:00.0", "method=rebind", "ms=");
            // the journal holds the event, the recovery and its three steps, each intent before its step
            var history = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10);
            assertThat(history).hasSize(1);
            var row = history.getFirst();
            assertThat(row.bdf()).isEqualTo(r.bdf());
            assertThat(row.seqnum()).isEqualTo(r.event().seqnum());
            assertThat(row.methods()).isEqualTo("rebind,bus-reset");
            assertThat(row.result()).contains("recovered");
            assertThat(row.method()).contains("rebind");
            assertThat(row.cardAfter()).contains("card1");
            assertThat(row.latencyMicros()).isEqualTo(r.latencyMicros());
            assertThat(row.receivedAt()).isBeforeOrEqualTo(row.startedAt());
            var steps = rig.journal.show(row.id()).orElseThrow().steps();
            assertThat(steps).extracting(StepRow::step).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
            assertThat(steps).extracting(s -> s.outcome().orElseThrow()).containsOnly("ok");
            assertThat(steps).allSatisfy(s -> {
                assertThat(s.intentAt()).isBeforeOrEqualTo(s.startedAt().orElseThrow());
                assertThat(s.startedAt().orElseThrow()).isBeforeOrEqualTo(s.endedAt().orElseThrow());
            });
            assertThat(steps.get(0).endedAt().orElseThrow()).isBeforeOrEqualTo(steps.get(1).intentAt());
            assertThat(steps.get(1).endedAt().orElseThrow()).isBeforeOrEqualTo(steps.get(2).intentAt());
            assertThat(rig.journal.unfinished()).isEmpty();
        }
    }

    @Test
    void aRecoveryThatCannotBeJournaledIsRefusedAndTouchesNothing() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            rig.journal.close(); // as a full or failed disk would: every journal write fails
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.REFUSED);
            assertThat(r.reason()).startsWith("journal cannot be written: ").contains("nothing done");
            assertThat(r.steps()).isEmpty();
            assertThat(r.driver()).as("refused before the device was resolved: sysfs still names its driver").contains("xe");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
            assertThat(rig.model.wedgedWith(rig.gpu(0).bdf())).as("still wedged, never unbound").isPresent();
            assertThat(rig.log()).contains("outcome=refused", "journal cannot be written", "journal-failed", "the wedge cannot be journaled");
        }
    }

    @Test
    void aJournalThatFailsOnceTheDeviceIsUnboundDoesNotLeaveItUnbound() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            rig.onSimLine = l -> {
                if (l.startsWith("unbind")) rig.journal.close(); // the disk fails mid-recovery
            };
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(r.reason()).contains("journal incomplete from ");
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
            assertThat(rig.log()).contains("error journal-failed", "carrying on unjournaled");
        }
    }

    @Test
    void theJournalAlsoHoldsWhatWasNotARecovery() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.NONE), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).isEqualTo(Result.NOTHING_TO_DO);
            var row = rig.journal.history(Optional.empty(), Optional.of("card0"), Optional.empty(), 10).getFirst();
            assertThat(row.result()).contains("nothing-to-do");
            assertThat(rig.journal.show(row.id()).orElseThrow().steps()).isEmpty();
        }
    }

    @Test
    void twoGpusWedgedAtOnceRecoverInParallelUpToTheCap() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 200), true, policy(2, Set.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET)))) {
            for (var g : rig.host.gpus()) rig.model.probeDelay(g.bdf(), Duration.ofMillis(400));
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
            var a = rig.nextReport(WAIT);
            var b = rig.nextReport(WAIT);
            assertThat(List.of(a.result(), b.result())).containsOnly(Result.RECOVERED);
            assertThat(List.of(a.bdf().toString(), b.bdf().toString())).containsExactlyInAnyOrder("0000:03:00.0", "0000:06:00.0");
            // in parallel: both were unbound before either probe (400 ms each) finished
            var order = rig.simLines.stream().filter(l -> l.startsWith("unbind ") || l.startsWith("bind ")).map(l -> l.split(" ")[0]).toList();
            assertThat(order).as(rig.simLines.toString()).containsExactly("unbind", "unbind", "bind", "bind");
        }
    }

    @Test
    void theHostWideCapOfOneRecoversTwoGpusOneAfterTheOther() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), true, RecoveryPolicy.DEFAULT)) { // max_concurrent 1
            for (var g : rig.host.gpus()) rig.model.probeDelay(g.bdf(), Duration.ofMillis(200));
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
            assertThat(List.of(rig.nextReport(WAIT).result(), rig.nextReport(WAIT).result())).containsOnly(Result.RECOVERED);
            var order = rig.simLines.stream().filter(l -> l.startsWith("unbind ") || l.startsWith("bind ")).map(l -> l.split(" ")[0]).toList();
            assertThat(order).as(rig.simLines.toString()).containsExactly("unbind", "bind", "unbind", "bind");
            assertThat(rig.log()).contains("recovery-waiting").contains("max_concurrent");
        }
    }

    /** Every method but those in {@code allowed} left out; up to {@code cap} recoveries at once. */
    static RecoveryPolicy policy(int cap, Set<RecoveryMethod> allowed) {
        var d = RecoveryPolicy.DEFAULT;
        var s = d.safety();
        return new RecoveryPolicy(new MethodPolicy(allowed, d.methods().busReset(), d.methods().resetMethod(), d.methods().unknown(),
                d.methods().vendorCommands()), new SafetyPolicy(s.budget(), s.budgetWindow(), s.flapCount(), s.flapWindow(), s.quarantine(), cap),
                d.preRecovery(), d.postRecovery(), d.hookTimeout(), d.verifyIoctl());
    }

    @Test
    void aHotplugChangeWithoutWedgedDoesNothing() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), false, true)) {
            rig.model.hotplug("card0");
            rig.model.wedge("card1", List.of(RecoveryMethod.REBIND), Optional.empty()); // a marker behind it
            var r = rig.nextReport(WAIT);
            assertThat(r.bdf()).hasToString("0000:06:00.0");
            assertThat(rig.reports).isEmpty();
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind 0000:03:00.0"));
            assertThat(rig.log()).contains("drm change without WEDGED").doesNotContain("wedged card=card0");
        }
    }

    @Test
    void aProbeThatFailsEndsTheRebindFailedWithTheStateSaidAndTheBusResetRecovers() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(800, 100), false, true)) {
            rig.model.failProbes(rig.gpu(1).bdf(), 1);
            rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.FAILED);
            assertThat(r.steps()).extracting(StepResult::step, StepResult::outcome)
                    .containsExactly(org.assertj.core.groups.Tuple.tuple(Step.DRAIN, Outcome.OK), org.assertj.core.groups.Tuple.tuple(Step.UNBIND, Outcome.OK), org.assertj.core.groups.Tuple.tuple(Step.BIND, Outcome.TIMEOUT));
            assertThat(r.reason()).contains("bind timeout", "left unbound", "echo 0000:06:00.0 >");
            assertThat(r.cardAfter()).isEmpty();
            assertThat(r.driver()).as("the driver the wedge found, though this attempt left the device without one").contains("xe");
            assertThat(rig.log()).contains("recovery-end", "outcome=failed");
            // the driver's next method: the probe fails only once, so the bus reset brings it back
            var escalation = rig.nextReport(WAIT);
            assertThat(escalation.method()).contains(RecoveryMethod.BUS_RESET);
            assertThat(escalation.result()).isEqualTo(Result.RECOVERED);
            assertThat(rig.topology.isUp(rig.gpu(1).bdf())).isTrue();
        }
    }

    @Test
    void aWedgeInsideTheSettleWindowMeansTheRecoveryFailed() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 3000), false, true)) {
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            // once the daemon has seen the card back it is settling: the driver wedges again, inside the 3 s window
            long deadline = System.nanoTime() + 10_000_000_000L;
            while (!rig.log().contains("recovery-verified")) {
                if (System.nanoTime() > deadline) throw new AssertionError("never verified:\n" + rig.log());
                Thread.sleep(5);
            }
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.FAILED);
            assertThat(r.steps().getLast().step()).isEqualTo(Step.SETTLE);
            assertThat(r.steps().getLast().outcome()).isEqualTo(Outcome.REWEDGED);
            assertThat(r.reason()).contains("wedged again");
        }
    }

    @Test
    void noneIsNotARecovery() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.NONE), Optional.of(new io.unwedge.core.TaskInfo(1372, "kwin_wayland")));
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.NOTHING_TO_DO);
            assertThat(r.reason()).contains("kwin_wayland[1372]");
            assertThat(r.steps()).isEmpty();
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        }
    }

    @Test
    void dryRunLogsThePlanAndTouchesNothing() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), true, true)) {
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.DRY_RUN);
            assertThat(r.steps()).isEmpty();
            assertThat(rig.log()).contains("plan ", "steps=drain,unbind,bind,settle", "dry run");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
            assertThat(rig.model.wedgedWith(rig.gpu(0).bdf())).as("still wedged").isPresent();
        }
    }

    @Test
    void methodsTheOperatorDoesNotAllowAreHandedToTheUnknownPolicyAndSaid() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), true, policy(1, Set.of(RecoveryMethod.REBIND)))) {
            rig.model.wedge("card0", List.of(RecoveryMethod.BUS_RESET), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.HANDED_OFF);
            assertThat(r.reason()).contains("bus-reset (not allowed by [recovery] methods)").contains("alerted");
            assertThat(rig.log()).contains("recovery-alert");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        }
    }

    @Test
    void stoppingTheDaemonMidRecoveryFinishesTheRecoveryFirst() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            rig.model.probeDelay(rig.gpu(0).bdf(), Duration.ofMillis(500));
            var unbound = new java.util.concurrent.CountDownLatch(1);
            rig.onSimLine = l -> {
                if (l.startsWith("unbind")) unbound.countDown();
            };
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            assertThat(unbound.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
            rig.supervisor.stop(); // returns once the recovery in flight has ended
            var r = rig.nextReport(Duration.ofMillis(1));
            assertThat(r.result()).isEqualTo(Result.RECOVERED);
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
        }
    }

    /**
     * A wedge waiting for its turn (the host-wide cap of one) when the daemon is asked to stop is not started
     * once the other's recovery ends: the stop would cut it off mid-way. Its journal row stays unfinished, so
     * the next start finds the device bound and untouched and handles the wedge again.
     */
    @Test
    void aWedgeWaitingAtTheGateWhenTheDaemonStopsIsLeftForTheNextStart() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), true, RecoveryPolicy.DEFAULT)) { // max_concurrent 1
            card1WaitsAtTheGate(rig);
            rig.supervisor.stop();
            assertThat(rig.nextReport(Duration.ofMillis(1)).result()).isEqualTo(Result.RECOVERED);
            assertThat(rig.log()).contains("recovery-deferred card=card1");
            assertThat(rig.simLines).as("card1 untouched").noneMatch(l -> l.contains(rig.gpu(1).bdf().toString()) && l.startsWith("unbind"));
            assertThat(rig.model.wedgedWith(rig.gpu(1).bdf())).as("still wedged").isPresent();
            assertThat(rig.journal.unfinished()).singleElement().satisfies(u -> assertThat(u.bdf()).isEqualTo(rig.gpu(1).bdf()));
        }
    }

    /**
     * A second wedge of a device whose first waits for its turn is still in the device's mailbox when the
     * daemon stops. The first is left unfinished in the journal for the next start; the second is not journaled
     * too: the next start must handle the device once, not recover it twice.
     */
    @Test
    void aWedgeStillQueuedWhenTheDaemonStopsIsCoveredByTheOneLeftForTheNextStart() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), true, RecoveryPolicy.DEFAULT)) { // max_concurrent 1
            card1WaitsAtTheGate(rig);
            rig.model.repeatWedge("card1"); // queued behind the first: that one waits at the gate, reading nothing
            rig.awaitLog(l -> countOf(l, "wedged card=card1") == 2);
            rig.supervisor.stop();
            assertThat(rig.nextReport(Duration.ofMillis(1)).result()).isEqualTo(Result.RECOVERED);
            assertThat(countOf(rig.log(), "recovery-deferred card=card1")).as(rig.log()).isEqualTo(1);
            assertThat(countOf(rig.log(), "wedge-covered card=card1")).as(rig.log()).isEqualTo(1);
            assertThat(rig.simLines).as("card1 untouched").noneMatch(l -> l.contains(rig.gpu(1).bdf().toString()) && l.startsWith("unbind"));
            assertThat(rig.journal.unfinished()).singleElement().satisfies(u -> assertThat(u.bdf()).isEqualTo(rig.gpu(1).bdf()));
        }
    }

    /** With the host-wide cap of one: card0's recovery is under way (its bind slowed down), card1's waits for its turn. */
    private static void card1WaitsAtTheGate(Rig rig) throws Exception {
        rig.model.probeDelay(rig.gpu(0).bdf(), Duration.ofMillis(800));
        var unbound = new java.util.concurrent.CountDownLatch(1);
        rig.onSimLine = l -> {
            if (l.startsWith("unbind " + rig.gpu(0).bdf())) unbound.countDown();
        };
        rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
        assertThat(unbound.await(10, java.util.concurrent.TimeUnit.SECONDS)).isTrue();
        rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
        rig.awaitLog(l -> l.contains("recovery-waiting card=card1"));
    }

    private static int countOf(String text, String what) {
        int n = 0;
        for (int i = text.indexOf(what); i >= 0; i = text.indexOf(what, i + 1)) n++;
        return n;
    }

    @Test
    void aMissingUnbindAttributeFailsCleanlyAndNothingIsTouched() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, true)) {
            // an odd layout: the driver directory has no unbind attribute
            var unbind = rig.host.sys().resolve("bus/pci/drivers/xe/unbind");
            var aside = unbind.resolveSibling("unbind.aside");
            java.nio.file.Files.move(unbind, aside);
            try {
                rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
                var r = rig.nextReport(WAIT);
                assertThat(r.result()).isEqualTo(Result.FAILED);
                assertThat(r.steps()).extracting(StepResult::outcome).containsExactly(Outcome.OK, Outcome.ERROR);
                assertThat(r.reason()).contains(unbind.toString(), "still bound to xe (nothing changed)");
                // the escalation cannot unbind either; the device is quarantined, and said to be left as it is
                var escalated = rig.nextReport(WAIT);
                assertThat(escalated.method()).contains(RecoveryMethod.BUS_RESET);
                assertThat(escalated.result()).isEqualTo(Result.FAILED);
                assertThat(escalated.reason()).contains("still bound to xe (nothing changed)", "every method failed", "quarantined");
                assertThat(aside.resolveSibling("unbind")).as("never created").doesNotExist();
                assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
            } finally {
                java.nio.file.Files.move(aside, unbind);
            }
        }
    }

    @Test
    void theInProcessEventPathRecoversToo() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), false, false)) {
            rig.model.wedge("card0", REBIND_BUS_RESET, Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).isEqualTo(Result.RECOVERED);
        }
    }
}
