package io.unwedge.cli;

import io.unwedge.daemon.journal.Journal;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import picocli.CommandLine.Option;

/** Where the journal is, for the commands that read it; opened read-only, so safe beside a running daemon. */
final class JournalOptions {

    @Option(names = "--state-dir",
            description = "the daemon's state directory, holding journal.db (default: [daemon] state_dir of /etc/unwedge/unwedge.toml, "
                    + "else /var/lib/unwedge; a virtual host's is DIR/state)")
    Path stateDir;

    @Option(names = "--json", description = "JSON instead of text") boolean json;

    /** {@code --state-dir}, else the daemon's, as its config file says (read once). */
    Path stateDir() throws java.io.IOException {
        if (stateDir == null) stateDir = DaemonCommand.loadConfig(null, null).daemon().stateDir();
        return stateDir;
    }

    Journal open() throws java.io.IOException {
        Path dir = stateDir();
        Path file = dir.resolve(Journal.FILE);
        // a directory or file this user may not read looks like "no such file" to a stat: tell them apart
        if (Files.isDirectory(dir) && !Files.isExecutable(dir)) {
            throw new java.nio.file.AccessDeniedException(dir.toString(), null, "the state directory cannot be searched (the daemon's is root's alone)");
        }
        if (!Files.exists(file)) throw new Main.UsageError("no journal at " + file + " (is --state-dir the daemon's?)");
        if (!Files.isReadable(file)) throw new java.nio.file.AccessDeniedException(file.toString(), null, "the journal cannot be read");
        return Journal.openReadOnly(dir, InstantSource.system());
    }
}
