package io.unwedge.cli;

import io.unwedge.core.PciAddress;
import io.unwedge.daemon.journal.RecoveryRow;
import java.io.PrintStream;
import java.time.Duration;
import java.time.Instant;
import java.time.format.DateTimeParseException;
import java.time.temporal.ChronoUnit;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.regex.Pattern;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "history", mixinStandardHelpOptions = true,
        description = {"Lists the recoveries the daemon journaled, newest first.",
                "Reads the journal read-only: safe while the daemon runs."})
final class HistoryCommand implements Callable<Integer> {

    private static final Pattern CARD = Pattern.compile("card\\d+");

    /** {@code --device}: a PCI function (0000:06:00.0) or a card (card1); neither when not given. */
    record Device(Optional<PciAddress> bdf, Optional<String> card) {
        static Device of(String device) {
            if (device == null) return new Device(Optional.empty(), Optional.empty());
            if (CARD.matcher(device).matches()) return new Device(Optional.empty(), Optional.of(device));
            return new Device(Optional.of(PciAddress.parse(device).orElseThrow(
                    () -> new Main.UsageError("--device must be a BDF like 0000:06:00.0 or a card like card1, not '" + device + "'"))), Optional.empty());
        }
    }
    private static final Pattern AGO = Pattern.compile("(\\d+)([smhd])");

    @Mixin JournalOptions journal;
    @Option(names = "--device", paramLabel = "BDF|cardN", description = "only this PCI function (0000:06:00.0) or card (the number it had when it wedged)") String device;
    @Option(names = "--since", paramLabel = "WHEN", description = "only recoveries started since: an ISO-8601 instant (2026-11-25T10:00:00Z) or a time ago (90s, 15m, 1h, 2d)") String since;
    @Option(names = "--limit", defaultValue = "50", description = "at most this many (default ${DEFAULT-VALUE})") int limit;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        var d = Device.of(device);
        if (limit < 1) throw new Main.UsageError("--limit must be at least 1");
        var from = since == null ? Optional.<Instant>empty() : Optional.of(since(since, Instant.now()));
        try (var j = journal.open()) {
            var rows = j.history(d.bdf(), d.card(), from, limit);
            if (journal.json) {
                out.println(Json.array(rows.stream().map(r -> new Json.Raw(json(r))).toList()));
                return ExitCode.OK.code;
            }
            if (rows.isEmpty()) {
                out.println("no recoveries in " + j.file() + (device != null || since != null ? " matching the filters" : ""));
                return ExitCode.OK.code;
            }
            out.printf(Locale.ROOT, "%5s  %-24s  %-12s  %-6s  %-9s  %-13s  %9s  %s%n", "ID", "STARTED", "DEVICE", "CARD", "METHOD", "RESULT", "TOOK", "REASON");
            for (var r : rows) {
                out.printf(Locale.ROOT, "%5d  %-24s  %-12s  %-6s  %-9s  %-13s  %9s  %s%n", r.id(), r.startedAt().truncatedTo(ChronoUnit.MILLIS),
                        r.bdf(), r.card(), r.method().orElse("-"), r.result().orElse("unfinished"),
                        r.duration().map(HistoryCommand::ms).orElse("-"),
                        r.escalatedFrom().map(previous -> "(escalated from " + previous + ") ").orElse("") + r.reason().orElse(""));
            }
        }
        return ExitCode.OK.code;
    }

    /** An ISO-8601 instant, or an amount of time before {@code now}. */
    static Instant since(String s, Instant now) {
        String usage = "--since must be an ISO-8601 instant like 2026-11-25T10:00:00Z or a time ago like 1h, not '" + s + "'";
        Instant at;
        var m = AGO.matcher(s);
        try {
            if (m.matches()) {
                long n = Long.parseLong(m.group(1));
                at = now.minus(switch (m.group(2)) {
                    case "s" -> Duration.ofSeconds(n);
                    case "m" -> Duration.ofMinutes(n);
                    case "h" -> Duration.ofHours(n);
                    default -> Duration.ofDays(n);
                });
            } else {
                at = Instant.parse(s);
            }
        } catch (DateTimeParseException | NumberFormatException e) {
            throw new Main.UsageError(usage);
        } catch (java.time.DateTimeException | ArithmeticException e) {
            throw new Main.UsageError("--since '" + s + "' is out of range");
        }
        // the journal counts microseconds since 1970 in a long: about ±292,000 years
        if (at.isBefore(EARLIEST) || at.isAfter(LATEST)) throw new Main.UsageError("--since '" + s + "' is out of range");
        return at;
    }

    private static final Instant EARLIEST = Instant.EPOCH.minus(Duration.ofDays(365L * 100_000)), LATEST = Instant.EPOCH.plus(Duration.ofDays(365L * 100_000));

    static String ms(Duration d) {
        return String.format(Locale.ROOT, "%.1f ms", d.toNanos() / 1e6);
    }

    static String json(RecoveryRow r) {
        return Json.object("id", r.id(), "event_id", r.eventId(), "seqnum", r.seqnum(), "bdf", r.bdf(), "card", r.card(),
                "methods", r.methods(), "task", r.task(), "received_at", r.receivedAt(), "started_at", r.startedAt(),
                "ended_at", r.endedAt(), "duration_us", r.duration().map(d -> d.toNanos() / 1_000), "method", r.method(),
                "result", r.result(), "reason", r.reason(), "card_after", r.cardAfter(), "latency_us", r.latencyMicros(),
                "escalated_from", r.escalatedFrom());
    }
}
