package io.unwedge.daemon.journal;

import java.io.IOException;
import java.sql.SQLException;

/** The journal could not be opened, written or read; the message says which and why. */
public final class JournalException extends IOException {
    public JournalException(String message, Throwable cause) {
        super(message, cause);
    }

    public JournalException(String message) {
        super(message);
    }

    /** Whether SQLite said this process may not open or write the file (SQLITE_PERM, _READONLY, _CANTOPEN, _AUTH). */
    public boolean denied() {
        return getCause() instanceof SQLException e && switch (e.getErrorCode() & 0xff) {
            case 3, 8, 14, 23 -> true;
            default -> false;
        };
    }

    /**
     * The cause in an operator's words, with SQLite's name for it: {@code disk full (SQLITE_FULL)}, {@code I/O
     * error (SQLITE_IOERR)}, {@code read-only (SQLITE_READONLY)}, …; the message when SQLite gave no code.
     */
    public String reason() {
        if (getCause() instanceof SQLException e) {
            // sqlite-jdbc keeps the primary result code here (extended codes say which I/O call failed)
            String word = switch (e.getErrorCode() & 0xff) {
                case 13 -> "disk full (SQLITE_FULL)";
                case 10 -> "I/O error (SQLITE_IOERR)";
                case 8 -> "read-only (SQLITE_READONLY)";
                case 14 -> "cannot open the file (SQLITE_CANTOPEN)";
                case 23 -> "not allowed (SQLITE_AUTH)";
                case 3 -> "permission denied (SQLITE_PERM)";
                case 5 -> "busy (SQLITE_BUSY)";
                case 6 -> "locked (SQLITE_LOCKED)";
                case 7 -> "out of memory (SQLITE_NOMEM)";
                case 11 -> "corrupt (SQLITE_CORRUPT)";
                case 26 -> "not a database (SQLITE_NOTADB)";
                default -> null;
            };
            if (word != null) return word;
            if (e.getMessage() != null && e.getMessage().contains("database connection closed")) return "closed";
        }
        return getMessage();
    }
}
