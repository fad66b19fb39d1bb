package io.unwedge.daemon.journal;

import static io.unwedge.daemon.journal.JournalTest.GPU1;
import static io.unwedge.daemon.journal.JournalTest.T0;
import static io.unwedge.daemon.journal.JournalTest.report;
import static io.unwedge.daemon.journal.JournalTest.wedge;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Step;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.StepResult.Outcome;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Schema v4 against a real SQLite file: a row per holder of each drain, and every earlier version migrated to it. */
class JournalV4Test extends JournalFileTest {

    static final DrainRow.Holder POLITE = new DrainRow.Holder(4242, "glxgears", Optional.of(1000), Optional.of("session-2.scope"),
            Optional.empty(), 2, 1, 1, Optional.of(DrainPolicy.Signal.TERM), DrainRow.Outcome.EXITED, Optional.of(37L));
    static final DrainRow.Holder STUBBORN = new DrainRow.Holder(4343, "miner", Optional.empty(), Optional.empty(),
            Optional.of("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 1, 0, 0,
            Optional.of(DrainPolicy.Signal.KILL), DrainRow.Outcome.KILLED, Optional.of(10_004L));
    static final DrainRow.Holder XORG = new DrainRow.Holder(900, "Xorg", Optional.of(0), Optional.of("display-manager.service"),
            Optional.empty(), 3, 12, 2, Optional.empty(), DrainRow.Outcome.PROTECTED, Optional.empty());

    @Test
    void aDrainsHoldersAreReadBackWithTheirStepAndWordsTheKernelAndTheLogUse() throws Exception {
        var e = wedge("card1", "0000:06:00.0", 7);
        long id, drainStep;
        try (var j = Journal.open(dir, clock, log)) {
            id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            var intent = j.intent(id, Step.DRAIN);
            drainStep = intent.id();
            clock.advance(Duration.ofMillis(50));
            j.stepEnded(intent, new StepResult(Step.DRAIN, Outcome.OK, 50, "free after 50 ms: 2 holder(s) gone"));
            j.recordDrain(id, Optional.of(intent), List.of(POLITE, STUBBORN));
            clock.advance(Duration.ofMillis(5));
            j.recordDrain(id, Optional.empty(), List.of(XORG)); // the quarantine's drain: no step
            j.recordDrain(id, Optional.empty(), List.of());     // nobody held it: no row
            var other = j.intent(id, Step.UNBIND);
            assertThatThrownBy(() -> j.recordDrain(id, Optional.of(other), List.of(POLITE)))
                    .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("not unbind");
        }
        try (var j = Journal.openReadOnly(dir, clock)) {
            var rows = j.drains(id);
            assertThat(rows).extracting(DrainRow::holder).containsExactly(POLITE, STUBBORN, XORG);
            assertThat(rows).extracting(DrainRow::stepId).containsExactly(Optional.of(drainStep), Optional.of(drainStep), Optional.empty());
            assertThat(rows).extracting(DrainRow::recoveryId).containsOnly(id);
            assertThat(rows.get(0).at()).isEqualTo(T0.plusMillis(50));
            assertThat(rows.get(2).at()).isEqualTo(T0.plusMillis(55));
            assertThat(j.drains(id + 1)).isEmpty();
        }
        try (var c = sql(); var s = c.createStatement();
             var rs = s.executeQuery("SELECT signal, outcome, exit_ms, uid FROM drains ORDER BY id")) {
            var words = new ArrayList<String>();
            while (rs.next()) words.add(rs.getString(1) + " " + rs.getString(2) + " " + rs.getString(3) + " " + rs.getString(4));
            assertThat(words).containsExactly("SIGTERM exited 37 1000", "SIGKILL killed 10004 null", "none protected null 0");
        }
    }

    @Test
    void theTableRefusesWhatNoDrainWrites() throws Exception {
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card1", "0000:06:00.0", 7);
            j.beginRecovery(j.recordEvent(e, clock.instant()), e);
        }
        try (var c = sql(); var s = c.createStatement()) {
            for (String bad : List.of("'SIGHUP', 'exited'", "'none', 'vanished'")) {
                assertThatThrownBy(() -> s.execute("INSERT INTO drains (recovery_id, at, pid, comm, fds, maps, clients, signal, outcome)"
                        + " VALUES (1, 0, 5, 'x', 1, 0, 0, " + bad + ")")).hasMessageContaining("CHECK");
            }
        }
        assertThatThrownBy(() -> new DrainRow.Holder(0, "x", Optional.empty(), Optional.empty(), Optional.empty(), 1, 0, 0,
                Optional.empty(), DrainRow.Outcome.EXITED, Optional.empty())).hasMessageContaining("pid must be positive");
        assertThat(DrainRow.Outcome.GONE_BEFORE_SIGNAL).hasToString("gone-before-signal");
        assertThat(DrainRow.Outcome.parse("gone-before-signal")).contains(DrainRow.Outcome.GONE_BEFORE_SIGNAL);
    }

    @Test
    void pruningTakesADrainsRowsWithItsRecovery() throws Exception {
        long old, kept;
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card1", "0000:06:00.0", 1);
            old = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            var intent = j.intent(old, Step.DRAIN);
            j.stepEnded(intent, new StepResult(Step.DRAIN, Outcome.OK, 1, "free"));
            j.recordDrain(old, Optional.of(intent), List.of(POLITE, STUBBORN));
            j.endRecovery(old, report(e, RecoveryReport.Result.RECOVERED, List.of()));
            clock.advance(Duration.ofDays(100));
            var e2 = wedge("card1", "0000:06:00.0", 2);
            kept = j.beginRecovery(j.recordEvent(e2, clock.instant()), e2);
            var intent2 = j.intent(kept, Step.DRAIN);
            j.stepEnded(intent2, new StepResult(Step.DRAIN, Outcome.REFUSED, 1, "holders remain"));
            j.recordDrain(kept, Optional.of(intent2), List.of(XORG));
            j.endRecovery(kept, report(e2, RecoveryReport.Result.REFUSED, List.of()));

            assertThat(j.prune(Duration.ofDays(90), 64L << 20, java.time.Duration.ZERO).byAge()).isEqualTo(1);
            assertThat(j.drains(old)).isEmpty();
            assertThat(j.drains(kept)).extracting(DrainRow::holder).containsExactly(XORG);
        }
        assertThat(count("SELECT count(*) FROM drains")).isEqualTo(1);
        assertThat(count("PRAGMA foreign_key_check")).isZero();
    }

    /**
     * A file left at version {@code v} by an earlier unwedge, with the rows that version could hold, is brought
     * to v4 by the daemon: every row kept, read back as before, and drains written beside them.
     */
    @ParameterizedTest(name = "v{0} -> v4")
    @ValueSource(ints = {1, 2, 3})
    void everyEarlierVersionIsMigratedToVersion4WithItsRowsKept(int v) throws Exception {
        var e = wedge("card1", "0000:06:00.0", 5208);
        long t0 = Journal.us(T0);
        try (var c = sql()) {
            assertThat(Schema.migrate(c, Schema.MIGRATIONS.subList(0, v))).isZero();
            assertThat(Schema.version(c)).isEqualTo(v);
            insertEvent(c, e, t0);
            try (var s = c.createStatement()) {
                s.execute("INSERT INTO recoveries (event_id, bdf, card, method, result, reason, started_at, ended_at, card_after, latency_us)"
                        + " VALUES (1, '0000:06:00.0', 'card1', 'rebind', 'recovered', 'driver asked for rebind', " + t0 + ", " + (t0 + 90_000)
                        + ", 'card1', 850)");
                s.execute("INSERT INTO steps (recovery_id, step, intent_at, started_at, ended_at, outcome, detail) VALUES (1, 'drain', "
                        + t0 + ", " + t0 + ", " + (t0 + 10_000) + ", 'ok', 'free after 10 ms: 1 holder(s) gone')");
                s.execute("INSERT INTO steps (recovery_id, step, intent_at, started_at, ended_at, outcome, detail) VALUES (1, 'unbind', "
                        + (t0 + 10_000) + ", " + (t0 + 10_000) + ", " + (t0 + 40_000) + ", 'ok', 'unbound')");
                if (v >= 2) {
                    s.execute("UPDATE recoveries SET driver = 'xe' WHERE id = 1");
                    s.execute("INSERT INTO restarts (recovery_id, at, found, action, detail) VALUES (1, " + (t0 + 90_000)
                            + ", 'unbound', 'resumed', 'restart: bound again')");
                }
                if (v >= 3) {
                    s.execute("INSERT INTO recoveries (event_id, bdf, card, started_at, escalated_from) VALUES (1, '0000:06:00.0', 'card1', "
                            + (t0 + 100_000) + ", 1)");
                    s.execute("INSERT INTO telemetry (event_id, at, bdf, card, pid, task, exe, devcoredumps, bytes, note) VALUES (1, " + t0
                            + ", '0000:06:00.0', 'card1', 4242, 'glxgears', '/usr/bin/glxgears', '/s/devcd1.bin', 10, '')");
                    s.execute("INSERT INTO quarantine (bdf, since, reason, mode) VALUES ('0000:06:00.0', " + t0 + ", 'flapping', 'excluded')");
                }
            }
        }
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version " + v).hasMessageContaining("start the daemon once to migrate it");

        try (var j = Journal.open(dir, clock, log)) {
            var d = j.show(1).orElseThrow();
            assertThat(d.recovery().bdf()).isEqualTo(GPU1);
            assertThat(d.recovery().task()).contains("glxgears[4242]");
            assertThat(d.recovery().result()).contains("recovered");
            assertThat(d.recovery().duration()).contains(Duration.ofMillis(90));
            assertThat(d.recovery().latencyMicros()).contains(850L);
            assertThat(d.recovery().driver()).isEqualTo(v >= 2 ? Optional.of("xe") : Optional.empty());
            assertThat(d.steps()).extracting(StepRow::step).containsExactly(Step.DRAIN, Step.UNBIND);
            assertThat(d.steps().getFirst().detail()).contains("free after 10 ms: 1 holder(s) gone");
            assertThat(j.restarts(1)).hasSize(v >= 2 ? 1 : 0);
            assertThat(j.wedge(1)).contains(e);
            if (v >= 3) {
                assertThat(j.show(2).orElseThrow().recovery().escalatedFrom()).contains(1L);
                assertThat(j.telemetry(Optional.of(GPU1), Optional.empty(), 10)).singleElement()
                        .satisfies(t -> assertThat(t.exe()).contains("/usr/bin/glxgears"));
                assertThat(j.quarantined()).singleElement().satisfies(q -> assertThat(q.mode()).isEqualTo(QuarantineMode.EXCLUDED));
            }
            assertThat(j.drains(1)).as("nothing drained was journaled before v4").isEmpty();
            // and v4 works on it: the old drain step gets its holders
            var e2 = wedge("card1", "0000:06:00.0", 5209);
            long id = j.beginRecovery(j.recordEvent(e2, clock.instant()), e2);
            var intent = j.intent(id, Step.DRAIN);
            j.stepEnded(intent, new StepResult(Step.DRAIN, Outcome.OK, 1, "free"));
            j.recordDrain(id, Optional.of(intent), List.of(POLITE));
            assertThat(j.drains(id)).extracting(DrainRow::holder).containsExactly(POLITE);
        }
        assertThat(count("SELECT version FROM schema_version")).isEqualTo(Schema.CURRENT);
        assertThat(count("SELECT count(*) FROM schema_version")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM events")).isEqualTo(2);
        assertThat(count("PRAGMA foreign_key_check")).isZero();
        try (var reader = Journal.openReadOnly(dir, clock)) {
            assertThat(reader.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(v >= 3 ? 3 : 2);
        }
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).doesNotContain("journal-corrupt");
    }
}
