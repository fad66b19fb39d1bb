package io.unwedge.daemon.journal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.List;

/**
 * The journal's tables, as a list of migrations: {@code MIGRATIONS.get(v - 1)} takes a database from
 * version {@code v - 1} to {@code v}. A migration runs in one transaction with the version bump, so a
 * file is always at exactly one version. A released migration is never edited; a change is a new one.
 *
 * <p>Times are microseconds since the epoch (UTC), so they sort and compare as numbers.
 */
final class Schema {

    private Schema() {}

    static final List<List<String>> MIGRATIONS = List.of(
            // v1: events, the recoveries they led to, and each step's intent and end
            List.of("""
                    CREATE TABLE events (
                      id          INTEGER PRIMARY KEY,
                      received_at INTEGER NOT NULL,
                      seqnum      INTEGER NOT NULL,
                      card        TEXT    NOT NULL,
                      bdf         TEXT    NOT NULL,
                      methods     TEXT    NOT NULL,
                      raw         BLOB    NOT NULL,
                      task        TEXT
                    )""", """
                    CREATE TABLE recoveries (
                      id          INTEGER PRIMARY KEY,
                      event_id    INTEGER NOT NULL REFERENCES events(id),
                      bdf         TEXT    NOT NULL,
                      card        TEXT    NOT NULL,
                      method      TEXT,
                      result      TEXT,
                      reason      TEXT,
                      started_at  INTEGER NOT NULL,
                      ended_at    INTEGER,
                      card_after  TEXT,
                      latency_us  INTEGER
                    )""", """
                    CREATE TABLE steps (
                      id          INTEGER PRIMARY KEY,
                      recovery_id INTEGER NOT NULL REFERENCES recoveries(id),
                      step        TEXT    NOT NULL,
                      intent_at   INTEGER NOT NULL,
                      started_at  INTEGER,
                      ended_at    INTEGER,
                      outcome     TEXT,
                      detail      TEXT
                    )""",
                    "CREATE INDEX recoveries_by_bdf ON recoveries(bdf, started_at)",
                    "CREATE INDEX recoveries_unfinished ON recoveries(id) WHERE ended_at IS NULL",
                    "CREATE INDEX steps_by_recovery ON steps(recovery_id)"),
            // v2: the driver a recovery unbound (a restart must bind the device back to it, and sysfs forgets
            // it with the driver link), and what each restart found and did about a recovery left unfinished
            List.of("ALTER TABLE recoveries ADD COLUMN driver TEXT", """
                    CREATE TABLE restarts (
                      id          INTEGER PRIMARY KEY,
                      recovery_id INTEGER NOT NULL REFERENCES recoveries(id),
                      at          INTEGER NOT NULL,
                      found       TEXT    NOT NULL,
                      action      TEXT    NOT NULL,
                      detail      TEXT    NOT NULL
                    )""", "CREATE INDEX restarts_by_recovery ON restarts(recovery_id)"),
            // v3: escalation (a recovery that follows a failed one for the same event, with a heavier method),
            // telemetry of a wedge (the guilty task, its devcoredumps: the memory repeat offences are judged
            // from), and quarantined devices (unwedge leaves them alone until a person releases them)
            List.of("ALTER TABLE recoveries ADD COLUMN escalated_from INTEGER REFERENCES recoveries(id)", """
                    CREATE TABLE telemetry (
                      id           INTEGER PRIMARY KEY,
                      event_id     INTEGER NOT NULL REFERENCES events(id),
                      at           INTEGER NOT NULL,
                      bdf          TEXT    NOT NULL,
                      card         TEXT    NOT NULL,
                      pid          INTEGER,
                      task         TEXT,
                      exe          TEXT,
                      devcoredumps TEXT    NOT NULL,
                      bytes        INTEGER NOT NULL,
                      note         TEXT    NOT NULL
                    )""",
                    "CREATE INDEX telemetry_by_task ON telemetry(task, at)",
                    "CREATE INDEX telemetry_by_bdf ON telemetry(bdf, at)",
                    "CREATE INDEX telemetry_by_event ON telemetry(event_id)",
                    "CREATE INDEX recoveries_by_escalated_from ON recoveries(escalated_from) WHERE escalated_from IS NOT NULL", """
                    CREATE TABLE quarantine (
                      id          INTEGER PRIMARY KEY,
                      bdf         TEXT    NOT NULL,
                      since       INTEGER NOT NULL,
                      reason      TEXT    NOT NULL,
                      mode        TEXT    NOT NULL CHECK (mode IN ('unbound', 'excluded')),
                      released_at INTEGER,
                      released_by TEXT,
                      CHECK ((released_at IS NULL) = (released_by IS NULL))
                    )""",
                    // at most one active quarantine per device
                    "CREATE UNIQUE INDEX quarantine_active ON quarantine(bdf) WHERE released_at IS NULL"),
            // v4: one row per holder of each drain (issue 3): who held the device, what it held, the signal sent,
            // how it ended; with the drain step it belongs to (none for the drain before a quarantine's unbind)
            List.of("""
                    CREATE TABLE drains (
                      id          INTEGER PRIMARY KEY,
                      recovery_id INTEGER NOT NULL REFERENCES recoveries(id),
                      step_id     INTEGER REFERENCES steps(id),
                      at          INTEGER NOT NULL,
                      pid         INTEGER NOT NULL CHECK (pid > 0),
                      comm        TEXT    NOT NULL,
                      uid         INTEGER,
                      unit        TEXT,
                      container   TEXT,
                      fds         INTEGER NOT NULL CHECK (fds >= 0),
                      maps        INTEGER NOT NULL CHECK (maps >= 0),
                      clients     INTEGER NOT NULL CHECK (clients >= 0),
                      signal      TEXT    NOT NULL CHECK (signal IN ('none', 'SIGTERM', 'SIGKILL')),
                      outcome     TEXT    NOT NULL CHECK (outcome IN ('exited', 'killed', 'released', 'gone-before-signal',
                                                                      'remained', 'protected', 'notified')),
                      exit_ms     INTEGER CHECK (exit_ms >= 0)
                    )""", "CREATE INDEX drains_by_recovery ON drains(recovery_id)"),
            // v5: each devcoredump a telemetry row saved, with the SHA-256 of the bytes kept (issue 5): a copy handed
            // on later can be checked against it. The telemetry row's devcoredumps column still lists the files.
            List.of("""
                    CREATE TABLE devcoredumps (
                      id           INTEGER PRIMARY KEY,
                      telemetry_id INTEGER NOT NULL REFERENCES telemetry(id),
                      file         TEXT    NOT NULL,
                      bytes        INTEGER NOT NULL CHECK (bytes >= 0),
                      sha256       TEXT    NOT NULL CHECK (length(sha256) = 64 AND sha256 NOT GLOB '*[^0-9a-f]*'),
                      truncated    INTEGER NOT NULL CHECK (truncated IN (0, 1))
                    )""", "CREATE INDEX devcoredumps_by_telemetry ON devcoredumps(telemetry_id)"),
            // v6: what a restart must put back besides the GPU's driver, written before the step that changes it:
            // a function a reset unbound with the GPU (its audio one) and the driver to bind it to, or the
            // reset_method a reset replaced and the value to write back. sysfs forgets both once they change.
            List.of("""
                    CREATE TABLE restore (
                      id          INTEGER PRIMARY KEY,
                      recovery_id INTEGER NOT NULL REFERENCES recoveries(id),
                      kind        TEXT    NOT NULL CHECK (kind IN ('bind', 'reset_method')),
                      bdf         TEXT    NOT NULL,
                      value       TEXT    NOT NULL CHECK (length(value) > 0)
                    )""", "CREATE INDEX restore_by_recovery ON restore(recovery_id)"));

    static final int CURRENT = MIGRATIONS.size();

    /** The file's version: 0 for an empty file. */
    static int version(Connection c) throws SQLException {
        try (var s = c.createStatement()) {
            try (var rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE type = 'table' AND name = 'schema_version'")) {
                rs.next();
                if (rs.getInt(1) == 0) return 0;
            }
            try (var rs = s.executeQuery("SELECT version FROM schema_version")) {
                return rs.next() ? rs.getInt(1) : 0;
            }
        }
    }

    /**
     * Brings the file to the last version of {@code migrations}, one transaction per version. A file newer
     * than this build knows is refused: it was written by a later unwedge, and guessing would lose data.
     *
     * @return the version the file had before
     */
    static int migrate(Connection c, List<List<String>> migrations) throws SQLException {
        int from = version(c);
        if (from > migrations.size()) {
            throw new SQLException("journal schema is version " + from + "; this unwedge knows up to " + migrations.size()
                    + " (written by a newer unwedge?)");
        }
        for (int v = from + 1; v <= migrations.size(); v++) {
            c.setAutoCommit(false);
            try (var s = c.createStatement()) {
                s.execute("CREATE TABLE IF NOT EXISTS schema_version (version INTEGER NOT NULL)");
                for (String sql : migrations.get(v - 1)) s.execute(sql);
                s.execute("DELETE FROM schema_version");
                s.execute("INSERT INTO schema_version (version) VALUES (" + v + ")");
                c.commit();
            } catch (SQLException e) {
                c.rollback();
                // SQLite's code kept: a file found corrupt while migrating is moved aside as one found so on opening
                throw new SQLException("journal migration to version " + v + " failed: " + e.getMessage(), e.getSQLState(), e.getErrorCode(), e);
            } finally {
                c.setAutoCommit(true);
            }
        }
        return from;
    }
}
