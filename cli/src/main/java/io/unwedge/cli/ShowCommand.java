package io.unwedge.cli;

import io.unwedge.core.Step;
import io.unwedge.daemon.journal.DrainRow;
import io.unwedge.daemon.journal.RecoveryDetail;
import io.unwedge.daemon.journal.StepRow;
import io.unwedge.daemon.journal.TelemetryRow;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Parameters;

@Command(name = "show", mixinStandardHelpOptions = true,
        description = {"Shows one journaled recovery: its event, and a timeline of its steps with their durations.",
                "With the wedge's telemetry (the task the driver named, devcoredumps saved with their SHA-256) and,",
                "under each drain, who held the device and how each ended.",
                "Reads the journal read-only: safe while the daemon runs."})
final class ShowCommand implements Callable<Integer> {

    /** Where a holder line starts: under the step's name, past the timeline's offset column. */
    private static final int HOLDER_INDENT = 20;

    @Mixin JournalOptions journal;
    @Parameters(paramLabel = "RECOVERY-ID", description = "as `unwedge history` lists it") long id;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        try (var j = journal.open()) {
            var detail = j.show(id).orElseThrow(() -> new Main.UsageError("no recovery " + id + " in " + j.file()));
            var restarts = j.restarts(id);
            var drains = j.drains(id);
            var telemetry = j.telemetryOf(detail.recovery().eventId());
            if (journal.json) {
                String d = json(detail, drains);
                out.println(d.substring(0, d.length() - 1) + ", \"restarts\": " + Json.array(restarts.stream()
                        .map(x -> new Json.Raw(Json.object("at", x.at(), "found", x.found(), "action", x.action(), "detail", x.detail()))).toList())
                        + ", \"telemetry\": " + Json.array(telemetry.stream().map(t -> new Json.Raw(ExportCommand.telemetryJson(t))).toList()) + "}");
            } else {
                out.println(text(detail, restarts, drains, telemetry));
            }
        }
        return ExitCode.OK.code;
    }

    /** The recovery as `history --json` has it, with its steps. */
    static String json(RecoveryDetail d) {
        var steps = d.steps().stream().map(s -> new Json.Raw(stepJson(s))).toList();
        String recovery = HistoryCommand.json(d.recovery());
        return recovery.substring(0, recovery.length() - 1) + ", \"steps\": " + Json.array(steps) + "}";
    }

    /**
     * As {@link #json(RecoveryDetail)}, each drain step with its {@code holders}, and the holders of a drain
     * outside a step (the quarantine's) in {@code holders_outside_steps}.
     */
    static String json(RecoveryDetail d, List<DrainRow> drains) {
        var steps = d.steps().stream().map(s -> {
            String step = stepJson(s);
            if (s.step() != Step.DRAIN) return new Json.Raw(step);
            var holders = drains.stream().filter(x -> x.stepId().equals(Optional.of(s.id()))).map(x -> new Json.Raw(holderJson(x.holder()))).toList();
            return new Json.Raw(step.substring(0, step.length() - 1) + ", \"holders\": " + Json.array(holders) + "}");
        }).toList();
        var outside = drains.stream().filter(x -> x.stepId().isEmpty()).map(x -> new Json.Raw(holderJson(x.holder()))).toList();
        String recovery = HistoryCommand.json(d.recovery());
        return recovery.substring(0, recovery.length() - 1) + ", \"steps\": " + Json.array(steps)
                + ", \"holders_outside_steps\": " + Json.array(outside) + "}";
    }

    private static String stepJson(StepRow s) {
        return Json.object("id", s.id(), "step", s.step(), "intent_at", s.intentAt(),
                "started_at", s.startedAt(), "ended_at", s.endedAt(), "duration_us", s.duration().map(x -> x.toNanos() / 1_000),
                "outcome", s.outcome(), "detail", s.detail());
    }

    /** One holder of a drain: who, what it held, the signal sent, how it ended. */
    static String holderJson(DrainRow.Holder h) {
        return Json.object("pid", h.pid(), "comm", h.comm(), "uid", h.uid(), "unit", h.unit(), "container", h.container(),
                "fds", h.fds(), "maps", h.maps(), "clients", h.clients(), "signal", h.signalWord(), "outcome", h.outcome().toString(),
                "exit_ms", h.exitMillis());
    }

    /** {@code 4242 glxgears (uid 1000, session-2.scope): 1 fd, 1 mapping, 1 client; SIGTERM, exited after 37 ms} */
    static String holderText(DrainRow.Holder h) {
        var where = new ArrayList<String>();
        h.uid().ifPresent(u -> where.add("uid " + u));
        h.container().ifPresentOrElse(c -> where.add("container " + c.substring(0, Math.min(12, c.length()))), () -> h.unit().ifPresent(where::add));
        return h.pid() + " " + h.comm() + (where.isEmpty() ? "" : " (" + String.join(", ", where) + ")") + ": "
                + h.fds() + " fd(s), " + h.maps() + " mapping(s), " + h.clients() + " client(s); " + h.signalWord() + ", " + h.outcome()
                + h.exitMillis().map(ms -> " after " + ms + " ms").orElse("");
    }

    /**
     * {@code   telemetry  task glxgears (pid 4242, /usr/bin/glxgears): 1 devcoredump, 5120 bytes}, then a line per dump
     * with its SHA-256, to check a copy handed on later against.
     */
    static String telemetryText(TelemetryRow t) {
        var who = new ArrayList<String>();
        t.pid().ifPresent(p -> who.add("pid " + p));
        t.exe().ifPresent(who::add);
        var b = new StringBuilder("  telemetry  ").append(t.task().map(x -> "task " + x + (who.isEmpty() ? "" : " (" + String.join(", ", who) + ")"))
                .orElse("no task named")).append(": ").append(t.devcoredumps().size()).append(" devcoredump(s), ").append(t.bytes()).append(" bytes")
                .append(t.note().isEmpty() ? "" : "; " + t.note()).append('\n');
        if (t.dumps().isEmpty()) {
            for (var f : t.devcoredumps()) b.append(" ".repeat(13)).append("dump ").append(f).append('\n'); // journaled before hashes (v5)
        }
        for (var x : t.dumps()) {
            b.append(" ".repeat(13)).append("dump ").append(x.file()).append(": ").append(x.bytes()).append(" bytes, sha256 ").append(x.sha256())
                    .append(x.truncated() ? ", truncated at the size limit" : "").append('\n');
        }
        return b.toString();
    }

    /** The event, then every journaled moment as an offset from the event's arrival. */
    static String text(RecoveryDetail d, List<io.unwedge.daemon.journal.Journal.RestartRow> restarts, List<DrainRow> drains,
                       List<TelemetryRow> telemetry) {
        var r = d.recovery();
        var b = new StringBuilder();
        b.append("recovery ").append(r.id()).append(": ").append(r.card()).append(' ').append(r.bdf())
                .append(", ").append(r.method().orElse("no method")).append(", ").append(r.result().orElse("unfinished (no end journaled)"))
                .append(r.duration().map(x -> " in " + HistoryCommand.ms(x)).orElse("")).append('\n');
        b.append("  event      seqnum ").append(r.seqnum()).append(", WEDGED=").append(r.methods())
                .append(r.task().map(t -> ", task " + t).orElse("")).append(", received ").append(r.receivedAt().truncatedTo(ChronoUnit.MICROS)).append('\n');
        r.reason().ifPresent(x -> b.append("  reason     ").append(x).append('\n'));
        r.cardAfter().ifPresent(x -> b.append("  card after ").append(x).append('\n'));
        r.latencyMicros().ifPresent(x -> b.append("  latency    ").append(x).append(" us from the kernel's event to the unbind write\n"));
        r.escalatedFrom().ifPresent(x -> b.append("  escalated  from recovery ").append(x).append(" (the same wedge; its method failed)\n"));
        for (var t : telemetry) b.append(telemetryText(t));

        record Moment(Instant at, String what) {}
        var moments = new ArrayList<Moment>(List.of(new Moment(r.receivedAt(), "event received"), new Moment(r.startedAt(), "recovery started")));
        for (StepRow s : d.steps()) {
            moments.add(new Moment(s.intentAt(), s.step() + " intent"));
            s.startedAt().ifPresent(t -> moments.add(new Moment(t, s.step() + " started (intent durable after "
                    + HistoryCommand.ms(Duration.between(s.intentAt(), t)) + ")")));
            // a drain's holders under its end: who held the device, what was sent, how each went
            String holders = String.join("", drains.stream().filter(x -> x.stepId().equals(Optional.of(s.id())))
                    .map(x -> "\n" + " ".repeat(HOLDER_INDENT) + "holder " + holderText(x.holder())).toList());
            s.endedAt().ifPresent(t -> moments.add(new Moment(t, s.step() + " ended " + s.outcome().orElse("?")
                    + s.duration().map(x -> " after " + HistoryCommand.ms(x)).orElse("") + s.detail().map(x -> ": " + x).orElse("") + holders)));
            if (s.endedAt().isEmpty()) moments.add(new Moment(s.intentAt(), s.step() + " has no end journaled: the daemon stopped during it"));
        }
        for (var x : restarts) {
            moments.add(new Moment(x.at(), "daemon restarted: found " + x.found() + ", " + x.action() + ": " + x.detail()));
        }
        for (var x : drains) {
            if (x.stepId().isEmpty()) moments.add(new Moment(x.at(), "drained before the quarantine's unbind: holder " + holderText(x.holder())));
        }
        r.endedAt().ifPresent(t -> moments.add(new Moment(t, "recovery ended " + r.result().orElse(""))));
        moments.sort(Comparator.comparing(Moment::at)); // stable: equal instants keep the order above
        b.append("\n  timeline from the event's arrival\n");
        for (var m : moments) {
            b.append(String.format(Locale.ROOT, "  %+12.3f ms  %s%n", Duration.between(r.receivedAt(), m.at()).toNanos() / 1e6, m.what()));
        }
        return b.toString().stripTrailing();
    }
}
