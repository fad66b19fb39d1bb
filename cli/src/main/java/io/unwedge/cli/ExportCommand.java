package io.unwedge.cli;

import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import io.unwedge.daemon.journal.TelemetryRow;
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
        description = {"Writes everything the journal holds as JSON lines on stdout, each with its \"kind\": event (with the raw",
                "uevent, NULs as \\u0000), recovery (with its steps), drain (one holder of a drain), restart, telemetry (each",
                "devcoredump's file, bytes, sha256, truncated), quarantine; kind by kind in that order, each oldest first.",
                "Reads the journal read-only in one snapshot: safe while the daemon runs."})
final class ExportCommand implements Callable<Integer> {


    @Mixin JournalOptions journal;
    @Option(names = "--since", paramLabel = "WHEN", description = "only rows since: an ISO-8601 instant (2026-11-25T10:00:00Z) or a time ago (90s, 15m, 1h, 2d)") String since;
    @Option(names = "--device", paramLabel = "BDF|cardN", description = "only this PCI function's rows (0000:06:00.0), or the card's (the number it had when it wedged)") String device;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        var from = since == null ? Optional.<Instant>empty() : Optional.of(HistoryCommand.since(since, Instant.now()));
        var d = HistoryCommand.Device.of(device);
        try (var j = journal.open()) {
            export(j, new Journal.ExportFilter(from, d.bdf(), d.card()), out);
        }
        if (out.checkError()) throw new IOException("cannot write the export to stdout");
        return ExitCode.OK.code;
    }

    /** Every row {@code filter} matches, one JSON line each; returns how many. */
    static long export(Journal j, Journal.ExportFilter filter, PrintStream out) throws JournalException, IOException {
        return j.export(filter, e -> out.println(line(e)));
    }

    /** One line: {@code kind} first, then the row's fields (a recovery's as `show --json` has them, without holders). */
    static String line(Journal.Exported e) {
        String json = switch (e) {
            case Journal.Exported.Event ev -> Json.object("kind", "event", "id", ev.id(), "received_at", ev.receivedAt(),
                    "seqnum", ev.seqnum(), "card", ev.card(), "bdf", ev.bdf(), "methods", ev.methods(), "task", ev.task(),
                    // journaled as the decoded event re-encoded: UTF-8 (the decoder refuses other bytes but in TASK, where they are U+FFFD)
                    "raw_uevent", new String(ev.rawUevent(), StandardCharsets.UTF_8));
            case Journal.Exported.Recovery r -> "{\"kind\": \"recovery\", " + ShowCommand.json(r.detail()).substring(1);
            case Journal.Exported.Drain d -> "{\"kind\": \"drain\", " + drainFields(d);
            case Journal.Exported.Restart x -> Json.object("kind", "restart", "recovery_id", x.row().recoveryId(), "at", x.row().at(),
                    "found", x.row().found(), "action", x.row().action(), "detail", x.row().detail());
            case Journal.Exported.Telemetry t -> "{\"kind\": \"telemetry\", " + telemetryJson(t.row()).substring(1);
            case Journal.Exported.Quarantine q -> Json.object("kind", "quarantine", "id", q.id(), "bdf", q.bdf(), "since", q.since(),
                    "reason", q.reason(), "mode", q.mode().toString(), "released_at", q.releasedAt(), "released_by", q.releasedBy());
        };
        return json.replace(",\n ", ", "); // arrays as Json writes them break lines; a JSON line may not
    }

    /** A telemetry row: the task the driver named, and the devcoredumps saved with their hashes. */
    static String telemetryJson(TelemetryRow t) {
        return Json.object("id", t.id(), "event_id", t.eventId(), "at", t.at(), "bdf", t.bdf(), "card", t.card(), "pid", t.pid(),
                "task", t.task(), "exe", t.exe(), "devcoredumps", t.devcoredumps().stream().map(Object::toString).toList(),
                "dumps", t.dumps().stream().map(ExportCommand::dumpJson).toList(), "bytes", t.bytes(), "note", t.note());
    }

    /** A saved devcoredump: the copy, its size, the SHA-256 of exactly those bytes, and whether it was cut at the limit. */
    static Json.Raw dumpJson(TelemetryRow.Devcoredump d) {
        return new Json.Raw(Json.object("file", d.file().toString(), "bytes", d.bytes(), "sha256", d.sha256(), "truncated", d.truncated()));
    }

    private static String drainFields(Journal.Exported.Drain d) {
        var r = d.row();
        String holder = ShowCommand.holderJson(r.holder());
        String row = Json.object("id", r.id(), "recovery_id", r.recoveryId(), "step_id", r.stepId(), "at", r.at());
        return row.substring(1, row.length() - 1) + ", " + holder.substring(1); // {row…, holder…}
    }
}
