package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.holders.DrainPolicy.Mode;
import io.unwedge.core.holders.DrainPolicy.Protection;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.DrainRow;
import io.unwedge.sim.VirtualClient;
import io.unwedge.sim.VirtualClient.Behaviour;
import io.unwedge.sim.VirtualClient.Options;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The drain step end to end: the daemon, the virtual host through the real kernel, and virtual clients that
 * are real processes this test starts (and always kills) holding the virtual card's node. Policy × behaviour.
 */
class DrainEndToEndTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static final List<RecoveryMethod> REBIND = List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);
    /**
     * A polite client (or one that exits on its own) closes the node, then exits: the close wakes the drain (inotify), whose rescan may come
     * between the two. Both ends are true; which one is recorded is the machine's timing, not a choice.
     */
    static final String POLITE_RACE = "let go of the device and still runs";

    @TempDir Path dir;
    final List<VirtualClient> clients = new java.util.concurrent.CopyOnWriteArrayList<>();

    @AfterEach
    void killClients() {
        for (var c : clients) c.close(); // only our own children
    }

    static DrainPolicy policy(Mode mode, long graceMs, boolean force) {
        return new DrainPolicy(mode, Duration.ofMillis(graceMs), Protection.DEFAULT, force);
    }

    Rig rig(DrainPolicy policy) throws Exception {
        return new Rig(dir, 1, Rig.timeouts(5000, 100), false, true, policy);
    }

    VirtualClient client(Rig rig, Options o) throws Exception {
        var c = VirtualClient.start(VirtualClient.node(rig.host, "card0"), o, l -> {});
        clients.add(c);
        return c;
    }

    RecoveryReport wedge(Rig rig) throws Exception {
        rig.model.wedge("card0", REBIND, Optional.empty());
        return rig.nextReport(WAIT);
    }

    static void assertRecoveredAfterADrain(RecoveryReport r, Rig rig) {
        assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
        assertThat(r.steps()).extracting(StepResult::step).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
        assertThat(r.steps()).extracting(StepResult::outcome).containsOnly(Outcome.OK);
        assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
    }

    static void assertRefusedUntouched(RecoveryReport r, Rig rig) throws Exception {
        assertThat(r.result()).as(rig.log()).isEqualTo(Result.REFUSED);
        assertThat(r.steps()).extracting(StepResult::step).containsExactly(Step.DRAIN);
        assertThat(r.steps().getFirst().outcome()).isEqualTo(Outcome.REFUSED);
        assertThat(r.reason()).startsWith("holders remain: ").contains("nothing unbound");
        assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        assertThat(rig.model.wedgedWith(rig.gpu(0).bdf())).as("still wedged").isPresent();
    }

    /** The journal's drain rows of the last recovery, each checked to name that recovery's drain step. */
    static List<DrainRow> drainRows(Rig rig) throws Exception {
        var last = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 1).getFirst();
        var drainStep = rig.journal.show(last.id()).orElseThrow().steps().getFirst();
        assertThat(drainStep.step()).isEqualTo(Step.DRAIN);
        var rows = rig.journal.drains(last.id());
        assertThat(rows).allSatisfy(d -> assertThat(d.stepId()).contains(drainStep.id()));
        return rows;
    }

    /** The drain-holder-gone line of client {@code c}. */
    static String goneLine(Rig rig, VirtualClient c) throws Exception {
        return rig.log().lines().filter(l -> l.contains("drain-holder-gone") && l.contains("pid=" + c.pid() + " "))
                .findFirst().orElseThrow(() -> new AssertionError("no drain-holder-gone line for pid " + c.pid()));
    }

    static DrainRow.Holder row(List<DrainRow> rows, VirtualClient c) {
        var mine = rows.stream().map(DrainRow::holder).filter(h -> h.pid() == c.pid()).toList();
        assertThat(mine).as("one row for pid " + c.pid() + " in " + rows).hasSize(1);
        return mine.getFirst();
    }

    /** The uid the clients run as: this test's. */
    static int uid() throws Exception {
        return (Integer) java.nio.file.Files.getAttribute(Path.of("/proc/self"), "unix:uid");
    }

    @Test
    void withNoHolderTheDrainIsAnOkStepAndTheRecoveryRuns() throws Exception {
        try (var rig = rig(DrainPolicy.DEFAULT)) {
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(r.steps().getFirst().detail()).startsWith("free: no process held card0");
        }
    }

    @Test
    void anUnbindTheJournalCannotTakeAfterTheDrainIsRefusedAndSaysTheHoldersWereSignalled() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 5000, false))) {
            // the journal refuses the unbind's intent, as a full disk would: a trigger, SQLite's own, on the daemon's file
            try (var c = java.sql.DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("state").resolve(io.unwedge.daemon.journal.Journal.FILE));
                 var st = c.createStatement()) {
                st.execute("CREATE TRIGGER no_unbind BEFORE INSERT ON steps WHEN NEW.step = 'unbind' BEGIN SELECT RAISE(ABORT, 'no room'); END");
            }
            var c = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.REFUSED);
            assertThat(r.reason()).startsWith("journal cannot be written: ").endsWith("; its holders were signalled, nothing unbound, the device is still wedged");
            assertThat(c.waitFor(Duration.ofSeconds(5))).as("the drain ran: the holder was terminated").contains(0);
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
            assertThat(rig.model.wedgedWith(rig.gpu(0).bdf())).as("still wedged").isPresent();
            assertThat(rig.log()).contains("journal-failed", "step=unbind");
        }
    }

    @Test
    void terminateAndAPoliteClientItExitsOnSigtermAndTheDeviceIsRecovered() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 5000, false))) {
            var c = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(c.waitFor(Duration.ofSeconds(5))).contains(0);
            assertThat(c.lines()).contains("released on SIGTERM");
            assertThat(r.steps().getFirst().millis()).as("woken by the pidfd, not by the 5 s grace").isLessThan(4000);
            assertThat(rig.log()).contains("drain-signal", "pid=" + c.pid(), "signal=SIGTERM").doesNotContain("signal=SIGKILL");
            assertThat(goneLine(rig, c)).containsAnyOf("exited after SIGTERM", POLITE_RACE);
            var steps = rig.journal.show(rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 1).getFirst().id())
                    .orElseThrow().steps();
            assertThat(steps.getFirst().step()).isEqualTo(Step.DRAIN);
            assertThat(steps.getFirst().outcome()).contains("ok");
            var h = row(drainRows(rig), c);
            assertThat(h.comm()).isEqualTo("python3"); // the client is a python3 script
            assertThat(h.uid()).contains(uid());
            assertThat(h.fds()).as("the client's descriptor").isEqualTo(1);
            assertThat(h.maps()).as("and its mapping of it").isEqualTo(1);
            assertThat(h.signal()).contains(DrainPolicy.Signal.TERM);
            assertThat(h.outcome()).as("exited, or let go just before exiting").isIn(DrainRow.Outcome.EXITED, DrainRow.Outcome.RELEASED);
            assertThat(h.exitMillis()).hasValueSatisfying(ms -> assertThat(ms).isBetween(0L, r.steps().getFirst().millis()));
        }
    }

    @Test
    void terminateAndAStubbornClientItIsKilledAfterTheGraceAndTheDeviceIsRecovered() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 400, false))) {
            var c = client(rig, Options.of(Behaviour.STUBBORN));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(c.waitFor(Duration.ofSeconds(5))).contains(137); // 128 + SIGKILL
            assertThat(c.lines()).contains("SIGTERM ignored");
            assertThat(r.steps().getFirst().millis()).isGreaterThanOrEqualTo(400);
            assertThat(rig.log()).contains("signal=SIGTERM", "signal=SIGKILL", "killed (SIGKILL)");
            var h = row(drainRows(rig), c);
            assertThat(h.signal()).contains(DrainPolicy.Signal.KILL);
            assertThat(h.outcome()).isEqualTo(DrainRow.Outcome.KILLED);
            assertThat(h.exitMillis()).hasValueSatisfying(ms -> assertThat(ms).isGreaterThanOrEqualTo(400));
        }
    }

    @Test
    void waitAndAStubbornClientTheRecoveryIsRefusedWithTheHolderListedAndNobodySignalled() throws Exception {
        try (var rig = rig(policy(Mode.WAIT, 500, false))) {
            var c = client(rig, Options.of(Behaviour.STUBBORN));
            var r = wedge(rig);
            assertRefusedUntouched(r, rig);
            assertThat(r.reason()).contains(c.pid() + " ", "still holding after waiting 500 ms");
            assertThat(c.isAlive()).isTrue();
            assertThat(c.lines()).isEmpty();
            assertThat(rig.log()).doesNotContain("drain-signal").contains("outcome=refused");
            var h = row(drainRows(rig), c);
            assertThat(h.signal()).isEmpty();
            assertThat(h.outcome()).isEqualTo(DrainRow.Outcome.REMAINED);
            assertThat(h.exitMillis()).isEmpty();
        }
    }

    @Test
    void notifyOnlyRefusesAtOnceAndSignalsNobody() throws Exception {
        try (var rig = rig(policy(Mode.NOTIFY_ONLY, 10_000, false))) {
            var c = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertRefusedUntouched(r, rig);
            assertThat(r.reason()).contains(c.pid() + " ", "notify-only");
            assertThat(r.steps().getFirst().millis()).isLessThan(5000);
            assertThat(c.isAlive()).isTrue();
            assertThat(c.lines()).isEmpty();
            var h = row(drainRows(rig), c);
            assertThat(h.signalWord()).isEqualTo("none");
            assertThat(h.outcome()).isEqualTo(DrainRow.Outcome.NOTIFIED);
        }
    }

    @Test
    void notifyOnlyWithForceProceedsWithTheHolderLeftAlone() throws Exception {
        try (var rig = rig(policy(Mode.NOTIFY_ONLY, 10_000, true))) {
            var c = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(r.steps().getFirst().detail()).startsWith("forced with holders remaining: " + c.pid() + " ");
            assertThat(c.isAlive()).isTrue();
            assertThat(c.lines()).isEmpty();
            assertThat(rig.log()).contains("drain-forced").doesNotContain("drain-signal");
            assertThat(row(drainRows(rig), c).outcome()).isEqualTo(DrainRow.Outcome.NOTIFIED);
        }
    }

    @Test
    void aProtectedClientRefusesTheRecoveryAndIsNeverSignalled() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 300, false))) {
            var c = client(rig, Options.of(Behaviour.PROTECTED));
            var r = wedge(rig);
            assertRefusedUntouched(r, rig);
            assertThat(r.reason()).contains(c.pid() + " Xwayland (protected comm Xwayland)");
            assertThat(c.isAlive()).isTrue();
            assertThat(c.lines()).as("a polite client that was never sent SIGTERM").isEmpty();
            assertThat(rig.log()).doesNotContain("drain-signal");
            var h = row(drainRows(rig), c);
            assertThat(h.comm()).isEqualTo("Xwayland");
            assertThat(h.signal()).isEmpty();
            assertThat(h.outcome()).isEqualTo(DrainRow.Outcome.PROTECTED);
        }
    }

    @Test
    void aProtectedClientIsNotSignalledEvenWhenOthersAreAndForceProceeds() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 3000, true))) {
            var xwayland = client(rig, Options.of(Behaviour.PROTECTED));
            var other = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(other.waitFor(Duration.ofSeconds(5))).contains(0);
            assertThat(xwayland.isAlive()).isTrue();
            assertThat(xwayland.lines()).isEmpty();
            assertThat(rig.log().lines().filter(l -> l.contains("drain-signal"))).isNotEmpty()
                    .allMatch(l -> l.contains("pid=" + other.pid() + " ")).noneMatch(l -> l.contains("pid=" + xwayland.pid() + " "));
            var rows = drainRows(rig);
            assertThat(rows).hasSize(2);
            assertThat(row(rows, xwayland).outcome()).isEqualTo(DrainRow.Outcome.PROTECTED);
            assertThat(row(rows, other).outcome()).as("exited, or let go just before exiting").isIn(DrainRow.Outcome.EXITED, DrainRow.Outcome.RELEASED);
            assertThat(row(rows, other).signal()).contains(DrainPolicy.Signal.TERM);
        }
    }

    @Test
    void aHolderThatOnlyKeepsAMappingIsFoundAndDrained() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 5000, false))) {
            var c = client(rig, new Options(Behaviour.POLITE, true, Duration.ZERO));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(c.waitFor(Duration.ofSeconds(5))).contains(0);
            assertThat(rig.log()).contains("pid=" + c.pid(), "holds=\"0 fd(s), 1 mapping(s)\"");
            var h = row(drainRows(rig), c);
            assertThat(h.fds()).isZero();
            assertThat(h.maps()).isEqualTo(1);
            assertThat(h.clients()).isZero();
        }
    }

    @Test
    void aHolderThatExitsMidDrainIsSeenGoneAtOnce() throws Exception {
        try (var rig = rig(policy(Mode.WAIT, 8000, false))) {
            // it exits on its own 2.5 s after it starts: long enough for a loaded machine's wedge to reach the drain
            // first (with 600 ms it was sometimes gone before the first scan), short of the 8 s wait
            var c = client(rig, new Options(Behaviour.STUBBORN, false, Duration.ofMillis(2500)));
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            assertThat(c.waitFor(Duration.ofSeconds(5))).contains(0);
            assertThat(r.steps().getFirst().millis()).as("the pidfd woke the drain; the 8 s wait did not run out").isLessThan(6000);
            assertThat(rig.log()).doesNotContain("drain-signal");
            assertThat(goneLine(rig, c)).containsAnyOf("exited on its own", POLITE_RACE);
            var h = row(drainRows(rig), c);
            assertThat(h.signal()).as("wait: nobody is signalled").isEmpty();
            assertThat(h.outcome()).as("it was waited for, not about to be signalled: exited, or let go just before exiting")
                    .isIn(DrainRow.Outcome.EXITED, DrainRow.Outcome.RELEASED);
            assertThat(h.exitMillis()).hasValueSatisfying(ms -> assertThat(ms).isBetween(1L, 6000L));
        }
    }

    @Test
    void aProcessThatOpensTheDeviceDuringTheDrainIsDrainedTooWithItsOwnGrace() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 1500, false))) {
            var late = new java.util.concurrent.CompletableFuture<VirtualClient>();
            var node = VirtualClient.node(rig.host, "card0");
            // the first holder ignores SIGTERM; the moment it does, a second process opens the device
            var first = VirtualClient.start(node, Options.of(Behaviour.STUBBORN), line -> {
                if (line.equals("SIGTERM ignored") && !late.isDone()) {
                    try {
                        var c = VirtualClient.start(node, Options.of(Behaviour.POLITE), l -> {});
                        clients.add(c);
                        late.complete(c);
                    } catch (Exception e) {
                        late.completeExceptionally(e);
                    }
                }
            });
            clients.add(first);
            var r = wedge(rig);
            assertRecoveredAfterADrain(r, rig);
            var second = late.get(5, java.util.concurrent.TimeUnit.SECONDS);
            assertThat(first.waitFor(Duration.ofSeconds(5))).contains(137);
            assertThat(second.waitFor(Duration.ofSeconds(5))).contains(0);
            assertThat(second.lines()).contains("released on SIGTERM");
            assertThat(rig.log()).contains("pid=" + second.pid() + " comm=", "killed (SIGKILL)");
            assertThat(rig.log().lines().filter(l -> l.contains("drain-signal") && l.contains("pid=" + second.pid() + " ")))
                    .as("the late opener gets its own SIGTERM and grace, and needs no SIGKILL")
                    .singleElement().satisfies(l -> assertThat(l).contains("signal=SIGTERM"));
            var rows = drainRows(rig);
            assertThat(rows).extracting(d -> d.holder().pid()).containsExactly((int) first.pid(), (int) second.pid());
            assertThat(row(rows, first).outcome()).isEqualTo(DrainRow.Outcome.KILLED);
            assertThat(row(rows, second).outcome()).as("exited, or let go just before exiting").isIn(DrainRow.Outcome.EXITED, DrainRow.Outcome.RELEASED);
            assertThat(row(rows, second).signal()).contains(DrainPolicy.Signal.TERM);
        }
    }

    /**
     * The driver repeats its wedge while the drain runs (the drain reads no uevents): that wedge was sent by the
     * instance the unbind takes away, so however late the mailbox hands it over, it is not a re-wedge of the
     * instance the bind brings up, and the rebind is not escalated. (The simulator's unbind takes effect just
     * after its write returns, so the unbind's own wait reads that wedge; on a kernel whose write returns done,
     * the bind's or the settle's would: {@link DepartureTest} has the rule they apply.)
     */
    @Test
    void aWedgeRepeatedDuringTheDrainIsNotTakenForAReWedge() throws Exception {
        try (var rig = rig(policy(Mode.TERMINATE, 1500, false))) {
            var c = client(rig, Options.of(Behaviour.STUBBORN));
            rig.model.wedge("card0", REBIND, Optional.empty());
            rig.awaitLog(l -> l.contains("signal=SIGTERM")); // the drain is under way
            rig.model.repeatWedge("card0"); // the old instance, again, mid-drain
            var r = rig.nextReport(WAIT);
            assertRecoveredAfterADrain(r, rig);
            assertThat(r.method()).contains(RecoveryMethod.REBIND);
            assertThat(c.waitFor(Duration.ofSeconds(5))).contains(137);
            assertThat(rig.log()).contains("wedge-ignored").doesNotContain("recovery-escalate");
            Thread.sleep(500);
            assertThat(rig.log().lines().filter(l -> l.contains(" recovery-end "))).as("one wedge, one recovery").hasSize(1);
        }
    }

    @Test
    void dryRunSaysWhoWouldBeSignalledAndSignalsNobody() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), true, true, policy(Mode.TERMINATE, 300, false))) {
            var c = client(rig, Options.of(Behaviour.POLITE));
            var r = wedge(rig);
            assertThat(r.result()).isEqualTo(Result.DRY_RUN);
            assertThat(rig.log()).contains("drain-plan", "pid=" + c.pid(), "would send SIGTERM, then SIGKILL after 300 ms");
            var last = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 1).getFirst();
            assertThat(rig.journal.drains(last.id())).as("a dry run writes no drain row").isEmpty();
            assertThat(c.isAlive()).isTrue();
            assertThat(c.lines()).isEmpty();
        }
    }

    @Test
    void eachDeviceIsDrainedByItsOwnPolicy() throws Exception {
        var terminate = policy(Mode.TERMINATE, 200, false);
        var notifyOnly = policy(Mode.NOTIFY_ONLY, 200, false);
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 100), terminate,
                (driver, bdf) -> bdf.toString().equals("0000:06:00.0") ? notifyOnly : terminate)) {
            var held0 = VirtualClient.start(VirtualClient.node(rig.host, "card0"), Options.of(Behaviour.STUBBORN), l -> {});
            clients.add(held0);
            var held1 = VirtualClient.start(VirtualClient.node(rig.host, "card1"), Options.of(Behaviour.STUBBORN), l -> {});
            clients.add(held1);

            rig.model.wedge("card0", REBIND, Optional.empty());
            var r0 = rig.nextReport(WAIT);
            assertThat(r0.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(held0.waitFor(Duration.ofSeconds(10))).as("card0's device table: terminate, then SIGKILL").isPresent();

            rig.model.wedge("card1", REBIND, Optional.empty());
            var r1 = rig.nextReport(WAIT);
            assertThat(r1.result()).isEqualTo(Result.REFUSED);
            assertThat(r1.reason()).contains("holders remain: ", "notify-only");
            assertThat(held1.isAlive()).as("card1's: notify-only, nobody signalled").isTrue();
        }
    }
}
