package io.unwedge.cli;

import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "export", mixinStandardHelpOptions = true,
        description = {"Writes the journal as JSON lines on stdout: one object per recovery, oldest first, with its event",
                "(and the raw uevent, NULs as \\u0000), its steps and its restart rows.",
                "Reads the journal read-only in one snapshot: safe while the daemon runs."})
final class ExportCommand implements Callable<Integer> {

    @Mixin JournalOptions journal;
    @Option(names = "--since", paramLabel = "WHEN", description = "only recoveries started since: an ISO-8601 instant (2026-11-25T10:00:00Z) or a time ago (90s, 15m, 1h, 2d)") String since;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        var from = since == null ? Optional.<Instant>empty() : Optional.of(HistoryCommand.since(since, Instant.now()));
        try (var j = journal.open()) {
            export(j, from, out);
        }
        if (out.checkError()) throw new IOException("cannot write the export to stdout");
        return ExitCode.OK.code;
    }

    /** Every recovery since {@code from} as one JSON line each; returns how many. */
    static long export(Journal j, Optional<Instant> from, PrintStream out) throws JournalException, IOException {
        return j.export(from, e -> out.println(line(e)));
    }

    /** One line: the recovery as `history --json` has it, then its event's raw uevent, its steps, its restarts. */
    static String line(Journal.Exported e) {
        String detail = ShowCommand.json(e.detail()); // {recovery..., "steps": [...]}
        var restarts = e.restarts().stream().map(r -> new Json.Raw(Json.object("at", r.at(), "found", r.found(), "action", r.action(),
                "detail", r.detail()))).toList();
        // the kernel's bytes are UTF-8 (the decoder refused anything else before the event was journaled)
        String raw = new String(e.rawUevent(), StandardCharsets.UTF_8);
        String tail = ", \"raw_uevent\": " + Json.quote(raw) + ", \"restarts\": " + Json.array(restarts) + "}";
        return (detail.substring(0, detail.length() - 1) + tail).replace(",\n ", ", ");
    }
}
