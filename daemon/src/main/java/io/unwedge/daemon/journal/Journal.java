package io.unwedge.daemon.journal;

import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.core.PciAddress;
import io.unwedge.core.Step;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Types;
import java.time.Instant;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import org.sqlite.SQLiteConfig;

/**
 * The crash-safe record of what the daemon did: every wedge event, the recovery it led to, and each step's
 * intent (written and synced <em>before</em> the step's sysfs write) and end. One SQLite file,
 * {@code <state-dir>/journal.db}.
 *
 * <h2>Durability</h2>
 * WAL mode with {@code synchronous=FULL}: every write is its own transaction and is on disk when the call
 * returns (the WAL is fsynced at each commit). Three writes that only lead up to a step — the event, the
 * recovery row, its driver — are committed without a sync ({@link #eventually}): they sit in the WAL ahead
 * of the step's intent, and the intent's sync makes them durable with it, so the path from a wedge to its
 * unbind pays for one fsync, not four. A crash before the intent loses only rows nothing acted on. {@code busy_timeout} lets the CLI read while the daemon
 * writes: WAL readers never block the writer, and the writer waits briefly for a checkpoint.
 *
 * <h2>Failure</h2>
 * Every call throws {@link JournalException}; the caller decides (a recovery does not start a destructive
 * step it could not journal). A file SQLite calls corrupt or not a database is moved aside to
 * {@code journal.db.corrupt-<time>} at open, said at error level, and a fresh journal is started: losing
 * history must not stop the daemon from recovering GPUs, and the old file is kept for inspection.
 *
 * <p>One connection, its calls serialised on this object: the device actors write through it in turn.
 */
public final class Journal implements AutoCloseable {

    public static final String FILE = "journal.db";
    private static final int BUSY_TIMEOUT_MS = 5_000;
    private static final DateTimeFormatter ASIDE_STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss.SSS'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);

    /** A step's intent, durable: {@code durableAt} is when the step was let go. */
    public record Intent(long id, Step step, Instant durableAt) {}

    private final Connection c;
    private final InstantSource clock;
    private final Path file;

    private Journal(Connection c, InstantSource clock, Path file) {
        this.c = c;
        this.clock = clock;
        this.file = file;
    }

    /**
     * Opens (creating and migrating as needed) the daemon's journal in {@code stateDir}. A corrupt file is
     * moved aside and replaced, with an error logged.
     */
    public static Journal open(Path stateDir, InstantSource clock, EventLog log) throws JournalException {
        Path file = stateDir.resolve(FILE);
        try {
            return new Journal(connectForWriting(file), clock, file);
        } catch (SQLException e) {
            if (!corrupt(e)) throw new JournalException("cannot open the journal " + file + ": " + e.getMessage(), e);
            Path aside = moveAside(file, clock);
            log.error("journal-corrupt", "path", file, "moved_to", aside, "error", e.getMessage(),
                    "the journal was unreadable; it is kept aside and a fresh one started (earlier history is not in it)");
            try {
                return new Journal(connectForWriting(file), clock, file);
            } catch (SQLException e2) {
                throw new JournalException("cannot create a fresh journal " + file + ": " + e2.getMessage(), e2);
            }
        }
    }

    /**
     * Opens an existing journal for a command's own writes (`unwedge release`) beside a daemon that may be writing
     * it. Never creates, migrates, or moves aside a file it cannot read: that is the daemon's alone (a file moved
     * aside under a running daemon would go on being written where nobody reads it). Refuses a schema version
     * other than this unwedge's.
     */
    public static Journal openForUpdate(Path stateDir, InstantSource clock) throws JournalException {
        return openExisting(stateDir, clock, false);
    }

    /** Opens an existing journal to read it, safely beside a daemon that writes it. Never creates or migrates. */
    public static Journal openReadOnly(Path stateDir, InstantSource clock) throws JournalException {
        return openExisting(stateDir, clock, true);
    }

    /** A journal the daemon made, as it is: of this unwedge's schema, else refused; never created, migrated or moved aside. */
    private static Journal openExisting(Path stateDir, InstantSource clock, boolean readOnly) throws JournalException {
        Path file = stateDir.resolve(FILE);
        if (!Files.isRegularFile(file)) {
            throw new JournalException("no journal at " + file + " (has the daemon run with this state directory?)");
        }
        Connection c = null;
        try {
            c = connect(file, readOnly);
            int v = Schema.version(c);
            if (v != Schema.CURRENT) {
                throw new SQLException("journal schema is version " + v + ", this unwedge " + (readOnly ? "reads" : "writes") + " version "
                        + Schema.CURRENT + (v < Schema.CURRENT ? " (start the daemon once to migrate it)" : " (written by a newer unwedge)"));
            }
            if (!readOnly) {
                try (var s = c.createStatement()) {
                    s.execute("PRAGMA synchronous = FULL");
                }
            }
            var j = new Journal(c, clock, file);
            c = null;
            return j;
        } catch (SQLException e) {
            throw new JournalException("cannot " + (readOnly ? "read" : "write") + " the journal " + file + ": " + e.getMessage(), e);
        } finally {
            closeQuietly(c);
        }
    }

    public Path file() {
        return file;
    }

    /** The clock the journal stamps rows with. */
    public InstantSource clock() {
        return clock;
    }

    // ---- writes ----

    public synchronized long recordEvent(WedgedEvent event, Instant receivedAt) throws JournalException {
        return eventually(() -> insert("record event", """
                INSERT INTO events (received_at, seqnum, card, bdf, methods, raw, task) VALUES (?, ?, ?, ?, ?, ?, ?)
                RETURNING id""", us(receivedAt), event.seqnum(), event.card(), event.bdf().toString(), event.rawMethods(),
                UeventCodec.encode(event.uevent()), event.task().map(Object::toString).orElse(null)));
    }

    public synchronized long beginRecovery(long eventId, WedgedEvent event) throws JournalException {
        return eventually(() -> insert("begin recovery", """
                INSERT INTO recoveries (event_id, bdf, card, started_at) VALUES (?, ?, ?, ?) RETURNING id""",
                eventId, event.bdf().toString(), event.card(), us(clock.instant())));
    }

    /**
     * Begins a recovery that escalates from an earlier one of the same event (its method failed; a heavier one
     * is tried). Committed like {@link #beginRecovery}.
     *
     * @throws JournalException when {@code escalatedFrom} is no recovery of this event and device
     */
    public synchronized long beginEscalation(long eventId, WedgedEvent event, long escalatedFrom) throws JournalException {
        return eventually(() -> {
            String what = "begin an escalation from recovery " + escalatedFrom;
            try (var s = prepare("""
                    INSERT INTO recoveries (event_id, bdf, card, started_at, escalated_from)
                    SELECT ?1, ?2, ?3, ?4, id FROM recoveries WHERE id = ?5 AND event_id = ?1 AND bdf = ?2 RETURNING id""",
                    eventId, event.bdf().toString(), event.card(), us(clock.instant()), escalatedFrom); var rs = s.executeQuery()) {
                if (rs.next()) {
                    long id = rs.getLong(1);
                    if (rs.next()) throw new SQLException("more than one id returned"); // to the commit: see insert()
                    return id;
                }
            } catch (SQLException e) {
                throw failed(what, e);
            }
            throw new JournalException("cannot " + what + " in " + file + ": " + escalationMismatch(eventId, event, escalatedFrom));
        });
    }

    /** Why {@code escalatedFrom} cannot be escalated from, in the words of what is there. */
    private String escalationMismatch(long eventId, WedgedEvent event, long escalatedFrom) throws JournalException {
        try (var s = prepare("SELECT event_id, bdf FROM recoveries WHERE id = ?", escalatedFrom); var rs = s.executeQuery()) {
            if (!rs.next()) return "there is no recovery " + escalatedFrom;
            return "recovery " + escalatedFrom + " is of event " + rs.getLong(1) + " on " + rs.getString(2) + ", not of event "
                    + eventId + " on " + event.bdf();
        } catch (SQLException e) {
            throw failed("read recovery " + escalatedFrom, e);
        }
    }

    /** Records the driver the recovery is about to unbind: a restart that finds the device unbound binds it to this. */
    public synchronized void driver(long recoveryId, String driver) throws JournalException {
        eventually(() -> {
            update("record the driver of recovery " + recoveryId, "UPDATE recoveries SET driver = ? WHERE id = ?", driver, recoveryId);
            return null;
        });
    }

    /**
     * The driver the attempt unbinds and its method, before anything is touched: a restart binds the device
     * back to that driver, and finishes a cold reset's power cycle (the method column is otherwise written at the end).
     */
    public synchronized void driver(long recoveryId, String driver, io.unwedge.core.RecoveryMethod method) throws JournalException {
        eventually(() -> {
            update("record the driver of recovery " + recoveryId, "UPDATE recoveries SET driver = ?, method = ? WHERE id = ?", driver,
                    method.token(), recoveryId);
            return null;
        });
    }

    /**
     * Something a restart must put back if the daemon dies before the recovery ends: a function to bind to
     * {@code value} (a driver), or the {@code reset_method} to write back as {@code value}.
     */
    public record Restore(Kind kind, PciAddress bdf, String value) {
        public enum Kind {
            BIND("bind"), RESET_METHOD("reset_method");

            private final String token;

            Kind(String token) {
                this.token = token;
            }

            @Override
            public String toString() {
                return token;
            }

            static Kind of(String token) throws SQLException {
                for (var k : values()) if (k.token.equals(token)) return k;
                throw new SQLException("unknown restore kind in journal: " + token);
            }
        }

        public Restore {
            java.util.Objects.requireNonNull(kind);
            java.util.Objects.requireNonNull(bdf);
            if (value == null || value.isBlank()) throw new IllegalArgumentException("a restore needs a value");
        }
    }

    /**
     * What a restart must put back if the daemon dies from here, in one transaction; durable with the next
     * intent, which the caller writes before the step that changes it.
     */
    public synchronized void toRestore(long recoveryId, List<Restore> items) throws JournalException {
        if (items.isEmpty()) return;
        String what = "record what recovery " + recoveryId + " must put back";
        eventually(() -> {
            try {
                return inTransaction(() -> {
                    for (var r : items) {
                        try (var s = prepare("INSERT INTO restore (recovery_id, kind, bdf, value) VALUES (?, ?, ?, ?)",
                                recoveryId, r.kind().toString(), r.bdf().toString(), r.value())) {
                            s.executeUpdate();
                        }
                    }
                    return null;
                });
            } catch (SQLException e) {
                throw failed(what, e);
            }
        });
    }

    /** What {@link #toRestore(long, List)} recorded for the recovery, in order. */
    public synchronized List<Restore> toRestore(long recoveryId) throws JournalException {
        try (var s = prepare("SELECT kind, bdf, value FROM restore WHERE recovery_id = ? ORDER BY id", recoveryId); var rs = s.executeQuery()) {
            var out = new ArrayList<Restore>();
            while (rs.next()) {
                out.add(new Restore(Restore.Kind.of(rs.getString(1)),
                        PciAddress.parse(rs.getString(2)).orElseThrow(() -> new SQLException("bad bdf in journal")), rs.getString(3)));
            }
            return out;
        } catch (SQLException e) {
            throw failed("read what recovery " + recoveryId + " must put back", e);
        }
    }

    /** Records that {@code step} is about to run; durable when this returns. */
    public synchronized Intent intent(long recoveryId, Step step) throws JournalException {
        return intent(recoveryId, step, null);
    }

    /**
     * The intent with what it is about, kept as the step's detail until its end replaces it: what a restart
     * needs when the daemon dies in the step and sysfs no longer shows it (the slot a cold reset powered off).
     */
    public synchronized Intent intent(long recoveryId, Step step, String about) throws JournalException {
        long id = insert("record the intent to " + step, """
                INSERT INTO steps (recovery_id, step, intent_at, detail) VALUES (?, ?, ?, ?) RETURNING id""",
                recoveryId, step.toString(), us(clock.instant()), about);
        return new Intent(id, step, clock.instant());
    }

    public synchronized void stepEnded(Intent intent, StepResult result) throws JournalException {
        update("record the end of " + intent.step(), "UPDATE steps SET started_at = ?, ended_at = ?, outcome = ?, detail = ? WHERE id = ?",
                us(intent.durableAt()), us(clock.instant()), result.outcome().toString(), result.detail(), intent.id());
    }

    /**
     * The holders of one drain, one row each, in one transaction: durable when this returns. Written when the
     * drain ends (its signals are sent by then; the step's intent was durable before the first).
     *
     * @param stepId the drain step's intent; empty for a drain outside a step (the quarantine's)
     */
    public synchronized void recordDrain(long recoveryId, Optional<Intent> stepId, List<DrainRow.Holder> holders) throws JournalException {
        java.util.Objects.requireNonNull(stepId, "stepId");
        if (holders.isEmpty()) return;
        stepId.ifPresent(i -> {
            if (i.step() != Step.DRAIN) throw new IllegalArgumentException("drain rows belong to a drain step, not " + i.step());
        });
        String what = "record the " + holders.size() + " holder(s) of the drain of recovery " + recoveryId;
        try {
            inTransaction(() -> {
                long at = us(clock.instant());
                for (var h : holders) {
                    try (var s = prepare("""
                            INSERT INTO drains (recovery_id, step_id, at, pid, comm, uid, unit, container, fds, maps, clients, signal, outcome, exit_ms)
                            VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)""", recoveryId, stepId.map(Intent::id).orElse(null), at, h.pid(),
                            h.comm(), h.uid().orElse(null), h.unit().orElse(null), h.container().orElse(null), h.fds(), h.maps(), h.clients(),
                            h.signalWord(), h.outcome().toString(), h.exitMillis().orElse(null))) {
                        s.executeUpdate();
                    }
                }
                return null;
            });
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    private interface Work<T> {
        T run() throws SQLException;
    }

    /** {@code work} in one transaction: committed when it returns, rolled back when it throws. */
    private <T> T inTransaction(Work<T> work) throws SQLException {
        c.setAutoCommit(false);
        try {
            T result = work.run();
            c.commit();
            return result;
        } catch (SQLException | RuntimeException e) {
            c.rollback();
            throw e;
        } finally {
            c.setAutoCommit(true);
        }
    }

    public synchronized void endRecovery(long recoveryId, RecoveryReport report) throws JournalException {
        update("record the end of the recovery", """
                UPDATE recoveries SET method = ?, result = ?, reason = ?, ended_at = ?, card_after = ?, latency_us = ?
                WHERE id = ?""", report.method().map(Object::toString).orElse(null), report.result().toString(),
                report.reason(), us(clock.instant()), report.cardAfter().orElse(null), report.latencyMicros().orElse(null),
                recoveryId);
    }

    /**
     * Closes a recovery the daemon did not end (it died) with what a restart found and did about it, in one
     * transaction: a {@code restarts} row, and the recovery's result, reason and end.
     *
     * @param found  the device's state at restart: {@code unbound}, {@code bound}, {@code gone}, …
     * @param action what the restart did: {@code resumed}, {@code found-bound}, {@code retried}, {@code abandoned}
     * @param result the {@code RecoveryReport.Result} word the recovery ends with
     */
    public synchronized void closeAtRestart(long recoveryId, String found, String action, String result, String reason,
                                            Optional<String> cardAfter) throws JournalException {
        String what = "close recovery " + recoveryId + " at restart";
        try {
            inTransaction(() -> {
                try (var s = prepare("INSERT INTO restarts (recovery_id, at, found, action, detail) VALUES (?, ?, ?, ?, ?)",
                        recoveryId, us(clock.instant()), found, action, reason)) {
                    s.executeUpdate();
                }
                try (var s = prepare("UPDATE recoveries SET result = ?, reason = ?, ended_at = ?, card_after = ? WHERE id = ? AND ended_at IS NULL",
                        result, reason, us(clock.instant()), cardAfter.orElse(null), recoveryId)) {
                    int n = s.executeUpdate();
                    if (n != 1) throw new SQLException("recovery " + recoveryId + " is not unfinished (" + n + " rows)");
                }
                return null;
            });
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    /**
     * Records what was collected about a wedge; the task (and pid) are the event's {@code TASK=}/{@code PID=}.
     * The telemetry row and a {@code devcoredumps} row per dump, in one transaction: durable when this returns
     * (repeat offences are judged from these rows), and never a row without its dumps' hashes.
     *
     * @param exe          the task's executable ({@code /proc/<pid>/exe}), when it could be read
     * @param devcoredumps the device's dumps as saved; the row's {@code bytes} is their total
     * @param note         anything else worth keeping (a dump that vanished, one not freed); may be empty
     * @return the row's id
     */
    public synchronized long recordTelemetry(long eventId, WedgedEvent event, Optional<String> exe, List<TelemetryRow.Devcoredump> devcoredumps,
                                             String note) throws JournalException {
        java.util.Objects.requireNonNull(note, "note");
        exe.ifPresent(x -> {
            if (!x.startsWith("/")) throw new IllegalArgumentException("an executable is an absolute path, not '" + x + "'");
        });
        var dumps = List.copyOf(devcoredumps);
        long bytes = 0;
        var files = new StringBuilder(); // the v3 column, still written: rows from before v5 have only it, and readers use it for all
        for (var d : dumps) {
            bytes = Math.addExact(bytes, d.bytes());
            if (!files.isEmpty()) files.append('\n');
            files.append(d.file());
        }
        long total = bytes;
        try {
            return inTransaction(() -> {
                long id;
                try (var s = prepare("""
                        INSERT INTO telemetry (event_id, at, bdf, card, pid, task, exe, devcoredumps, bytes, note)
                        VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?) RETURNING id""",
                        eventId, us(clock.instant()), event.bdf().toString(), event.card(), event.task().map(t -> t.pid()).orElse(null),
                        event.task().map(t -> t.comm()).orElse(null), exe.orElse(null), files.toString(), total, note);
                     var rs = s.executeQuery()) {
                    if (!rs.next()) throw new SQLException("no id returned");
                    id = rs.getLong(1);
                    if (rs.next()) throw new SQLException("more than one id returned"); // stepped to its end: see insert()
                }
                for (var d : dumps) {
                    try (var s = prepare("INSERT INTO devcoredumps (telemetry_id, file, bytes, sha256, truncated) VALUES (?, ?, ?, ?, ?)",
                            id, d.file().toString(), d.bytes(), d.sha256(), d.truncated() ? 1 : 0)) {
                        s.executeUpdate();
                    }
                }
                return id;
            });
        } catch (SQLException e) {
            throw failed("record telemetry of event " + eventId, e);
        }
    }

    /**
     * Puts a device in quarantine, durably. A device has at most one active quarantine: when it has one
     * already, that one is kept as it is (its time, reason and mode) and this returns false.
     *
     * @return whether a quarantine began
     */
    public synchronized boolean quarantine(PciAddress bdf, String reason, QuarantineMode mode) throws JournalException {
        java.util.Objects.requireNonNull(bdf, "bdf");
        java.util.Objects.requireNonNull(mode, "mode");
        if (reason == null || reason.isBlank()) throw new IllegalArgumentException("a quarantine needs a reason");
        try (var s = prepare("INSERT INTO quarantine (bdf, since, reason, mode) VALUES (?, ?, ?, ?) ON CONFLICT DO NOTHING",
                bdf.toString(), us(clock.instant()), reason, mode.toString())) {
            return s.executeUpdate() == 1;
        } catch (SQLException e) {
            throw failed("quarantine " + bdf, e);
        }
    }

    /**
     * Ends a device's quarantine, durably, saying who released it.
     *
     * @return whether one was active
     */
    public synchronized boolean release(PciAddress bdf, String by) throws JournalException {
        java.util.Objects.requireNonNull(bdf, "bdf");
        if (by == null || by.isBlank()) throw new IllegalArgumentException("a release says who released it");
        try (var s = prepare("UPDATE quarantine SET released_at = ?, released_by = ? WHERE bdf = ? AND released_at IS NULL",
                us(clock.instant()), by, bdf.toString())) {
            return s.executeUpdate() == 1;
        } catch (SQLException e) {
            throw failed("release " + bdf + " from quarantine", e);
        }
    }

    // ---- retention ----

    /**
     * What a {@link #prune} did.
     *
     * @param byAge       recoveries deleted for being older than the age limit
     * @param bySize      recoveries deleted, oldest first, to bring the file under the size limit
     * @param events      events deleted (those of deleted recoveries, and old ones no recovery came of)
     * @param telemetry   telemetry rows deleted (with their events)
     * @param quarantines released quarantines deleted for being older than the age limit
     * @param bytesBefore the file and its WAL before
     * @param bytesAfter  the file and its WAL after the checkpoint and the vacuum
     * @param underCap    false when what must be kept alone is larger than the size limit (the data, as vacuumed)
     * @param dumpFiles   devcoredump copies deleted with their telemetry rows; {@code dumpBytes} their size
     * @param dumpErrors  each copy that could not be deleted, and why (its row went all the same)
     */
    public record Pruned(long byAge, long bySize, long events, long telemetry, long quarantines, long bytesBefore, long bytesAfter,
                         boolean underCap, long dumpFiles, long dumpBytes, List<String> dumpErrors) {
        public Pruned {
            dumpErrors = List.copyOf(dumpErrors);
        }
    }

    /** Where the daemon saves devcoredump copies, beside the journal: the only place prune deletes files from. */
    public static final String DUMP_DIR = "devcoredump";

    /** The dump files of telemetry rows deleted in this prune, deleted once their rows are gone for good. */
    private final List<String> doomedDumps = new ArrayList<>();

    /** Recoveries to delete per round of the size pruning; the used size is measured between rounds. */
    private static final int SIZE_BATCH = 64;

    /**
     * An event no recovery came of is deleted only when older than this: a device actor records its event and
     * begins its recovery in two calls, and a prune between them must not take the event from under it.
     */
    private static final java.time.Duration ORPHAN_EVENT_GRACE = java.time.Duration.ofHours(1);

    /**
     * The ids of the recoveries retention never deletes: every unfinished one
     * (a restart reconciles it from these rows), the last of each device (what {@code status} shows), and for
     * each device the one holding its latest unbind ({@link #leftUnbound} reads it to tell a device unwedge may
     * have left without a driver). An escalation keeps the recoveries it escalated from: {@link #deleteRecoveries}
     * adds them, since a chain is one event's history. An active quarantine is never pruned (it names no
     * recovery, so none has to be kept for it); a released one goes with age.
     */
    private static final String KEPT = """
            SELECT id FROM recoveries WHERE ended_at IS NULL
            UNION SELECT max(id) FROM recoveries GROUP BY bdf
            UNION SELECT recovery_id FROM steps WHERE id IN (
                SELECT max(s.id) FROM steps s JOIN recoveries r ON r.id = s.recovery_id WHERE s.step = 'unbind' GROUP BY r.bdf)""";

    /**
     * Deletes recoveries (with their steps, restarts, events and the events' telemetry, its devcoredump rows and the
     * dump files they name) started more than
     * {@code maxAge} ago, then, while the data is larger than {@code maxBytes}, the oldest others started more
     * than {@code keep} ago (what the safety rules count: a budget or an offence count must not come out low
     * because the journal was full); never one {@link #KEPT} names. Telemetry of an event no recovery came of (a {@code none} wedge) goes with its event,
     * by age and then, oldest first, by size; a quarantine released more than {@code maxAge} ago goes, an
     * active one never. Then
     * gives the space back: {@code wal_checkpoint(TRUNCATE)}, {@code VACUUM}, and a checkpoint again.
     *
     * <p>Why {@code VACUUM} and not {@code incremental_vacuum}: the journal was created with
     * {@code auto_vacuum=NONE} (SQLite's default, and switching an existing file needs a {@code VACUUM}
     * anyway), and an incremental vacuum only hands back free pages at the end of the file without
     * compacting the rest. The file is capped at tens of megabytes and pruned once a day, so rebuilding it
     * costs well under a second; it needs as much free disk as the file again. In WAL mode the
     * {@code VACUUM} writes the new file through the WAL, so the last checkpoint is what shrinks
     * {@code journal.db} and truncates the WAL. Readers beside it (the CLI) keep their snapshot; if one
     * holds the WAL the truncating checkpoint does what it can and the next prune finishes it.
     *
     * <p>This holds the journal's lock throughout: a recovery's intent waits for it (it is not lost).
     */
    public synchronized Pruned prune(java.time.Duration maxAge, long maxBytes, java.time.Duration keep) throws JournalException {
        if (maxAge.isNegative() || maxAge.isZero()) throw new IllegalArgumentException("maxAge must be positive: " + maxAge);
        if (maxBytes < 1) throw new IllegalArgumentException("maxBytes must be positive: " + maxBytes);
        long before = bytesOnDisk();
        Instant now = clock.instant();
        doomedDumps.clear(); // none left from a prune that failed: its rows stayed
        try {
            long cutoff = us(now.minus(maxAge));
            long[] aged = deleteRecoveries("r.started_at < ?1", cutoff, Long.MAX_VALUE);
            long byAge = aged[0];
            long orphanCutoff = Math.min(cutoff, us(now.minus(ORPHAN_EVENT_GRACE)));
            long[] told = deleteTelemetryOnlyEvents(orphanCutoff, Long.MAX_VALUE);
            long events = aged[1] + told[0] + deleteOrphanEvents(orphanCutoff);
            long telemetry = aged[2] + told[1];
            long quarantines = deleteReleasedQuarantines(cutoff);
            long bySize = 0;
            boolean under;
            long keepCutoff = us(now.minus(keep));
            long sizeOrphanCutoff = Math.min(keepCutoff, us(now.minus(ORPHAN_EVENT_GRACE)));
            while (!(under = usedBytes() <= maxBytes)) {
                long[] n = deleteRecoveries("r.started_at < ?1", keepCutoff, SIZE_BATCH);
                long[] t = deleteTelemetryOnlyEvents(sizeOrphanCutoff, SIZE_BATCH);
                if (n[0] == 0 && t[0] == 0) break; // only kept rows left
                bySize += n[0];
                events += n[1] + t[0] + deleteOrphanEvents(sizeOrphanCutoff);
                telemetry += n[2] + t[1];
            }
            if (byAge + bySize + events + telemetry + quarantines > 0) {
                // rewriting the file holds the journal, and so every recovery's intent, for as long as it
                // takes: only worth it when something went (not at every daemon start)
                try (var s = c.createStatement()) {
                    s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
                    s.execute("VACUUM");
                    s.execute("PRAGMA wal_checkpoint(TRUNCATE)");
                }
            }
            long after = bytesOnDisk();
            var errors = new ArrayList<String>();
            long[] dumps = deleteDumpFiles(errors);
            return new Pruned(byAge, bySize, events, telemetry, quarantines, before, after, under, dumps[0], dumps[1], errors);
        } catch (SQLException e) {
            throw failed("prune the journal", e);
        }
    }

    /**
     * Deletes up to {@code limit} of the oldest recoveries matching {@code where} (on {@code recoveries r}, with
     * {@code ?1} bound to {@code arg}) that are not {@link #KEPT}, with the escalations from them, their steps,
     * restarts, and then-unused events with those events' telemetry, in one transaction. Returns how many
     * recoveries went, how many events, and how many telemetry rows.
     */
    private long[] deleteRecoveries(String where, long arg, long limit) throws SQLException {
        return inTransaction(() -> {
            try (var s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE IF NOT EXISTS doomed (id INTEGER PRIMARY KEY, event_id INTEGER NOT NULL)");
                s.execute("DELETE FROM doomed");
                s.execute("CREATE TEMP TABLE IF NOT EXISTS kept (id INTEGER PRIMARY KEY)");
                s.execute("DELETE FROM kept");
                s.execute("INSERT OR IGNORE INTO kept (id) " + KEPT);
                // what a kept recovery escalated from is kept with it: a chain is one event's history
                s.execute("""
                        WITH RECURSIVE up(id) AS (
                            SELECT escalated_from FROM recoveries WHERE id IN (SELECT id FROM kept) AND escalated_from IS NOT NULL
                            UNION SELECT r.escalated_from FROM recoveries r JOIN up ON r.id = up.id WHERE r.escalated_from IS NOT NULL)
                        INSERT OR IGNORE INTO kept (id) SELECT id FROM up""");
            }
            long n, events;
            try (var s = prepare("INSERT INTO doomed (id, event_id) SELECT r.id, r.event_id FROM recoveries r WHERE (" + where
                    + ") AND r.id NOT IN (SELECT id FROM kept) ORDER BY r.id LIMIT ?2", arg, limit)) {
                s.executeUpdate();
            }
            long telemetry;
            try (var s = c.createStatement()) {
                // and what escalated from a doomed one goes with it (none of those is kept: see above)
                s.execute("""
                        WITH RECURSIVE down(id) AS (
                            SELECT id FROM doomed
                            UNION SELECT r.id FROM recoveries r JOIN down ON r.escalated_from = down.id)
                        INSERT OR IGNORE INTO doomed (id, event_id)
                        SELECT r.id, r.event_id FROM recoveries r WHERE r.id IN (SELECT id FROM down) AND r.id NOT IN (SELECT id FROM kept)""");
                try (var rs = s.executeQuery("SELECT count(*) FROM doomed")) {
                    rs.next();
                    n = rs.getLong(1);
                }
                s.execute("DELETE FROM drains WHERE recovery_id IN (SELECT id FROM doomed)"); // before the steps they name
                s.execute("DELETE FROM steps WHERE recovery_id IN (SELECT id FROM doomed)");
                s.execute("DELETE FROM restarts WHERE recovery_id IN (SELECT id FROM doomed)");
                s.execute("DELETE FROM restore WHERE recovery_id IN (SELECT id FROM doomed)");
                s.execute("DELETE FROM recoveries WHERE id IN (SELECT id FROM doomed)");
                String doomedTelemetry = "SELECT id FROM telemetry WHERE event_id IN (SELECT event_id FROM doomed)"
                        + " AND event_id NOT IN (SELECT event_id FROM recoveries)";
                noteDumps(s, doomedTelemetry);
                s.execute("DELETE FROM devcoredumps WHERE telemetry_id IN (" + doomedTelemetry + ")"); // before the rows they name
                telemetry = s.executeUpdate("DELETE FROM telemetry WHERE id IN (" + doomedTelemetry + ")");
                events = s.executeUpdate("DELETE FROM events WHERE id IN (SELECT event_id FROM doomed)"
                        + " AND id NOT IN (SELECT event_id FROM recoveries)");
                s.execute("DELETE FROM doomed");
                s.execute("DELETE FROM kept");
            }
            return new long[] {n, events, telemetry};
        });
    }

    /** Notes the dump files of the telemetry rows {@code ids} (a query) names: its {@code devcoredumps} column, one per line, every schema. */
    private void noteDumps(java.sql.Statement s, String ids) throws SQLException {
        try (var rs = s.executeQuery("SELECT devcoredumps FROM telemetry WHERE id IN (" + ids + ")")) {
            while (rs.next()) {
                String files = rs.getString(1);
                if (files != null && !files.isEmpty()) doomedDumps.addAll(files.lines().toList());
            }
        }
    }

    /**
     * Deletes the dump files noted while their rows went (the transactions committed: a failed one's rows and
     * files both stay), each only when it is a regular file directly in this journal's {@code devcoredump/}:
     * a path from a damaged or foreign row never takes anything else with it. Returns files and bytes deleted.
     */
    private long[] deleteDumpFiles(List<String> errors) {
        Path dir = file.toAbsolutePath().getParent().resolve(DUMP_DIR).normalize();
        long files = 0, bytes = 0;
        for (String name : doomedDumps) {
            try {
                Path p = Path.of(name).toAbsolutePath().normalize();
                if (!dir.equals(p.getParent()) || !Files.isRegularFile(p, java.nio.file.LinkOption.NOFOLLOW_LINKS)) continue;
                long size = Files.size(p);
                if (Files.deleteIfExists(p)) {
                    files++;
                    bytes += size;
                }
            } catch (IOException | java.nio.file.InvalidPathException e) {
                errors.add(name + ": " + e.getMessage());
            }
        }
        doomedDumps.clear();
        return new long[] {files, bytes};
    }

    /** Events older than {@code cutoffUs} that nothing came of: no recovery, no telemetry. */
    private long deleteOrphanEvents(long cutoffUs) throws SQLException {
        try (var s = prepare("""
                DELETE FROM events WHERE received_at < ? AND NOT EXISTS (SELECT 1 FROM recoveries r WHERE r.event_id = events.id)
                  AND NOT EXISTS (SELECT 1 FROM telemetry t WHERE t.event_id = events.id)""", cutoffUs)) {
            return s.executeUpdate();
        }
    }

    /**
     * Up to {@code limit} of the oldest events received before {@code cutoffUs} that have telemetry and no
     * recovery (a {@code none} wedge), with their telemetry, in one transaction. Returns how many events went
     * and how many telemetry rows.
     */
    private long[] deleteTelemetryOnlyEvents(long cutoffUs, long limit) throws SQLException {
        return inTransaction(() -> {
            try (var s = c.createStatement()) {
                s.execute("CREATE TEMP TABLE IF NOT EXISTS doomed_events (id INTEGER PRIMARY KEY)");
                s.execute("DELETE FROM doomed_events");
            }
            try (var s = prepare("""
                    INSERT INTO doomed_events (id) SELECT e.id FROM events e WHERE e.received_at < ?1
                      AND NOT EXISTS (SELECT 1 FROM recoveries r WHERE r.event_id = e.id)
                      AND EXISTS (SELECT 1 FROM telemetry t WHERE t.event_id = e.id)
                    ORDER BY e.id LIMIT ?2""", cutoffUs, limit)) {
                s.executeUpdate();
            }
            long telemetry, events;
            try (var s = c.createStatement()) {
                noteDumps(s, "SELECT id FROM telemetry WHERE event_id IN (SELECT id FROM doomed_events)");
                s.execute("DELETE FROM devcoredumps WHERE telemetry_id IN (SELECT id FROM telemetry WHERE event_id IN (SELECT id FROM doomed_events))");
                telemetry = s.executeUpdate("DELETE FROM telemetry WHERE event_id IN (SELECT id FROM doomed_events)");
                events = s.executeUpdate("DELETE FROM events WHERE id IN (SELECT id FROM doomed_events)");
                s.execute("DELETE FROM doomed_events");
            }
            return new long[] {events, telemetry};
        });
    }

    /** Quarantines released before {@code cutoffUs}; an active one is never touched. */
    private long deleteReleasedQuarantines(long cutoffUs) throws SQLException {
        try (var s = prepare("DELETE FROM quarantine WHERE released_at IS NOT NULL AND released_at < ?", cutoffUs)) {
            return s.executeUpdate();
        }
    }

    /** The bytes the data would take once vacuumed: pages in use, free pages not counted. */
    private long usedBytes() throws SQLException {
        try (var s = c.createStatement()) {
            long pages = pragma(s, "page_count"), free = pragma(s, "freelist_count"), size = pragma(s, "page_size");
            return (pages - free) * size;
        }
    }

    private static long pragma(java.sql.Statement s, String name) throws SQLException {
        try (var rs = s.executeQuery("PRAGMA " + name)) {
            rs.next();
            return rs.getLong(1);
        }
    }

    /** The journal file and its WAL, as they are on disk now. */
    public long bytesOnDisk() {
        long n = 0;
        for (String suffix : new String[] {"", "-wal"}) {
            try {
                n += Files.size(file.resolveSibling(file.getFileName() + suffix));
            } catch (IOException e) {
                // not there (no WAL after a truncating checkpoint): nothing to count
            }
        }
        return n;
    }

    // ---- reads ----

    /** What a restart found and did about a recovery, oldest first; empty for one that ended normally. */
    public record RestartRow(long recoveryId, Instant at, String found, String action, String detail) {}

    public synchronized List<RestartRow> restarts(long recoveryId) throws JournalException {
        try (var s = prepare("SELECT recovery_id, at, found, action, detail FROM restarts WHERE recovery_id = ? ORDER BY id", recoveryId);
             var rs = s.executeQuery()) {
            var out = new ArrayList<RestartRow>();
            while (rs.next()) out.add(new RestartRow(rs.getLong(1), instant(rs.getLong(2)), rs.getString(3), rs.getString(4), rs.getString(5)));
            return out;
        } catch (SQLException e) {
            throw failed("read the restarts of recovery " + recoveryId, e);
        }
    }

    /** The wedge that started a recovery, decoded from the raw uevent the journal keeps. */
    public synchronized Optional<WedgedEvent> wedge(long eventId) throws JournalException {
        try (var s = prepare("SELECT raw FROM events WHERE id = ?", eventId); var rs = s.executeQuery()) {
            if (!rs.next()) return Optional.empty();
            if (UeventCodec.decode(rs.getBytes(1)) instanceof io.unwedge.core.Uevent u
                    && WedgedEvent.recognise(u) instanceof WedgedEvent.Wedged(var w)) {
                return Optional.of(w);
            }
            return Optional.empty();
        } catch (SQLException e) {
            throw failed("read event " + eventId, e);
        }
    }

    /** A PCI function unwedge unbound and, as far as the journal knows, never bound again. */
    public record LeftUnbound(PciAddress bdf, long recoveryId, Optional<String> driver) {}

    /**
     * Every BDF whose latest journaled unbind (intent, whatever its end) has nothing after it that shows the
     * device bound again: no successful bind, no restart that found it bound, no later recovery that found its
     * driver. unwedge may have left it without a driver; whether it still is, sysfs says.
     */
    public synchronized List<LeftUnbound> leftUnbound() throws JournalException {
        try (var s = prepare("""
                SELECT r.bdf, r.id, r.driver FROM steps s JOIN recoveries r ON r.id = s.recovery_id
                WHERE s.step = 'unbind'
                  AND s.id = (SELECT max(s1.id) FROM steps s1 JOIN recoveries r1 ON r1.id = s1.recovery_id
                              WHERE r1.bdf = r.bdf AND s1.step = 'unbind')
                  AND NOT EXISTS (SELECT 1 FROM steps s2 JOIN recoveries r2 ON r2.id = s2.recovery_id
                                  WHERE r2.bdf = r.bdf AND s2.step = 'bind' AND s2.outcome = 'ok' AND s2.id > s.id)
                  AND NOT EXISTS (SELECT 1 FROM restarts x JOIN recoveries r3 ON r3.id = x.recovery_id
                                  WHERE r3.bdf = r.bdf AND r3.id >= r.id AND x.found = 'bound')
                  AND NOT EXISTS (SELECT 1 FROM recoveries r4 WHERE r4.bdf = r.bdf AND r4.id > r.id AND r4.driver IS NOT NULL)
                ORDER BY s.id"""); var rs = s.executeQuery()) {
            var out = new ArrayList<LeftUnbound>();
            while (rs.next()) {
                out.add(new LeftUnbound(PciAddress.parse(rs.getString(1)).orElseThrow(() -> new SQLException("bad bdf in journal")),
                        rs.getLong(2), Optional.ofNullable(rs.getString(3))));
            }
            return out;
        } catch (SQLException e) {
            throw failed("look for devices left unbound", e);
        }
    }

    private static final String RECOVERY_COLUMNS = """
            SELECT r.id, r.event_id, e.seqnum, r.bdf, r.card, e.methods, e.task, e.received_at, r.started_at, r.method,
                   r.result, r.reason, r.ended_at, r.card_after, r.latency_us, r.driver, r.escalated_from
            FROM recoveries r JOIN events e ON e.id = r.event_id
            """;

    /**
     * Recoveries, newest first.
     *
     * @param bdf  only this PCI function's
     * @param card only those of the card that wedged (the number it had then)
     */
    public synchronized List<RecoveryRow> history(Optional<PciAddress> bdf, Optional<String> card, Optional<Instant> since,
                                                  int limit) throws JournalException {
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1: " + limit);
        return recoveries("read the history", RECOVERY_COLUMNS + """
                 WHERE (?1 IS NULL OR r.bdf = ?1) AND (?2 IS NULL OR r.card = ?2) AND (?3 IS NULL OR r.started_at >= ?3)
                 ORDER BY r.id DESC LIMIT ?4""",
                bdf.map(PciAddress::toString).orElse(null), card.orElse(null), since.map(Journal::us).orElse(null), limit);
    }

    public synchronized Optional<RecoveryDetail> show(long recoveryId) throws JournalException {
        var rows = recoveries("read recovery " + recoveryId, RECOVERY_COLUMNS + " WHERE r.id = ?", recoveryId);
        if (rows.isEmpty()) return Optional.empty();
        try (var s = prepare("SELECT id, recovery_id, step, intent_at, started_at, ended_at, outcome, detail FROM steps WHERE recovery_id = ? ORDER BY id",
                recoveryId); var rs = s.executeQuery()) {
            var steps = new ArrayList<StepRow>();
            while (rs.next()) {
                steps.add(new StepRow(rs.getLong(1), rs.getLong(2), step(rs.getString(3)),
                        instant(rs.getLong(4)), optInstant(rs, 5), optInstant(rs, 6), Optional.ofNullable(rs.getString(7)),
                        Optional.ofNullable(rs.getString(8))));
            }
            return Optional.of(new RecoveryDetail(rows.getFirst(), steps));
        } catch (SQLException e) {
            throw failed("read the steps of recovery " + recoveryId, e);
        }
    }

    /** The holders of a recovery's drains, in the order they were written. */
    public synchronized List<DrainRow> drains(long recoveryId) throws JournalException {
        try (var s = prepare(DRAIN_COLUMNS + " WHERE d.recovery_id = ? ORDER BY d.id", recoveryId); var rs = s.executeQuery()) {
            return drainRows(rs);
        } catch (SQLException e) {
            throw failed("read the drains of recovery " + recoveryId, e);
        }
    }

    private static final String DRAIN_COLUMNS = """
            SELECT d.id, d.recovery_id, d.step_id, d.at, d.pid, d.comm, d.uid, d.unit, d.container, d.fds, d.maps, d.clients, d.signal,
                   d.outcome, d.exit_ms
            FROM drains d JOIN recoveries r ON r.id = d.recovery_id""";

    private static List<DrainRow> drainRows(ResultSet rs) throws SQLException {
        var out = new ArrayList<DrainRow>();
        while (rs.next()) {
            String outcome = rs.getString(14);
            var holder = new DrainRow.Holder(rs.getInt(5), rs.getString(6), optInt(rs, 7), Optional.ofNullable(rs.getString(8)),
                    Optional.ofNullable(rs.getString(9)), rs.getInt(10), rs.getInt(11), rs.getInt(12), DrainRow.signal(rs.getString(13)),
                    DrainRow.Outcome.parse(outcome).orElseThrow(() -> new SQLException("unknown drain outcome '" + outcome + "' (written by a newer unwedge?)")),
                    optLong(rs, 15));
            out.add(new DrainRow(rs.getLong(1), rs.getLong(2), optLong(rs, 3), instant(rs.getLong(4)), holder));
        }
        return out;
    }

    /** One line of an {@link #export}: every kind of row the journal holds. */
    public sealed interface Exported {
        /** A wedge as received, with the kernel's message. */
        record Event(long id, Instant receivedAt, long seqnum, String card, PciAddress bdf, String methods, Optional<String> task,
                     byte[] rawUevent) implements Exported {}

        /** A recovery with its event's fields and its steps. */
        record Recovery(RecoveryDetail detail) implements Exported {}

        /** One holder of one drain. */
        record Drain(DrainRow row) implements Exported {}

        /** What a restart found and did about a recovery. */
        record Restart(RestartRow row) implements Exported {}

        /** What was collected about a wedge. */
        record Telemetry(TelemetryRow row) implements Exported {}

        /** A quarantine, active or released. */
        record Quarantine(long id, PciAddress bdf, Instant since, String reason, QuarantineMode mode, Optional<Instant> releasedAt,
                          Optional<String> releasedBy) implements Exported {}
    }

    /** Receives the rows of an {@link #export}, one at a time. */
    public interface ExportSink {
        void accept(Exported e) throws java.io.IOException;
    }

    /**
     * Which rows an {@link #export} writes: those since a time (an event also when a recovery since then came of
     * it; a quarantine also when it was released since), and of one device (a card is the number it had at the
     * wedge; a quarantine matches the card of any event of its device).
     */
    public record ExportFilter(Optional<Instant> since, Optional<PciAddress> bdf, Optional<String> card) {
        public static final ExportFilter ALL = new ExportFilter(Optional.empty(), Optional.empty(), Optional.empty());

        public ExportFilter {
            java.util.Objects.requireNonNull(since);
            java.util.Objects.requireNonNull(bdf);
            java.util.Objects.requireNonNull(card);
        }
    }

    /**
     * The recoveries an export since {@code ?1} holds: those started since, those with a drain or a restart row
     * since (the row names its recovery), and the attempts each escalated from, however old: no exported row
     * names a recovery the export lacks.
     */
    private static final String EXPORTED_RECOVERIES = """
            WITH RECURSIVE exported(id) AS (
              SELECT id FROM recoveries r WHERE ?1 IS NULL OR r.started_at >= ?1
                OR EXISTS (SELECT 1 FROM drains d WHERE d.recovery_id = r.id AND d.at >= ?1)
                OR EXISTS (SELECT 1 FROM restarts x WHERE x.recovery_id = r.id AND x.at >= ?1)
              UNION SELECT r.escalated_from FROM recoveries r JOIN exported e ON r.id = e.id WHERE r.escalated_from IS NOT NULL
            )
            """;

    /**
     * Everything the journal holds that {@code filter} matches, kind by kind, in the order a reader needs them
     * (an event before the recoveries and telemetry naming it, a recovery before its drains and restarts):
     * events, recoveries with their steps, drains, restarts, telemetry, quarantines; each kind oldest first.
     * Read in one transaction: on a read-only connection beside a writing daemon that is one WAL snapshot, so
     * no row names another the export lacks.
     *
     * @return how many rows were exported
     */
    public synchronized long export(ExportFilter filter, ExportSink sink) throws JournalException, java.io.IOException {
        Object since = filter.since().map(Journal::us).orElse(null), bdf = filter.bdf().map(PciAddress::toString).orElse(null),
                card = filter.card().orElse(null);
        long n = 0;
        try {
            c.setAutoCommit(false);
            try {
                try (var s = prepare(EXPORTED_RECOVERIES + """
                        SELECT id, received_at, seqnum, card, bdf, methods, task, raw FROM events
                        WHERE (?1 IS NULL OR received_at >= ?1 OR id IN (SELECT event_id FROM recoveries WHERE id IN exported))
                          AND (?2 IS NULL OR bdf = ?2) AND (?3 IS NULL OR card = ?3) ORDER BY id""", since, bdf, card);
                     var rs = s.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new Exported.Event(rs.getLong(1), instant(rs.getLong(2)), rs.getLong(3), rs.getString(4),
                                PciAddress.parse(rs.getString(5)).orElseThrow(() -> new SQLException("bad bdf in journal")), rs.getString(6),
                                Optional.ofNullable(rs.getString(7)), rs.getBytes(8)));
                        n++;
                    }
                }
                var ids = new ArrayList<Long>();
                try (var s = prepare(EXPORTED_RECOVERIES + """
                        SELECT id FROM recoveries WHERE id IN exported AND (?2 IS NULL OR bdf = ?2)
                          AND (?3 IS NULL OR card = ?3) ORDER BY id""", since, bdf, card); var rs = s.executeQuery()) {
                    while (rs.next()) ids.add(rs.getLong(1));
                }
                for (long id : ids) {
                    sink.accept(new Exported.Recovery(show(id).orElseThrow(() -> new SQLException("recovery " + id + " vanished inside a transaction"))));
                    n++;
                }
                String byDevice = " AND (?2 IS NULL OR r.bdf = ?2) AND (?3 IS NULL OR r.card = ?3)";
                try (var s = prepare(DRAIN_COLUMNS + " WHERE (?1 IS NULL OR d.at >= ?1)" + byDevice + " ORDER BY d.id", since, bdf, card);
                     var rs = s.executeQuery()) {
                    for (var d : drainRows(rs)) {
                        sink.accept(new Exported.Drain(d));
                        n++;
                    }
                }
                try (var s = prepare("""
                        SELECT x.recovery_id, x.at, x.found, x.action, x.detail FROM restarts x JOIN recoveries r ON r.id = x.recovery_id
                        WHERE (?1 IS NULL OR x.at >= ?1)""" + byDevice + " ORDER BY x.id", since, bdf, card); var rs = s.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new Exported.Restart(new RestartRow(rs.getLong(1), instant(rs.getLong(2)), rs.getString(3), rs.getString(4),
                                rs.getString(5))));
                        n++;
                    }
                }
                try (var s = prepare("""
                        SELECT id FROM telemetry WHERE (?1 IS NULL OR at >= ?1) AND (?2 IS NULL OR bdf = ?2) AND (?3 IS NULL OR card = ?3)
                        ORDER BY at, id""", since, bdf, card); var rs = s.executeQuery()) {
                    var tids = new ArrayList<Long>();
                    while (rs.next()) tids.add(rs.getLong(1));
                    for (long id : tids) {
                        sink.accept(new Exported.Telemetry(telemetryRow(id)));
                        n++;
                    }
                }
                try (var s = prepare("""
                        SELECT id, bdf, since, reason, mode, released_at, released_by FROM quarantine
                        WHERE (?1 IS NULL OR since >= ?1 OR released_at >= ?1) AND (?2 IS NULL OR bdf = ?2)
                          AND (?3 IS NULL OR bdf IN (SELECT bdf FROM events WHERE card = ?3)) ORDER BY since, id""", since, bdf, card);
                     var rs = s.executeQuery()) {
                    while (rs.next()) {
                        sink.accept(new Exported.Quarantine(rs.getLong(1),
                                PciAddress.parse(rs.getString(2)).orElseThrow(() -> new SQLException("bad bdf in journal")), instant(rs.getLong(3)),
                                rs.getString(4), QuarantineMode.parse(rs.getString(5)).orElseThrow(() -> new SQLException("bad quarantine mode in journal")),
                                optInstant(rs, 6), Optional.ofNullable(rs.getString(7))));
                        n++;
                    }
                }
                return n;
            } finally {
                c.rollback(); // a read: nothing to keep, and the snapshot is let go
                c.setAutoCommit(true);
            }
        } catch (SQLException e) {
            throw failed("export the journal", e);
        }
    }

    private TelemetryRow telemetryRow(long id) throws SQLException {
        try (var s = prepare(TELEMETRY_COLUMNS + " WHERE id = ?", id); var rs = s.executeQuery()) {
            var rows = telemetryRows(rs);
            if (rows.isEmpty()) throw new SQLException("telemetry " + id + " vanished inside a transaction");
            return rows.getFirst();
        }
    }

    /** A recovery of a device, as budgets and flap detection need it. */
    public record Attempt(long id, Instant startedAt, Optional<Instant> endedAt, long eventId, Optional<String> method,
                          Optional<String> result, Optional<Long> escalatedFrom) {}

    /** The device's recoveries started at or after {@code since}, oldest first, unfinished ones included. */
    public synchronized List<Attempt> recoveriesSince(PciAddress bdf, Instant since) throws JournalException {
        try (var s = prepare("""
                SELECT id, started_at, event_id, method, result, escalated_from, ended_at FROM recoveries
                WHERE bdf = ? AND started_at >= ? ORDER BY started_at, id""", bdf.toString(), us(since)); var rs = s.executeQuery()) {
            var out = new ArrayList<Attempt>();
            while (rs.next()) {
                out.add(new Attempt(rs.getLong(1), instant(rs.getLong(2)), optInstant(rs, 7), rs.getLong(3), Optional.ofNullable(rs.getString(4)),
                        Optional.ofNullable(rs.getString(5)), optLong(rs, 6)));
            }
            return out;
        } catch (SQLException e) {
            throw failed("read the recoveries of " + bdf + " since " + since, e);
        }
    }

    /**
     * When a task offended since {@code since}, oldest first: the times of the telemetry rows naming it. A task
     * is its comm and, when it was known, its executable: a row matches when both are the same (a row without
     * an executable matches only a query without one). Ask before recording the offence being judged, or it is
     * counted among the earlier ones.
     */
    public synchronized List<Instant> offences(String comm, Optional<String> exe, Instant since) throws JournalException {
        if (comm == null || comm.isEmpty()) throw new IllegalArgumentException("an offender needs a comm");
        try (var s = prepare("SELECT at FROM telemetry WHERE task = ?1 AND exe IS ?2 AND at >= ?3 ORDER BY at, id",
                comm, exe.orElse(null), us(since)); var rs = s.executeQuery()) {
            var out = new ArrayList<Instant>();
            while (rs.next()) out.add(instant(rs.getLong(1)));
            return out;
        } catch (SQLException e) {
            throw failed("read the offences of " + comm + exe.map(x -> " (" + x + ")").orElse(""), e);
        }
    }

    private static final String TELEMETRY_COLUMNS = "SELECT id, event_id, at, bdf, card, pid, task, exe, devcoredumps, bytes, note FROM telemetry ";

    /** Telemetry rows, newest first, of one device and since a time when given. */
    public synchronized List<TelemetryRow> telemetry(Optional<PciAddress> bdf, Optional<Instant> since, int limit) throws JournalException {
        if (limit < 1) throw new IllegalArgumentException("limit must be at least 1: " + limit);
        try (var s = prepare(TELEMETRY_COLUMNS + """
                 WHERE (?1 IS NULL OR bdf = ?1) AND (?2 IS NULL OR at >= ?2) ORDER BY at DESC, id DESC LIMIT ?3""",
                bdf.map(PciAddress::toString).orElse(null), since.map(Journal::us).orElse(null), limit); var rs = s.executeQuery()) {
            return telemetryRows(rs);
        } catch (SQLException e) {
            throw failed("read the telemetry", e);
        }
    }

    /** The telemetry of one event, in the order it was collected (one row per event as the daemon records it). */
    public synchronized List<TelemetryRow> telemetryOf(long eventId) throws JournalException {
        try (var s = prepare(TELEMETRY_COLUMNS + "WHERE event_id = ? ORDER BY id", eventId); var rs = s.executeQuery()) {
            return telemetryRows(rs);
        } catch (SQLException e) {
            throw failed("read the telemetry of event " + eventId, e);
        }
    }

    private List<TelemetryRow> telemetryRows(ResultSet rs) throws SQLException {
        var out = new ArrayList<TelemetryRow>();
        while (rs.next()) {
            var optPid = optInt(rs, 6);
            String files = rs.getString(9);
            out.add(new TelemetryRow(rs.getLong(1), rs.getLong(2), instant(rs.getLong(3)),
                    PciAddress.parse(rs.getString(4)).orElseThrow(() -> new SQLException("bad bdf in journal")), rs.getString(5),
                    optPid, Optional.ofNullable(rs.getString(7)), Optional.ofNullable(rs.getString(8)),
                    files.isEmpty() ? List.of() : files.lines().map(Path::of).toList(), devcoredumps(rs.getLong(1)), rs.getLong(10),
                    rs.getString(11)));
        }
        return out;
    }

    /** A telemetry row's dumps with their hashes, in the order they were saved; none for a row from before v5. */
    private List<TelemetryRow.Devcoredump> devcoredumps(long telemetryId) throws SQLException {
        try (var s = prepare("SELECT file, bytes, sha256, truncated FROM devcoredumps WHERE telemetry_id = ? ORDER BY id", telemetryId);
             var rs = s.executeQuery()) {
            var out = new ArrayList<TelemetryRow.Devcoredump>();
            while (rs.next()) {
                try {
                    out.add(new TelemetryRow.Devcoredump(Path.of(rs.getString(1)), rs.getLong(2), rs.getString(3), rs.getInt(4) != 0));
                } catch (IllegalArgumentException e) {
                    throw new SQLException("bad devcoredump row of telemetry " + telemetryId + ": " + e.getMessage(), e);
                }
            }
            return out;
        }
    }

    /** Devices in quarantine now, oldest first. */
    public synchronized List<QuarantineRow> quarantined() throws JournalException {
        try (var s = prepare("SELECT id, bdf, since, reason, mode FROM quarantine WHERE released_at IS NULL ORDER BY since, id");
             var rs = s.executeQuery()) {
            var out = new ArrayList<QuarantineRow>();
            while (rs.next()) {
                out.add(new QuarantineRow(rs.getLong(1), PciAddress.parse(rs.getString(2)).orElseThrow(() -> new SQLException("bad bdf in journal")),
                        instant(rs.getLong(3)), rs.getString(4),
                        QuarantineMode.parse(rs.getString(5)).orElseThrow(() -> new SQLException("bad quarantine mode in journal"))));
            }
            return out;
        } catch (SQLException e) {
            throw failed("read the quarantined devices", e);
        }
    }

    /** Recoveries that began and never ended: the daemon died, or they are running now. Oldest first. */
    public synchronized List<RecoveryRow> unfinished() throws JournalException {
        return recoveries("read unfinished recoveries", RECOVERY_COLUMNS + " WHERE r.ended_at IS NULL ORDER BY r.id");
    }

    @Override
    public synchronized void close() {
        closeQuietly(c);
    }

    // ---- the mechanics ----

    private static Connection connectForWriting(Path file) throws SQLException {
        Connection c = connect(file, false);
        try {
            try (var s = c.createStatement()) {
                try (var rs = s.executeQuery("PRAGMA journal_mode = WAL")) {
                    rs.next();
                    if (!"wal".equalsIgnoreCase(rs.getString(1))) throw new SQLException("cannot use WAL mode: journal_mode is " + rs.getString(1));
                }
                s.execute("PRAGMA synchronous = FULL");
                try (var rs = s.executeQuery("PRAGMA quick_check")) {
                    rs.next();
                    if (!"ok".equals(rs.getString(1))) throw new Corrupt("quick_check: " + rs.getString(1));
                }
            }
            Schema.migrate(c, Schema.MIGRATIONS);
            var done = c;
            c = null;
            return done;
        } finally {
            closeQuietly(c);
        }
    }

    private static Connection connect(Path file, boolean readOnly) throws SQLException {
        var config = new SQLiteConfig();
        config.setReadOnly(readOnly);
        config.setBusyTimeout(BUSY_TIMEOUT_MS);
        config.enforceForeignKeys(true);
        return config.createConnection("jdbc:sqlite:" + file);
    }

    /** What quick_check found wrong. */
    private static final class Corrupt extends SQLException {
        Corrupt(String m) {
            super(m);
        }
    }

    /** SQLITE_CORRUPT (11) or SQLITE_NOTADB (26), with any extended code. */
    private static boolean corrupt(SQLException e) {
        int primary = e.getErrorCode() & 0xff;
        return e instanceof Corrupt || primary == 11 || primary == 26;
    }

    /** The file and its WAL/shm go aside together: the WAL belongs to the file it was written for. */
    private static Path moveAside(Path file, InstantSource clock) throws JournalException {
        Path aside = file.resolveSibling(file.getFileName() + ".corrupt-" + ASIDE_STAMP.format(clock.instant()));
        try {
            for (String suffix : new String[] {"-wal", "-shm", ""}) {
                Path from = file.resolveSibling(file.getFileName() + suffix);
                if (Files.exists(from)) Files.move(from, aside.resolveSibling(aside.getFileName() + suffix));
            }
            return aside;
        } catch (IOException e) {
            throw new JournalException("the journal " + file + " is corrupt and cannot be moved aside: " + e, e);
        }
    }

    private interface Write<T> {
        T run() throws JournalException;
    }

    /** A write committed without a sync: durable with the next synced commit (the WAL is one sequential file). */
    private <T> T eventually(Write<T> write) throws JournalException {
        synchronous("NORMAL");
        try {
            return write.run();
        } finally {
            synchronous("FULL");
        }
    }

    private void synchronous(String level) throws JournalException {
        try (var s = c.createStatement()) {
            s.execute("PRAGMA synchronous = " + level);
        } catch (SQLException e) {
            // a journal that may have stopped syncing must not be trusted with the next intent
            close();
            throw failed("set synchronous = " + level, e);
        }
    }

    private long insert(String what, String sql, Object... args) throws JournalException {
        try (var s = prepare(sql, args); var rs = s.executeQuery()) {
            if (!rs.next()) throw new SQLException("no id returned");
            long id = rs.getLong(1);
            // step the statement to its end: that is where an autocommit commits, and where a full disk says so.
            // Closing it would reset it and drop the error, handing back the id of a row that was never written.
            if (rs.next()) throw new SQLException("more than one id returned");
            return id;
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    private void update(String what, String sql, Object... args) throws JournalException {
        try (var s = prepare(sql, args)) {
            int n = s.executeUpdate();
            if (n != 1) throw new SQLException(n + " rows changed, expected 1");
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    private List<RecoveryRow> recoveries(String what, String sql, Object... args) throws JournalException {
        try (var s = prepare(sql, args); var rs = s.executeQuery()) {
            var out = new ArrayList<RecoveryRow>();
            while (rs.next()) {
                out.add(new RecoveryRow(rs.getLong(1), rs.getLong(2), rs.getLong(3),
                        PciAddress.parse(rs.getString(4)).orElseThrow(() -> new SQLException("bad bdf in journal")),
                        rs.getString(5), rs.getString(6), Optional.ofNullable(rs.getString(7)), instant(rs.getLong(8)),
                        instant(rs.getLong(9)), Optional.ofNullable(rs.getString(10)), Optional.ofNullable(rs.getString(11)),
                        Optional.ofNullable(rs.getString(12)), optInstant(rs, 13), Optional.ofNullable(rs.getString(14)), optLong(rs, 15),
                        Optional.ofNullable(rs.getString(16)), optLong(rs, 17)));
            }
            return out;
        } catch (SQLException e) {
            throw failed(what, e);
        }
    }

    private PreparedStatement prepare(String sql, Object... args) throws SQLException {
        var s = c.prepareStatement(sql);
        try {
            for (int i = 0; i < args.length; i++) {
                if (args[i] == null) s.setNull(i + 1, Types.NULL);
                else s.setObject(i + 1, args[i]);
            }
            return s;
        } catch (SQLException e) {
            s.close();
            throw e;
        }
    }

    private JournalException failed(String what, SQLException e) {
        return new JournalException("cannot " + what + " in " + file + ": " + e.getMessage(), e);
    }

    static long us(Instant t) {
        return ChronoUnit.MICROS.between(Instant.EPOCH, t);
    }

    static Instant instant(long us) {
        return Instant.EPOCH.plus(us, ChronoUnit.MICROS);
    }

    /** A step as the journal names it; a word this build does not know was written by a newer unwedge. */
    private static Step step(String word) throws SQLException {
        return Step.ofWord(word).orElseThrow(() -> new SQLException("unknown step '" + word + "' (written by a newer unwedge?)"));
    }

    private static Optional<Integer> optInt(ResultSet rs, int column) throws SQLException {
        int v = rs.getInt(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(v);
    }

    private static Optional<Long> optLong(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(v);
    }

    private static Optional<Instant> optInstant(ResultSet rs, int column) throws SQLException {
        long v = rs.getLong(column);
        return rs.wasNull() ? Optional.empty() : Optional.of(instant(v));
    }

    private static void closeQuietly(Connection c) {
        if (c == null) return;
        try {
            c.close();
        } catch (SQLException ignored) {
            // closing: nothing left to do with it
        }
    }
}
