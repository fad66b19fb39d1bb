package io.unwedge.daemon.journal;

import io.unwedge.daemon.EventLog;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import org.junit.jupiter.api.io.TempDir;

/** What the journal's tests share: a state directory, a clock they move, the log they read, and SQL of their own on the file. */
abstract class JournalFileTest {

    @TempDir Path dir;
    final JournalTest.ManualClock clock = new JournalTest.ManualClock(JournalTest.T0);
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    final EventLog log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), clock, EventLog.Level.DEBUG);

    /** A connection of the test's own to the journal's file, beside the journal's. */
    Connection sql() throws Exception {
        return DriverManager.getConnection("jdbc:sqlite:" + dir.resolve(Journal.FILE));
    }

    /** Event 1, {@code e} received at {@code t0} (µs), as every schema since v1 has it: what the migration tests start from. */
    static void insertEvent(Connection c, io.unwedge.core.WedgedEvent e, long t0) throws Exception {
        try (var s = c.prepareStatement("INSERT INTO events (received_at, seqnum, card, bdf, methods, raw, task)"
                + " VALUES (?, 5208, 'card1', '0000:06:00.0', 'rebind,bus-reset', ?, 'glxgears[4242]')")) {
            s.setLong(1, t0);
            s.setBytes(2, io.unwedge.core.UeventCodec.encode(e.uevent()));
            s.executeUpdate();
        }
    }

    /** The one number {@code query} selects. */
    long count(String query) throws Exception {
        try (var c = sql(); var s = c.createStatement(); var rs = s.executeQuery(query)) {
            rs.next();
            return rs.getLong(1);
        }
    }
}
