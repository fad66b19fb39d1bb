package io.unwedge.daemon.journal;

import static io.unwedge.daemon.journal.JournalTest.GPU1;
import static io.unwedge.daemon.journal.JournalTest.T0;
import static io.unwedge.daemon.journal.JournalTest.wedge;
import static io.unwedge.daemon.journal.JournalV3Test.DUMP1;
import static io.unwedge.daemon.journal.JournalV3Test.DUMP2;
import static io.unwedge.daemon.journal.JournalV3Test.wedgeBy;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Step;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.StepResult.Outcome;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

/** Schema v5 against a real SQLite file: each devcoredump of a telemetry row with its hash, and every earlier version migrated. */
class JournalV5Test extends JournalFileTest {

    @Test
    void aTelemetryRowsDumpsAreReadBackWithTheirHashesInTheOrderSaved() throws Exception {
        var e = wedgeBy("card1", "0000:06:00.0", 1, "glxgears");
        long id;
        try (var j = Journal.open(dir, clock, log)) {
            id = j.recordTelemetry(j.recordEvent(e, clock.instant()), e, Optional.of("/usr/bin/glxgears"), List.of(DUMP2, DUMP1), "");
        }
        try (var j = Journal.openReadOnly(dir, clock)) {
            var row = j.telemetry(Optional.of(GPU1), Optional.empty(), 1).getFirst();
            assertThat(row.id()).isEqualTo(id);
            assertThat(row.dumps()).containsExactly(DUMP2, DUMP1);
            assertThat(row.devcoredumps()).as("the v3 column, still written").containsExactly(DUMP2.file(), DUMP1.file());
            assertThat(row.bytes()).as("their total").isEqualTo(DUMP1.bytes() + DUMP2.bytes());
        }
        assertThat(count("SELECT count(*) FROM devcoredumps WHERE telemetry_id = " + id + " AND truncated = 1 AND sha256 = '" + DUMP2.sha256() + "'"))
                .isEqualTo(1);
    }

    @Test
    void pruningATelemetryRowDeletesItsDumpFilesAndNothingOutsideTheDumpDirectory() throws Exception {
        var dumps = java.nio.file.Files.createDirectories(dir.resolve(Journal.DUMP_DIR));
        var mine = java.nio.file.Files.writeString(dumps.resolve("0000:06:00.0-1-devcd1.bin"), "x".repeat(1000));
        var outside = java.nio.file.Files.writeString(dir.resolve("precious"), "keep me");
        var linked = java.nio.file.Files.createSymbolicLink(dumps.resolve("0000:06:00.0-1-devcd2.bin"), outside);
        var kept = java.nio.file.Files.writeString(dumps.resolve("0000:06:00.0-2-devcd1.bin"), "young");
        var e = wedgeBy("card1", "0000:06:00.0", 1, "glxgears");
        try (var j = Journal.open(dir, clock, log)) {
            j.recordTelemetry(j.recordEvent(e, clock.instant()), e, Optional.of("/usr/bin/glxgears"), List.of(
                    new TelemetryRow.Devcoredump(mine, 1000, DUMP1.sha256(), false),
                    new TelemetryRow.Devcoredump(linked, 7, DUMP2.sha256(), false),
                    new TelemetryRow.Devcoredump(outside, 7, DUMP2.sha256(), false)), "");
            clock.advance(java.time.Duration.ofDays(40));
            j.recordTelemetry(j.recordEvent(e, clock.instant()), e, Optional.of("/usr/bin/glxgears"),
                    List.of(new TelemetryRow.Devcoredump(kept, 5, DUMP1.sha256(), false)), "");
            var p = j.prune(java.time.Duration.ofDays(30), 64L << 20, java.time.Duration.ZERO);
            assertThat(p.telemetry()).isEqualTo(1);
            assertThat(p.dumpFiles()).as("the old row's copy in devcoredump/").isEqualTo(1);
            assertThat(p.dumpBytes()).isEqualTo(1000);
            assertThat(p.dumpErrors()).isEmpty();
        }
        assertThat(mine).doesNotExist();
        assertThat(outside).as("not in devcoredump/: never deleted").hasContent("keep me");
        assertThat(linked).as("a link, not a regular file: left").isSymbolicLink();
        assertThat(kept).as("the young row's").exists();
    }

    @Test
    void theRowAndItsDumpsAreOneTransactionADumpThatCannotBeWrittenLeavesNoRow() throws Exception {
        var e = wedgeBy("card1", "0000:06:00.0", 1, "glxgears");
        try (var j = Journal.open(dir, clock, log)) {
            j.recordEvent(e, clock.instant());
        }
        try (var c = sql(); var s = c.createStatement()) {
            // the second dump's insert fails, after the telemetry row and the first dump were written
            s.execute("CREATE TRIGGER refuse BEFORE INSERT ON devcoredumps WHEN NEW.file LIKE '%devcd2.bin' BEGIN SELECT RAISE(ABORT, 'refused by the test'); END");
        }
        try (var j = Journal.open(dir, clock, log)) {
            assertThatThrownBy(() -> j.recordTelemetry(1, e, Optional.of("/usr/bin/glxgears"), List.of(DUMP1, DUMP2), ""))
                    .isInstanceOf(JournalException.class).hasMessageContaining("cannot record telemetry of event 1").hasMessageContaining("refused by the test");
            assertThat(j.telemetry(Optional.empty(), Optional.empty(), 10)).isEmpty();
            assertThat(j.offences("glxgears", Optional.of("/usr/bin/glxgears"), T0)).as("no offence without its dumps").isEmpty();
            // and the connection is back in autocommit: the next row is written and durable on its own
            j.recordTelemetry(1, e, Optional.of("/usr/bin/glxgears"), List.of(DUMP1), "");
        }
        assertThat(count("SELECT count(*) FROM telemetry")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM devcoredumps")).isEqualTo(1);
    }

    @Test
    void theTableRefusesWhatNoCollectionWrites() throws Exception {
        var e = wedgeBy("card1", "0000:06:00.0", 1, "glxgears");
        try (var j = Journal.open(dir, clock, log)) {
            j.recordTelemetry(j.recordEvent(e, clock.instant()), e, Optional.empty(), List.of(), "");
        }
        try (var c = sql(); var s = c.createStatement()) {
            String ok = "'" + DUMP1.sha256() + "'";
            for (String bad : List.of("1, '/s/a', -1, " + ok + ", 0", "1, '/s/a', 1, '" + DUMP1.sha256().toUpperCase() + "', 0",
                    "1, '/s/a', 1, 'abc', 0", "1, '/s/a', 1, " + ok + ", 2")) {
                assertThatThrownBy(() -> s.execute("INSERT INTO devcoredumps (telemetry_id, file, bytes, sha256, truncated) VALUES (" + bad + ")"))
                        .as(bad).hasMessageContaining("CHECK");
            }
            s.execute("PRAGMA foreign_keys = ON");
            assertThatThrownBy(() -> s.execute("INSERT INTO devcoredumps (telemetry_id, file, bytes, sha256, truncated) VALUES (99, '/s/a', 1, "
                    + ok + ", 0)")).hasMessageContaining("FOREIGN KEY");
        }
    }

    /**
     * A file left at version {@code v} by an earlier unwedge, with the rows that version could hold, is brought
     * to v5 by the daemon: every row kept and read back as before, no dump rows for the old telemetry, and dumps
     * with hashes written beside them.
     */
    @ParameterizedTest(name = "v{0} -> v5")
    @ValueSource(ints = {1, 2, 3, 4})
    void everyEarlierVersionIsMigratedToVersion5WithItsRowsKept(int v) throws Exception {
        var e = wedge("card1", "0000:06:00.0", 5208);
        long t0 = Journal.us(T0);
        try (var c = sql()) {
            assertThat(Schema.migrate(c, Schema.MIGRATIONS.subList(0, v))).isZero();
            insertEvent(c, e, t0);
            try (var s = c.createStatement()) {
                s.execute("INSERT INTO recoveries (event_id, bdf, card, method, result, reason, started_at, ended_at, card_after, latency_us)"
                        + " VALUES (1, '0000:06:00.0', 'card1', 'rebind', 'recovered', 'driver asked for rebind', " + t0 + ", " + (t0 + 90_000)
                        + ", 'card1', 850)");
                s.execute("INSERT INTO steps (recovery_id, step, intent_at, started_at, ended_at, outcome, detail) VALUES (1, 'drain', "
                        + t0 + ", " + t0 + ", " + (t0 + 10_000) + ", 'ok', 'free')");
                if (v >= 2) s.execute("UPDATE recoveries SET driver = 'xe' WHERE id = 1");
                if (v >= 3) {
                    s.execute("INSERT INTO telemetry (event_id, at, bdf, card, pid, task, exe, devcoredumps, bytes, note) VALUES (1, " + t0
                            + ", '0000:06:00.0', 'card1', 4242, 'glxgears', '/usr/bin/glxgears', '/s/devcd1.bin\n/s/devcd2.bin', 10, '')");
                }
                if (v >= 4) {
                    s.execute("INSERT INTO drains (recovery_id, step_id, at, pid, comm, fds, maps, clients, signal, outcome, exit_ms)"
                            + " VALUES (1, 1, " + t0 + ", 4242, 'glxgears', 1, 0, 0, 'SIGTERM', 'exited', 12)");
                }
            }
        }
        assertThatThrownBy(() -> Journal.openReadOnly(dir, clock)).isInstanceOf(JournalException.class)
                .hasMessageContaining("version " + v).hasMessageContaining("start the daemon once to migrate it");

        try (var j = Journal.open(dir, clock, log)) {
            var d = j.show(1).orElseThrow();
            assertThat(d.recovery().result()).contains("recovered");
            assertThat(d.recovery().driver()).isEqualTo(v >= 2 ? Optional.of("xe") : Optional.empty());
            assertThat(d.steps()).extracting(StepRow::step).containsExactly(Step.DRAIN);
            assertThat(j.drains(1)).hasSize(v >= 4 ? 1 : 0);
            var old = j.telemetry(Optional.of(GPU1), Optional.empty(), 10);
            if (v >= 3) {
                assertThat(old).singleElement().satisfies(t -> {
                    assertThat(t.devcoredumps()).as("the files, as the old row has them").containsExactly(Path.of("/s/devcd1.bin"), Path.of("/s/devcd2.bin"));
                    assertThat(t.dumps()).as("no hashes were kept before v5").isEmpty();
                    assertThat(t.bytes()).isEqualTo(10);
                });
            } else {
                assertThat(old).isEmpty();
            }
            // and v5 works on it
            var none = wedgeBy("card1", "0000:06:00.0", 5209, "glxgears");
            long id = j.recordTelemetry(j.recordEvent(none, clock.instant()), none, Optional.of("/usr/bin/glxgears"), List.of(DUMP1), "");
            assertThat(j.telemetry(Optional.of(GPU1), Optional.empty(), 10)).filteredOn(t -> t.id() == id).singleElement()
                    .satisfies(t -> assertThat(t.dumps()).containsExactly(DUMP1));
            j.stepEnded(j.intent(1, Step.UNBIND), new StepResult(Step.UNBIND, Outcome.OK, 1, "unbound"));
        }
        assertThat(count("SELECT version FROM schema_version")).isEqualTo(Schema.CURRENT);
        assertThat(count("SELECT count(*) FROM schema_version")).isEqualTo(1);
        assertThat(count("SELECT count(*) FROM devcoredumps")).as("only the new row's").isEqualTo(1);
        assertThat(count("SELECT count(*) FROM telemetry")).isEqualTo(v >= 3 ? 2 : 1);
        assertThat(count("PRAGMA foreign_key_check")).isZero();
        try (var reader = Journal.openReadOnly(dir, clock)) {
            assertThat(reader.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
        }
        assertThat(logBytes.toString(StandardCharsets.UTF_8)).doesNotContain("journal-corrupt");
    }
}
