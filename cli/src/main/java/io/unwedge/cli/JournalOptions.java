package io.unwedge.cli;

import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import picocli.CommandLine.Option;

/** Where the journal is, for the commands that read it; opened read-only, so safe beside a running daemon. */
final class JournalOptions {

    @Option(names = "--state-dir", defaultValue = "/var/lib/unwedge",
            description = "the daemon's state directory, holding journal.db (default ${DEFAULT-VALUE}; a virtual host's is DIR/state)")
    Path stateDir;

    @Option(names = "--json", description = "JSON instead of text") boolean json;

    Journal open() throws JournalException {
        if (!Files.isRegularFile(stateDir.resolve(Journal.FILE))) {
            throw new Main.UsageError("no journal at " + stateDir.resolve(Journal.FILE) + " (is --state-dir the daemon's?)");
        }
        return Journal.openReadOnly(stateDir, InstantSource.system());
    }
}
