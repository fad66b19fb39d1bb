package io.unwedge.daemon.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.StepResult.Outcome;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The journal against a real SQLite file. */
class JournalTest extends JournalFileTest {

    static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
    static final PciAddress GPU1 = PciAddress.parse("0000:06:00.0").orElseThrow();

    /** A clock the test moves. */
    static final class ManualClock implements InstantSource {
        private volatile Instant now;

        ManualClock(Instant now) {
            this.now = now;
        }

        void advance(Duration d) {
            now = now.plus(d);
        }

        @Override
        public Instant instant() {
            return now;
        }
    }

    static WedgedEvent wedge(String card, String bdf, long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("PID", "4242");
        f.put("TASK", "glxgears");
        f.put("DEVNAME", "dri/" + card);
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/" + bdf + "/drm/" + card, f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    static RecoveryReport report(WedgedEvent e, RecoveryReport.Result result, List<StepResult> steps) {
        return new RecoveryReport(e, e.bdf(), Optional.of(RecoveryMethod.REBIND), result, "driver asked for rebind", steps,
                Optional.of(e.card()), 412, Optional.of(850L));
    }

    /** One whole recovery, 10 ms per step; returns its id. */
    long recordOne(Journal j, WedgedEvent e) throws Exception {
        long id = j.beginRecovery(j.recordEvent(e, clock.instant().minusMillis(1)), e);
        var results = new java.util.ArrayList<StepResult>();
        for (var step : io.unwedge.core.Planner.REBIND_STEPS) {
            var intent = j.intent(id, step);
            clock.advance(Duration.ofMillis(10));
            var r = new StepResult(step, Outcome.OK, 10, "did " + step);
            j.stepEnded(intent, r);
            results.add(r);
        }
        j.endRecovery(id, report(e, RecoveryReport.Result.RECOVERED, results));
        return id;
    }

    @Test
    void aFreshJournalIsAWalFileAtTheCurrentVersion() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            assertThat(j.file()).isEqualTo(dir.resolve("journal.db")).isRegularFile();
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).isEmpty();
        }
        try (var c = sql(); var s = c.createStatement()) {
            try (var rs = s.executeQuery("PRAGMA journal_mode")) {
                rs.next();
                assertThat(rs.getString(1)).isEqualTo("wal");
            }
            try (var rs = s.executeQuery("SELECT version FROM schema_version")) {
                rs.next();
                assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT).isEqualTo(6);
                assertThat(rs.next()).as("one row").isFalse();
            }
        }
        // opening again applies nothing twice
        try (var j = Journal.open(dir, clock, log)) {
            assertThat(j.unfinished()).isEmpty();
        }
    }

    @Test
    void aRecoveryIsReadBackWithItsEventAndStepsInOrder() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 5208);
        try (var j = Journal.open(dir, clock, log)) {
            long id = recordOne(j, e);
            var d = j.show(id).orElseThrow();
            var r = d.recovery();
            assertThat(r.bdf()).isEqualTo(GPU1);
            assertThat(r.card()).isEqualTo("card1");
            assertThat(r.seqnum()).isEqualTo(5208);
            assertThat(r.methods()).isEqualTo("rebind,bus-reset");
            assertThat(r.task()).contains("glxgears[4242]");
            assertThat(r.receivedAt()).isEqualTo(T0.minusMillis(1));
            assertThat(r.startedAt()).isEqualTo(T0);
            assertThat(r.method()).contains("rebind");
            assertThat(r.result()).contains("recovered");
            assertThat(r.reason()).contains("driver asked for rebind");
            assertThat(r.endedAt()).contains(T0.plusMillis(40));
            assertThat(r.duration()).contains(Duration.ofMillis(40));
            assertThat(r.cardAfter()).contains("card1");
            assertThat(r.latencyMicros()).contains(850L);
            assertThat(d.steps()).extracting(StepRow::step).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
            assertThat(d.steps()).extracting(s -> s.outcome().orElseThrow()).containsOnly("ok");
            assertThat(d.steps()).extracting(s -> s.duration().orElseThrow()).containsOnly(Duration.ofMillis(10));
            assertThat(d.steps().getFirst().intentAt()).isEqualTo(T0);
            assertThat(d.steps().getFirst().detail()).contains("did drain");
            assertThat(j.show(id + 1)).isEmpty();
        }
        // the raw event is the kernel's message, byte for byte
        try (var c = sql(); var s = c.createStatement(); var rs = s.executeQuery("SELECT raw FROM events")) {
            rs.next();
            assertThat(rs.getBytes(1)).isEqualTo(UeventCodec.encode(e.uevent()));
        }
    }

    @Test
    void historyIsNewestFirstAndFiltersByDeviceCardAndTime() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            long a = recordOne(j, wedge("card0", "0000:03:00.0", 1));
            clock.advance(Duration.ofHours(2));
            Instant later = clock.instant();
            long b = recordOne(j, wedge("card1", "0000:06:00.0", 2));
            long c = recordOne(j, wedge("card0", "0000:03:00.0", 3));
            var none = Optional.<PciAddress>empty();
            assertThat(j.history(none, Optional.empty(), Optional.empty(), 10)).extracting(RecoveryRow::id).containsExactly(c, b, a);
            assertThat(j.history(none, Optional.empty(), Optional.empty(), 2)).extracting(RecoveryRow::id).containsExactly(c, b);
            assertThat(j.history(Optional.of(GPU1), Optional.empty(), Optional.empty(), 10)).extracting(RecoveryRow::id).containsExactly(b);
            assertThat(j.history(none, Optional.of("card0"), Optional.empty(), 10)).extracting(RecoveryRow::id).containsExactly(c, a);
            assertThat(j.history(none, Optional.of("card0"), Optional.of(later), 10)).extracting(RecoveryRow::id).containsExactly(c);
        }
    }

    @Test
    void aRecoveryThatNeverEndedIsUnfinishedWithItsIntentWithoutAnEnd() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 7);
        try (var j = Journal.open(dir, clock, log)) {
            long done = recordOne(j, wedge("card0", "0000:03:00.0", 6));
            long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.intent(id, Step.UNBIND); // ... and the daemon died
            assertThat(j.unfinished()).extracting(RecoveryRow::id).containsExactly(id).doesNotContain(done);
            var step = j.show(id).orElseThrow().steps().getFirst();
            assertThat(step.step()).isEqualTo(Step.UNBIND);
            assertThat(step.endedAt()).isEmpty();
            assertThat(step.outcome()).isEmpty();
            assertThat(j.show(id).orElseThrow().recovery().finished()).isFalse();
        }
    }

    @Test
    void aVersion1FileIsMigratedByTheDaemonAndThenRead() throws Exception {
        String script = new String(Objects.requireNonNull(getClass().getResourceAsStream("journal-v1-one-recovery.sql")).readAllBytes(),
                StandardCharsets.UTF_8);
        try (var c = sql(); var s = c.createStatement()) {
            for (String statement : script.replaceAll("(?m)^--.*$", "").split(";\\s*\\n")) {
                if (!statement.isBlank()) s.execute(statement);
            }
        }
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version 1").hasMessageContaining("start the daemon once to migrate it");
        try (var j = Journal.open(dir, clock, log)) {
            assertThat(j.show(1).orElseThrow().recovery().driver()).as("v1 rows do not know their driver").isEmpty();
            assertThat(j.restarts(1)).isEmpty();
            // a v2 row records its driver
            var e = wedge("card0", "0000:03:00.0", 9);
            long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.driver(id, "xe");
            assertThat(j.show(id).orElseThrow().recovery().driver()).contains("xe");
        }
        try (var c = sql(); var s = c.createStatement(); var rs = s.executeQuery("SELECT version FROM schema_version")) {
            rs.next();
            assertThat(rs.getInt(1)).isEqualTo(Schema.CURRENT);
        }
        for (var j : new Journal[] {Journal.openReadOnly(dir, clock), Journal.open(dir, clock, log)}) {
            try (j) {
                var d = j.show(1).orElseThrow();
                assertThat(d.recovery().bdf()).isEqualTo(GPU1);
                assertThat(d.recovery().receivedAt()).isEqualTo(T0);
                assertThat(d.recovery().result()).contains("recovered");
                assertThat(d.recovery().latencyMicros()).contains(850L);
                assertThat(d.steps()).extracting(StepRow::step).containsExactly(Step.UNBIND, Step.BIND, Step.SETTLE);
                assertThat(d.steps().get(1).duration()).contains(Duration.ofMillis(50));
                assertThat(j.history(Optional.of(GPU1), Optional.empty(), Optional.of(T0), 5)).hasSize(1);
            }
        }
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).doesNotContain("journal-corrupt");
    }

    @Test
    void aRestartClosesAnUnfinishedRecoveryWithWhatItFoundAndDidInOneGo() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 7);
        try (var j = Journal.open(dir, clock, log)) {
            long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.driver(id, "xe");
            j.intent(id, Step.UNBIND); // ... and the daemon died
            assertThat(j.wedge(j.show(id).orElseThrow().recovery().eventId())).contains(e);
            clock.advance(Duration.ofSeconds(5));
            j.closeAtRestart(id, "unbound", "resumed", "recovered", "restart: bound again", Optional.of("card1"));
            var r = j.show(id).orElseThrow().recovery();
            assertThat(r.result()).contains("recovered");
            assertThat(r.reason()).contains("restart: bound again");
            assertThat(r.endedAt()).contains(T0.plusSeconds(5));
            assertThat(r.cardAfter()).contains("card1");
            assertThat(j.restarts(id)).containsExactly(new Journal.RestartRow(id, T0.plusSeconds(5), "unbound", "resumed", "restart: bound again"));
            assertThat(j.unfinished()).isEmpty();
            // a finished recovery is never closed again
            assertThatThrownBy(() -> j.closeAtRestart(id, "bound", "found-bound", "recovered", "again", Optional.empty()))
                    .isInstanceOf(JournalException.class).hasMessageContaining("not unfinished");
            assertThat(j.restarts(id)).as("the failed close left no row").hasSize(1);
        }
    }

    @Test
    void aDeviceUnboundWithoutALaterBindIsLeftUnbound() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            recordOne(j, wedge("card0", "0000:03:00.0", 1)); // unbind, bind ok: fine
            var e = wedge("card1", "0000:06:00.0", 2);
            long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.driver(id, "xe");
            j.stepEnded(j.intent(id, Step.UNBIND), new StepResult(Step.UNBIND, Outcome.OK, 1, "unbound"));
            j.stepEnded(j.intent(id, Step.BIND), new StepResult(Step.BIND, Outcome.TIMEOUT, 1, "probe failed"));
            j.endRecovery(id, report(e, RecoveryReport.Result.FAILED, List.of()));
            assertThat(j.leftUnbound()).containsExactly(new Journal.LeftUnbound(GPU1, id, Optional.of("xe")));
            // bound again by a later recovery's bind
            long next = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.stepEnded(j.intent(next, Step.BIND), new StepResult(Step.BIND, Outcome.OK, 1, "restart: bound"));
            assertThat(j.leftUnbound()).isEmpty();
        }
    }

    @Test
    void whatARestartMustPutBackIsKeptInOrderAndPrunedWithItsRecovery() throws Exception {
        var audio = io.unwedge.core.PciAddress.parse("0000:03:00.1").orElseThrow();
        var gpu = io.unwedge.core.PciAddress.parse("0000:03:00.0").orElseThrow();
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card0", "0000:03:00.0", 1);
            long old = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.toRestore(old, List.of(new Journal.Restore(Journal.Restore.Kind.BIND, audio, "snd_hda_intel")));
            j.toRestore(old, List.of(new Journal.Restore(Journal.Restore.Kind.RESET_METHOD, gpu, "flr bus")));
            j.toRestore(old, List.of()); // nothing: no row
            assertThat(j.toRestore(old)).containsExactly(new Journal.Restore(Journal.Restore.Kind.BIND, audio, "snd_hda_intel"),
                    new Journal.Restore(Journal.Restore.Kind.RESET_METHOD, gpu, "flr bus"));
            j.endRecovery(old, report(e, RecoveryReport.Result.RECOVERED, List.of()));
            clock.advance(Duration.ofDays(100));
            long now = recordOne(j, wedge("card0", "0000:03:00.0", 2));
            assertThat(j.toRestore(now)).isEmpty();
            assertThat(j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO).byAge()).isEqualTo(1);
            assertThat(j.toRestore(old)).isEmpty();
        }
        assertThat(count("SELECT count(*) FROM restore")).isZero();
        assertThat(count("PRAGMA foreign_key_check")).as("no row left pointing at a deleted one").isZero();
        org.assertj.core.api.Assertions.assertThatThrownBy(() -> new Journal.Restore(Journal.Restore.Kind.BIND, audio, " "))
                .isInstanceOf(IllegalArgumentException.class);
    }

    @Test
    void agePruningDeletesOldRecoveriesButKeepsTheLastOfEachDeviceAndTheUnfinished() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            long a1 = recordOne(j, wedge("card0", "0000:03:00.0", 1));
            long a2 = recordOne(j, wedge("card0", "0000:03:00.0", 2));
            var eb = wedge("card1", "0000:06:00.0", 3);
            long b3 = j.beginRecovery(j.recordEvent(eb, clock.instant()), eb);
            j.intent(b3, Step.UNBIND); // ... the daemon died in it, and nobody has reconciled it yet
            long b4 = recordOne(j, wedge("card1", "0000:06:00.0", 4));
            j.recordEvent(wedge("card1", "0000:06:00.0", 5), clock.instant()); // an event no recovery came of
            var ec = wedge("card2", "0000:07:00.0", 6);
            long c6 = j.beginRecovery(j.recordEvent(ec, clock.instant()), ec);
            j.endRecovery(c6, report(ec, RecoveryReport.Result.REFUSED, List.of())); // old, but card2's only one
            clock.advance(Duration.ofDays(100));
            long a7 = recordOne(j, wedge("card0", "0000:03:00.0", 7));

            var p = j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO);

            assertThat(p.byAge()).isEqualTo(2);
            assertThat(p.bySize()).isZero();
            assertThat(p.events()).as("the two recoveries' events and the orphan").isEqualTo(3);
            assertThat(p.underCap()).isTrue();
            assertThat(j.show(a1)).isEmpty();
            assertThat(j.show(a2)).isEmpty();
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 100)).extracting(RecoveryRow::id)
                    .containsExactly(a7, c6, b4, b3);
            assertThat(j.unfinished()).extracting(RecoveryRow::id).containsExactly(b3);
            assertThat(j.show(b3).orElseThrow().steps()).extracting(StepRow::step).containsExactly(Step.UNBIND);
            assertThat(j.show(b4).orElseThrow().steps()).hasSize(4);
            // the next prune finds nothing more to do
            assertThat(j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO).byAge()).isZero();
        }
        assertThat(count("SELECT count(*) FROM steps WHERE recovery_id IN (" + 1 + ", " + 2 + ")")).isZero();
        assertThat(count("SELECT count(*) FROM events")).isEqualTo(4);
        assertThat(count("PRAGMA foreign_key_check")).as("no row left pointing at a deleted one").isZero();
    }

    /** The safety rules count recent recoveries: a full journal must not make a budget or a flap count come out low. */
    @Test
    void sizePruningKeepsWhatTheSafetyRulesCount() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            var ids = new java.util.ArrayList<Long>();
            for (int i = 0; i < 40; i++) {
                ids.add(recordOne(j, wedge("card0", "0000:03:00.0", i)));
                clock.advance(Duration.ofMinutes(1));
            }
            // now is 40 min after the first (and a little: each recording takes clock time); the rules look 15.5 min back
            var p = j.prune(Duration.ofDays(90), 1, Duration.ofSeconds(15 * 60 + 30));
            assertThat(p.underCap()).as("the cap cannot be met without undercounting").isFalse();
            var left = j.history(Optional.empty(), Optional.empty(), Optional.empty(), 1000).stream().map(RecoveryRow::id).sorted().toList();
            assertThat(left).as("the ones started in the last 15.5 min, all of them").isEqualTo(ids.subList(25, 40));
            assertThat(p.bySize()).isEqualTo(25);
        }
    }

    @Test
    void sizePruningDeletesTheOldestUntilTheFileIsUnderTheCapAndGivesTheSpaceBack() throws Exception {
        String fat = "x".repeat(4000);
        long last0 = 0, last1 = 0;
        try (var j = Journal.open(dir, clock, log)) {
            for (int i = 0; i < 150; i++) {
                for (String[] d : new String[][] {{"card0", "0000:03:00.0"}, {"card1", "0000:06:00.0"}}) {
                    var e = wedge(d[0], d[1], i);
                    long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
                    for (var step : io.unwedge.core.Planner.REBIND_STEPS) {
                        j.stepEnded(j.intent(id, step), new StepResult(step, Outcome.OK, 1, fat));
                    }
                    j.endRecovery(id, report(e, RecoveryReport.Result.RECOVERED, List.of()));
                    if (d[0].equals("card0")) last0 = id; else last1 = id;
                    clock.advance(Duration.ofSeconds(1));
                }
            }
            long cap = 1L << 20;
            assertThat(j.bytesOnDisk()).isGreaterThan(4 * cap);

            var p = j.prune(Duration.ofDays(90), cap, java.time.Duration.ZERO);

            assertThat(p.byAge()).isZero();
            assertThat(p.bySize()).isPositive();
            assertThat(p.underCap()).isTrue();
            assertThat(p.bytesBefore()).isGreaterThan(4 * cap);
            assertThat(p.bytesAfter()).isLessThanOrEqualTo(cap).isEqualTo(j.bytesOnDisk());
            assertThat(Files.size(dir.resolve(Journal.FILE))).isLessThanOrEqualTo(cap);
            // the oldest went: what is left is the newest, contiguous up to the end
            var left = j.history(Optional.empty(), Optional.empty(), Optional.empty(), 1000).stream().map(RecoveryRow::id).toList();
            assertThat(left).hasSize((int) (300 - p.bySize())).contains(last0, last1);
            assertThat(left.getLast()).isEqualTo(p.bySize() + 1);

            // a cap nothing fits under: everything but the last of each device goes, and it says so
            var tiny = j.prune(Duration.ofDays(90), 1, java.time.Duration.ZERO);
            assertThat(tiny.underCap()).isFalse();
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 1000)).extracting(RecoveryRow::id)
                    .containsExactly(last1, last0);
            // still a working journal
            recordOne(j, wedge("card0", "0000:03:00.0", 999));
        }
        try (var c = sql(); var st = c.createStatement(); var rs = st.executeQuery("PRAGMA integrity_check")) {
            rs.next();
            assertThat(rs.getString(1)).isEqualTo("ok");
        }
    }

    @Test
    void theDaemonsRetentionPrunesAtStartLogsItAndSurvivesAFailure() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            recordOne(j, wedge("card0", "0000:03:00.0", 1));
            recordOne(j, wedge("card0", "0000:03:00.0", 2));
            clock.advance(Duration.ofDays(100));
            try (var r = Retention.start(j, log, Duration.ofDays(90), 64L << 20, Duration.ofDays(7), Duration.ofDays(1))) {
                long deadline = System.nanoTime() + 10_000_000_000L;
                while (!logBytes.toString(StandardCharsets.UTF_8).contains("journal-pruned") && System.nanoTime() < deadline) Thread.sleep(10);
            }
            assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains("journal-pruned", "by_age=1");
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
            j.close();
            try (var r = new Retention(j, log, Duration.ofDays(90), 1, Duration.ZERO)) {
                r.runOnce(); // a closed journal: logged, not thrown
            }
            assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains("journal-prune-failed");
        }
    }

    @Test
    void aFileFromANewerUnwedgeIsRefusedNotReplaced() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            recordOne(j, wedge("card1", "0000:06:00.0", 1));
        }
        try (var c = sql(); var s = c.createStatement()) {
            s.execute("UPDATE schema_version SET version = 99");
        }
        assertThatThrownBy(() -> Journal.open(dir, clock, log)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version 99").hasMessageContaining("newer unwedge");
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version 99");
        assertThat(dir.resolve("journal.db")).exists();
        try (var files = Files.list(dir)) {
            assertThat(files).noneMatch(p -> p.getFileName().toString().contains("corrupt"));
        }
    }

    @Test
    void aMigrationThatFailsLeavesTheFileAtTheVersionBefore() throws Exception {
        var migrations = List.of(Schema.MIGRATIONS.getFirst(),
                List.of("CREATE TABLE half_done (x INTEGER)", "THIS IS NOT SQL"));
        try (var c = sql()) {
            assertThat(Schema.migrate(c, List.of(Schema.MIGRATIONS.getFirst()))).isZero();
            assertThatThrownBy(() -> Schema.migrate(c, migrations)).hasMessageContaining("migration to version 2 failed");
            assertThat(Schema.version(c)).isEqualTo(1);
            try (var s = c.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE name = 'half_done'")) {
                rs.next();
                assertThat(rs.getInt(1)).as("the failed version's steps were rolled back").isZero();
            }
        }
    }

    @Test
    void garbageInTheFileIsMovedAsideSaidAndAFreshJournalStarted() throws Exception {
        byte[] garbage = "this is not an SQLite database, just bytes\n".repeat(200).getBytes(StandardCharsets.US_ASCII);
        Files.write(dir.resolve("journal.db"), garbage);
        try (var j = Journal.open(dir, clock, log)) {
            recordOne(j, wedge("card1", "0000:06:00.0", 1));
            assertThat(j.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
        }
        Path aside = dir.resolve("journal.db.corrupt-20261125T100000.000Z");
        assertThat(aside).exists();
        assertThat(Files.readAllBytes(aside)).isEqualTo(garbage);
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).contains("error journal-corrupt", "moved_to=" + aside,
                "not a database", "a fresh one started");
    }

    @Test
    void theReaderNeitherCreatesNorWrites() throws Exception {
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("no journal at " + dir.resolve("journal.db"));
        assertThat(dir.resolve("journal.db")).doesNotExist();
        try (var j = Journal.open(dir, clock, log)) {
            recordOne(j, wedge("card1", "0000:06:00.0", 1));
            try (var reader = Journal.openReadOnly(dir, clock)) {
                assertThat(reader.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
                var e = wedge("card0", "0000:03:00.0", 2);
                assertThatThrownBy(() -> reader.recordEvent(e, T0)).isInstanceOf(JournalException.class)
                        .hasMessageContaining("cannot record event");
            }
        }
    }

    @Test
    void aClosedJournalFailsEveryCallWithAJournalException() throws Exception {
        var j = Journal.open(dir, clock, log);
        j.close();
        j.close(); // twice is harmless
        assertThatThrownBy(() -> j.intent(1, Step.UNBIND)).isInstanceOf(JournalException.class)
                .hasMessageContaining("cannot record the intent to unbind");
    }
}
