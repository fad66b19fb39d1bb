package io.unwedge.daemon.journal;

import io.unwedge.core.safety.QuarantineMode;
import static io.unwedge.daemon.journal.JournalTest.GPU1;
import static io.unwedge.daemon.journal.JournalTest.T0;
import static io.unwedge.daemon.journal.JournalTest.report;
import static io.unwedge.daemon.journal.JournalTest.wedge;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Offences;
import io.unwedge.core.PciAddress;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.StepResult.Outcome;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** Schema v3 against a real SQLite file: escalations, telemetry and offences, quarantine, and their retention. */
class JournalV3Test extends JournalFileTest {

    static final PciAddress GPU0 = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final TelemetryRow.Devcoredump DUMP1 = new TelemetryRow.Devcoredump(
            Path.of("/var/lib/unwedge/devcoredump/0000:06:00.0-20261125T100000Z-devcd1.bin"), 4096,
            "9f86d081884c7d659a2feaa0c55ad015a3bf4f1b2b0b822cd15d6c15b0f00a08", false);
    static final TelemetryRow.Devcoredump DUMP2 = new TelemetryRow.Devcoredump(
            Path.of("/var/lib/unwedge/devcoredump/0000:06:00.0-20261125T100000Z-devcd2.bin"), 17,
            "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855", true);

    static WedgedEvent wedgeBy(String card, String bdf, long seqnum, String comm) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "none");
        f.put("PID", "2112");
        f.put("TASK", comm);
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/" + bdf + "/drm/" + card, f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    /** A recovery that ends with {@code result} after an unbind and a bind; returns its id. */
    long recovery(Journal j, long eventId, WedgedEvent e, Optional<Long> escalatedFrom, RecoveryReport.Result result) throws Exception {
        long id = escalatedFrom.isPresent() ? j.beginEscalation(eventId, e, escalatedFrom.get()) : j.beginRecovery(eventId, e);
        for (var step : List.of(Step.UNBIND, Step.BIND)) {
            j.stepEnded(j.intent(id, step), new StepResult(step, Outcome.OK, 1, "did " + step));
        }
        j.endRecovery(id, report(e, result, List.of()));
        return id;
    }

    @Test
    void aVersion2FileIsUpgradedToVersion3WithItsRowsIntact() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 5208);
        long t0 = Journal.us(T0);
        try (var c = sql()) {
            assertThat(Schema.migrate(c, Schema.MIGRATIONS.subList(0, 2))).isZero();
            assertThat(Schema.version(c)).isEqualTo(2);
            insertEvent(c, e, t0);
            try (var s = c.createStatement()) {
                s.execute("INSERT INTO recoveries (event_id, bdf, card, method, result, reason, started_at, ended_at, card_after, latency_us, driver)"
                        + " VALUES (1, '0000:06:00.0', 'card1', 'rebind', 'recovered', 'restart: bound again', " + t0 + ", " + (t0 + 90_000)
                        + ", 'card1', 850, 'xe')");
                s.execute("INSERT INTO steps (recovery_id, step, intent_at, started_at, ended_at, outcome, detail) VALUES (1, 'unbind', "
                        + t0 + ", " + t0 + ", " + (t0 + 40_000) + ", 'ok', 'unbound')");
                s.execute("INSERT INTO steps (recovery_id, step, intent_at) VALUES (1, 'bind', " + (t0 + 50_000) + ")");
                s.execute("INSERT INTO restarts (recovery_id, at, found, action, detail) VALUES (1, " + (t0 + 90_000)
                        + ", 'unbound', 'resumed', 'restart: bound again')");
            }
        }
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version 2").hasMessageContaining("start the daemon once to migrate it");

        try (var j = Journal.open(dir, clock, log)) {
            var d = j.show(1).orElseThrow();
            var r = d.recovery();
            assertThat(r.bdf()).isEqualTo(GPU1);
            assertThat(r.task()).contains("glxgears[4242]");
            assertThat(r.driver()).contains("xe");
            assertThat(r.result()).contains("recovered");
            assertThat(r.duration()).contains(Duration.ofMillis(90));
            assertThat(r.latencyMicros()).contains(850L);
            assertThat(r.escalatedFrom()).as("v2 rows escalate from nothing").isEmpty();
            assertThat(d.steps()).extracting(StepRow::step).containsExactly(Step.UNBIND, Step.BIND);
            assertThat(d.steps().getFirst().duration()).contains(Duration.ofMillis(40));
            assertThat(j.restarts(1)).containsExactly(new Journal.RestartRow(1, T0.plusMillis(90), "unbound", "resumed", "restart: bound again"));
            assertThat(j.wedge(1)).contains(e);
            // and v3 works on it
            long up = j.beginEscalation(1, e, 1);
            assertThat(j.show(up).orElseThrow().recovery().escalatedFrom()).contains(1L);
            assertThat(j.quarantine(GPU1, "flapping", QuarantineMode.EXCLUDED)).isTrue();
            j.recordTelemetry(1, e, Optional.empty(), List.of(), "");
            assertThat(j.offences("glxgears", Optional.empty(), T0)).containsExactly(T0);
        }
        assertThat(count("SELECT version FROM schema_version")).isEqualTo(Schema.CURRENT);
        assertThat(count("SELECT count(*) FROM schema_version")).isEqualTo(1);
        assertThat(count("PRAGMA foreign_key_check")).isZero();
        try (var reader = Journal.openReadOnly(dir, clock)) {
            assertThat(reader.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(2);
        }
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).doesNotContain("journal-corrupt");
    }

    @Test
    void anEscalationNamesTheRecoveryOfTheSameEventItFollows() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 1);
        var other = wedge("card0", "0000:03:00.0", 2);
        try (var j = Journal.open(dir, clock, log)) {
            long ev = j.recordEvent(e, clock.instant());
            long first = recovery(j, ev, e, Optional.empty(), RecoveryReport.Result.FAILED);
            clock.advance(Duration.ofSeconds(1));
            long second = recovery(j, ev, e, Optional.of(first), RecoveryReport.Result.RECOVERED);
            assertThat(j.show(first).orElseThrow().recovery().escalatedFrom()).isEmpty();
            assertThat(j.show(second).orElseThrow().recovery().escalatedFrom()).contains(first);
            assertThat(j.history(Optional.of(GPU1), Optional.empty(), Optional.empty(), 10))
                    .extracting(RecoveryRow::escalatedFrom).containsExactly(Optional.of(first), Optional.empty());

            long otherEvent = j.recordEvent(other, clock.instant());
            long otherRecovery = j.beginRecovery(otherEvent, other);
            assertThatThrownBy(() -> j.beginEscalation(ev, e, otherRecovery)).isInstanceOf(JournalException.class)
                    .hasMessageContaining("cannot begin an escalation from recovery " + otherRecovery)
                    .hasMessageContaining("recovery " + otherRecovery + " is of event " + otherEvent + " on 0000:03:00.0, not of event " + ev + " on 0000:06:00.0");
            assertThatThrownBy(() -> j.beginEscalation(ev, e, 99)).isInstanceOf(JournalException.class)
                    .hasMessageContaining("there is no recovery 99");
            assertThat(j.history(Optional.of(GPU1), Optional.empty(), Optional.empty(), 10)).as("a refused escalation left no row").hasSize(2);
        }
    }

    @Test
    void recoveriesSinceGivesADevicesAttemptsOldestFirstWithTheUnfinished() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 1);
        try (var j = Journal.open(dir, clock, log)) {
            long ev = j.recordEvent(e, clock.instant());
            long old = recovery(j, ev, e, Optional.empty(), RecoveryReport.Result.RECOVERED);
            clock.advance(Duration.ofMinutes(30));
            Instant since = clock.instant();
            var e2 = wedge("card1", "0000:06:00.0", 2);
            long ev2 = j.recordEvent(e2, clock.instant());
            long failed = recovery(j, ev2, e2, Optional.empty(), RecoveryReport.Result.FAILED);
            clock.advance(Duration.ofSeconds(2));
            long escalation = j.beginEscalation(ev2, e2, failed); // running
            var e3 = wedge("card0", "0000:03:00.0", 3);
            recovery(j, j.recordEvent(e3, clock.instant()), e3, Optional.empty(), RecoveryReport.Result.RECOVERED);

            assertThat(j.recoveriesSince(GPU1, since)).containsExactly(
                    new Journal.Attempt(failed, since, Optional.of(since), ev2, Optional.of("rebind"), Optional.of("failed"), Optional.empty()),
                    new Journal.Attempt(escalation, since.plusSeconds(2), Optional.empty(), ev2, Optional.empty(), Optional.empty(), Optional.of(failed)));
            assertThat(j.recoveriesSince(GPU1, T0)).extracting(Journal.Attempt::id).containsExactly(old, failed, escalation);
            assertThat(j.recoveriesSince(GPU1, clock.instant().plusSeconds(1))).isEmpty();
        }
    }

    @Test
    void telemetryIsReadBackAndATasksOffencesAreItsRowsByCommAndExe() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            var a = wedgeBy("card1", "0000:06:00.0", 1, "glxgears");
            long id1 = j.recordTelemetry(j.recordEvent(a, clock.instant()), a, Optional.of("/usr/bin/glxgears"),
                    List.of(DUMP1, DUMP2), "");
            clock.advance(Duration.ofMinutes(10));
            var b = wedgeBy("card1", "0000:06:00.0", 2, "glxgears");
            j.recordTelemetry(j.recordEvent(b, clock.instant()), b, Optional.of("/opt/other/glxgears"), List.of(), "devcd3 vanished");
            clock.advance(Duration.ofMinutes(10));
            var c = wedgeBy("card0", "0000:03:00.0", 3, "glxgears");
            j.recordTelemetry(j.recordEvent(c, clock.instant()), c, Optional.of("/usr/bin/glxgears"), List.of(), "");
            clock.advance(Duration.ofMinutes(10));
            j.recordTelemetry(j.recordEvent(c, clock.instant()), c, Optional.empty(), List.of(), "exe unreadable: gone");
            var notask = wedge("card0", "0000:03:00.0", 4);
            var noTaskEvent = new WedgedEvent(notask.card(), notask.cardIndex(), notask.bdf(), notask.devpath(), notask.methods(),
                    Optional.empty(), notask.seqnum(), notask.rawMethods(), notask.uevent());
            j.recordTelemetry(j.recordEvent(noTaskEvent, clock.instant()), noTaskEvent, Optional.empty(), List.of(), "");

            var all = j.telemetry(Optional.empty(), Optional.empty(), 10);
            assertThat(all).hasSize(5);
            var first = all.getLast();
            assertThat(first).isEqualTo(new TelemetryRow(id1, 1, T0, GPU1, "card1", Optional.of(2112), Optional.of("glxgears"),
                    Optional.of("/usr/bin/glxgears"), List.of(DUMP1.file(), DUMP2.file()), List.of(DUMP1, DUMP2), 4113, ""));
            assertThat(all.getFirst().task()).isEmpty();
            assertThat(all.getFirst().pid()).isEmpty();
            assertThat(all.getFirst().devcoredumps()).isEmpty();
            assertThat(all.getFirst().dumps()).isEmpty();
            assertThat(j.telemetry(Optional.of(GPU1), Optional.empty(), 10)).extracting(TelemetryRow::note).containsExactly("devcd3 vanished", "");
            assertThat(j.telemetry(Optional.empty(), Optional.of(T0.plusSeconds(1200)), 10)).hasSize(3);
            assertThat(j.telemetry(Optional.empty(), Optional.empty(), 2)).hasSize(2);

            // the same comm and exe, on whichever device; another exe, or none, is another task
            assertThat(j.offences("glxgears", Optional.of("/usr/bin/glxgears"), T0)).containsExactly(T0, T0.plusSeconds(1200));
            assertThat(j.offences("glxgears", Optional.of("/opt/other/glxgears"), T0)).containsExactly(T0.plusSeconds(600));
            assertThat(j.offences("glxgears", Optional.empty(), T0)).containsExactly(T0.plusSeconds(1800));
            assertThat(j.offences("glxgears", Optional.of("/usr/bin/glxgears"), T0.plusSeconds(1))).containsExactly(T0.plusSeconds(1200));
            assertThat(j.offences("xonotic", Optional.empty(), T0)).isEmpty();

            // what Offences makes of them: the third of glxgears within the hour
            var policy = new Offences.Policy(3, Duration.ofHours(1), Offences.Action.TERMINATE);
            var now = clock.instant().plusSeconds(60);
            var earlier = j.offences("glxgears", Optional.of("/usr/bin/glxgears"), now.minus(policy.lookback()));
            assertThat(Offences.judge(earlier, now, policy)).isEqualTo(new Offences.Act(Offences.Action.TERMINATE, 3));

            var bad = wedgeBy("card1", "0000:06:00.0", 9, "glxgears");
            assertThatThrownBy(() -> j.recordTelemetry(1, bad, Optional.of("glxgears"), List.of(), ""))
                    .hasMessageContaining("absolute path, not 'glxgears'");
            assertThatThrownBy(() -> new TelemetryRow.Devcoredump(Path.of("/tmp/a\nb"), 1, DUMP1.sha256(), false))
                    .hasMessageContaining("line break");
            assertThatThrownBy(() -> new TelemetryRow.Devcoredump(Path.of("/s/a.bin"), -1, DUMP1.sha256(), false))
                    .hasMessageContaining("negative: -1 (/s/a.bin)");
            assertThatThrownBy(() -> new TelemetryRow.Devcoredump(Path.of("/s/a.bin"), 1, DUMP1.sha256().toUpperCase(), false))
                    .hasMessageContaining("64 lower-case hex digits");
            assertThatThrownBy(() -> new TelemetryRow.Devcoredump(Path.of("/s/a.bin"), 1, "abc", false)).hasMessageContaining("not 'abc'");
            assertThatThrownBy(() -> j.recordTelemetry(999, bad, Optional.empty(), List.of(), "")).isInstanceOf(JournalException.class)
                    .hasMessageContaining("cannot record telemetry of event 999");
        }
    }

    @Test
    void aDeviceHasAtMostOneActiveQuarantineUntilReleased() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            assertThat(j.quarantined()).isEmpty();
            assertThat(j.quarantine(GPU1, "re-wedged 3 times in 10 minutes", QuarantineMode.UNBOUND)).isTrue();
            clock.advance(Duration.ofMinutes(1));
            assertThat(j.quarantine(GPU1, "again", QuarantineMode.EXCLUDED)).as("the first one stands").isFalse();
            assertThat(j.quarantine(GPU0, "operator", QuarantineMode.EXCLUDED)).isTrue();
            assertThat(j.quarantined()).extracting(QuarantineRow::bdf, QuarantineRow::since, QuarantineRow::reason, QuarantineRow::mode).containsExactly(
                    org.assertj.core.groups.Tuple.tuple(GPU1, T0, "re-wedged 3 times in 10 minutes", QuarantineMode.UNBOUND),
                    org.assertj.core.groups.Tuple.tuple(GPU0, T0.plusSeconds(60), "operator", QuarantineMode.EXCLUDED));

            assertThat(j.release(GPU1, "cli:root")).isTrue();
            assertThat(j.release(GPU1, "cli:root")).as("nothing active any more").isFalse();
            assertThat(j.release(PciAddress.parse("0000:09:00.0").orElseThrow(), "cli:root")).isFalse();
            assertThat(j.quarantined()).extracting(QuarantineRow::bdf).containsExactly(GPU0);
            assertThat(j.quarantine(GPU1, "flapping again", QuarantineMode.EXCLUDED)).as("a new one after the release").isTrue();
            assertThat(j.quarantined()).extracting(QuarantineRow::bdf).containsExactly(GPU0, GPU1);

            assertThatThrownBy(() -> j.quarantine(GPU1, " ", QuarantineMode.UNBOUND)).hasMessageContaining("needs a reason");
            assertThatThrownBy(() -> j.release(GPU1, "")).hasMessageContaining("says who released it");
        }
        assertThat(count("SELECT count(*) FROM quarantine")).isEqualTo(3);
        assertThat(count("SELECT count(*) FROM quarantine WHERE bdf = '0000:06:00.0' AND released_by = 'cli:root' AND released_at IS NOT NULL")).isEqualTo(1);
        assertThat(QuarantineMode.parse("unbound")).contains(QuarantineMode.UNBOUND);
        assertThat(QuarantineMode.parse("quarantined")).isEmpty();
    }

    @Test
    void pruningTakesTheTelemetryOfPrunedEventsKeepsEscalationChainsWholeAndNeverAnActiveQuarantine() throws Exception {
        long oldChainFirst, oldChainSecond, doomedFirst, doomedSecond, lastOf0;
        try (var j = Journal.open(dir, clock, log)) {
            // GPU1: an old failed recovery and its escalation, the device's last: both kept
            var e1 = wedge("card1", "0000:06:00.0", 1);
            long ev1 = j.recordEvent(e1, clock.instant());
            j.recordTelemetry(ev1, e1, Optional.empty(), List.of(new TelemetryRow.Devcoredump(Path.of("/s/k.bin"), 30, DUMP1.sha256(), false)),
                    "kept with its event");
            oldChainFirst = recovery(j, ev1, e1, Optional.empty(), RecoveryReport.Result.FAILED);
            oldChainSecond = recovery(j, ev1, e1, Optional.of(oldChainFirst), RecoveryReport.Result.RECOVERED);
            // GPU0: an old chain that goes, with its event's telemetry, then a newer recovery (its last)
            var e2 = wedge("card0", "0000:03:00.0", 2);
            long ev2 = j.recordEvent(e2, clock.instant());
            j.recordTelemetry(ev2, e2, Optional.of("/usr/bin/glxgears"), List.of(new TelemetryRow.Devcoredump(Path.of("/s/a.bin"), 10, DUMP1.sha256(), false),
                    new TelemetryRow.Devcoredump(Path.of("/s/a2.bin"), 11, DUMP2.sha256(), false)), "goes");
            doomedFirst = recovery(j, ev2, e2, Optional.empty(), RecoveryReport.Result.FAILED);
            doomedSecond = recovery(j, ev2, e2, Optional.of(doomedFirst), RecoveryReport.Result.FAILED);
            // an old none wedge: telemetry, no recovery
            var none = wedgeBy("card0", "0000:03:00.0", 3, "glxgears");
            j.recordTelemetry(j.recordEvent(none, clock.instant()), none, Optional.of("/usr/bin/glxgears"),
                    List.of(new TelemetryRow.Devcoredump(Path.of("/s/b.bin"), 20, DUMP2.sha256(), true)), "old none");
            // quarantines: one active since long ago, one released long ago
            j.quarantine(GPU0, "old and still active", QuarantineMode.EXCLUDED);
            j.quarantine(PciAddress.parse("0000:09:00.0").orElseThrow(), "old, released", QuarantineMode.UNBOUND);
            j.release(PciAddress.parse("0000:09:00.0").orElseThrow(), "cli:root");

            clock.advance(Duration.ofDays(100));
            var e4 = wedge("card0", "0000:03:00.0", 4);
            lastOf0 = recovery(j, j.recordEvent(e4, clock.instant()), e4, Optional.empty(), RecoveryReport.Result.RECOVERED);
            var recentNone = wedgeBy("card0", "0000:03:00.0", 5, "glxgears");
            j.recordTelemetry(j.recordEvent(recentNone, clock.instant()), recentNone, Optional.of("/usr/bin/glxgears"), List.of(), "recent none");
            j.quarantine(PciAddress.parse("0000:0a:00.0").orElseThrow(), "recent, released", QuarantineMode.UNBOUND);
            j.release(PciAddress.parse("0000:0a:00.0").orElseThrow(), "cli:root");

            var p = j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO);

            assertThat(p.byAge()).as("the old GPU0 chain, both of it").isEqualTo(2);
            assertThat(p.telemetry()).as("the chain's event's, and the old none wedge's").isEqualTo(2);
            assertThat(p.events()).isEqualTo(2);
            assertThat(p.quarantines()).as("the one released long ago").isEqualTo(1);
            assertThat(j.show(doomedFirst)).isEmpty();
            assertThat(j.show(doomedSecond)).isEmpty();
            assertThat(j.show(oldChainSecond).orElseThrow().recovery().escalatedFrom()).contains(oldChainFirst);
            assertThat(j.show(oldChainFirst).orElseThrow().steps()).as("kept whole, for the escalation that follows it").hasSize(2);
            assertThat(j.show(lastOf0)).isPresent();
            assertThat(j.telemetry(Optional.empty(), Optional.empty(), 10)).extracting(TelemetryRow::note)
                    .containsExactly("recent none", "kept with its event");
            assertThat(j.telemetry(Optional.empty(), Optional.empty(), 10).getLast().dumps()).as("a kept row keeps its dumps")
                    .extracting(TelemetryRow.Devcoredump::file).containsExactly(Path.of("/s/k.bin"));
            assertThat(j.offences("glxgears", Optional.of("/usr/bin/glxgears"), Instant.EPOCH)).containsExactly(T0.plus(Duration.ofDays(100)));
            assertThat(j.quarantined()).extracting(QuarantineRow::reason).containsExactly("old and still active");
            assertThat(j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO)).satisfies(again -> {
                assertThat(again.byAge() + again.events() + again.telemetry() + again.quarantines()).isZero();
            });
        }
        assertThat(count("SELECT count(*) FROM quarantine")).as("the active one and the recently released one").isEqualTo(2);
        assertThat(count("SELECT count(*) FROM devcoredumps")).as("the pruned rows' dumps went with them").isEqualTo(1);
        assertThat(count("PRAGMA foreign_key_check")).as("no row left pointing at a deleted one").isZero();
    }

    @Test
    void anEscalationGoesWithTheRecoveryItEscalatedFromEvenWhenItAloneIsYoungEnough() throws Exception {
        long first, second, last;
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card1", "0000:06:00.0", 1);
            long ev = j.recordEvent(e, clock.instant());
            first = recovery(j, ev, e, Optional.empty(), RecoveryReport.Result.FAILED);
            clock.advance(Duration.ofSeconds(10));
            second = recovery(j, ev, e, Optional.of(first), RecoveryReport.Result.FAILED);
            clock.advance(Duration.ofSeconds(10));
            var later = wedge("card1", "0000:06:00.0", 2);
            last = recovery(j, j.recordEvent(later, clock.instant()), later, Optional.empty(), RecoveryReport.Result.RECOVERED);
            // the age limit falls between the first attempt and its escalation
            clock.advance(Duration.ofDays(90).minusSeconds(15));

            var p = j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO);

            assertThat(p.byAge()).as("the first by age, its escalation with it").isEqualTo(2);
            assertThat(j.show(first)).isEmpty();
            assertThat(j.show(second)).isEmpty();
            assertThat(j.show(last)).isPresent();
        }
        assertThat(count("PRAGMA foreign_key_check")).isZero();
    }

    @Test
    void sizePruningTakesTheOldestTelemetryOfWedgesNothingWasRecoveredFor() throws Exception {
        String fat = "x".repeat(4000);
        try (var j = Journal.open(dir, clock, log)) {
            for (int i = 0; i < 600; i++) {
                var e = wedgeBy("card1", "0000:06:00.0", i, "glxgears");
                j.recordTelemetry(j.recordEvent(e, clock.instant()), e, Optional.empty(), List.of(), fat + i);
                clock.advance(Duration.ofMinutes(1));
            }
            clock.advance(Duration.ofHours(2));
            long cap = 1L << 20;
            assertThat(j.bytesOnDisk()).isGreaterThan(2 * cap);

            var p = j.prune(Duration.ofDays(90), cap, java.time.Duration.ZERO);

            assertThat(p.byAge()).isZero();
            assertThat(p.bySize()).as("no recoveries").isZero();
            assertThat(p.telemetry()).isPositive().isEqualTo(p.events());
            assertThat(p.underCap()).isTrue();
            assertThat(p.bytesAfter()).isLessThanOrEqualTo(cap);
            var left = j.telemetry(Optional.empty(), Optional.empty(), 1000);
            assertThat(left).hasSize((int) (600 - p.telemetry()));
            assertThat(left.getFirst().note()).as("the newest stay").isEqualTo(fat + 599);
            assertThat(left.getLast().note()).isEqualTo(fat + p.telemetry());
        }
        assertThat(count("PRAGMA foreign_key_check")).isZero();
    }
}
