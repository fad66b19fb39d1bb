package io.unwedge.daemon.journal;

import java.io.IOException;

/** The journal could not be opened, written or read; the message says which and why. */
public final class JournalException extends IOException {
    public JournalException(String message, Throwable cause) {
        super(message, cause);
    }

    public JournalException(String message) {
        super(message);
    }
}
