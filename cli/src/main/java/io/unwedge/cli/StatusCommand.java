package io.unwedge.cli;

import io.unwedge.core.GpuDevice;
import io.unwedge.daemon.journal.RecoveryRow;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.io.PrintStream;
import io.unwedge.daemon.journal.Journal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.temporal.ChronoUnit;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Mixin;
import picocli.CommandLine.Option;

@Command(name = "status", mixinStandardHelpOptions = true,
        description = {"The GPUs as sysfs shows them, the last recovery of each from the journal, and the recoveries left unfinished.",
                "Reads sysfs and the journal only: safe while the daemon runs."})
final class StatusCommand implements Callable<Integer> {

    @Mixin JournalOptions journal;
    @Option(names = "--sysfs", description = "sysfs root (default: the real /sys, read only)") Path sysfs;

    private final PrintStream out = System.out;

    @Override
    public Integer call() throws Exception {
        var root = new Sysfs(sysfs == null ? Sysfs.REAL_ROOT : sysfs);
        if (!Files.isDirectory(root.devices())) throw new Main.UsageError(root.root() + " has no devices/ directory: not a sysfs root");
        var topology = new Topology(root);
        var cards = topology.cards();
        var corrupt = corruptJournals(journal.stateDir());
        try (var j = journal.open()) {
            var unfinished = j.unfinished();
            var leftUnbound = j.leftUnbound().stream().filter(l -> topology.functionDir(l.bdf()).isPresent() && topology.isUnbound(l.bdf())).toList();
            var rows = new ArrayList<String>();
            var json = new ArrayList<Json.Raw>();
            for (GpuDevice d : cards) {
                Optional<RecoveryRow> last = j.history(Optional.of(d.bdf()), Optional.empty(), Optional.empty(), 1).stream().findFirst();
                rows.add(String.format(Locale.ROOT, "%-6s  %-12s  %-8s  %s", d.card(), d.bdf(), d.driver().orElse("-"),
                        last.map(r -> "#" + r.id() + " " + r.startedAt().truncatedTo(ChronoUnit.SECONDS) + " " + r.result().orElse("unfinished")
                                + r.reason().map(s -> ": " + s).orElse("")).orElse("none")));
                json.add(new Json.Raw(Json.object("card", d.card(), "bdf", d.bdf(), "driver", d.driver(),
                        "last_recovery", last.map(r -> new Json.Raw(HistoryCommand.json(r))))));
            }
            if (journal.json) {
                out.println(Json.object("devices", new Json.Raw(Json.array(json)),
                        "unfinished", new Json.Raw(Json.array(unfinished.stream().map(r -> new Json.Raw(HistoryCommand.json(r))).toList())),
                        "left_unbound", new Json.Raw(Json.array(leftUnbound.stream().map(l -> new Json.Raw(Json.object("bdf", l.bdf(),
                                "recovery", l.recoveryId(), "driver", l.driver()))).toList())),
                        "corrupt_journals", corrupt.stream().map(Path::toString).toList()));
                return ExitCode.OK.code;
            }
            for (Path p : corrupt) {
                out.println("warning: a corrupt journal was moved aside to " + p + "; history before it is there, not in " + j.file());
            }
            out.printf(Locale.ROOT, "%-6s  %-12s  %-8s  %s%n", "CARD", "DEVICE", "DRIVER", "LAST RECOVERY");
            rows.forEach(out::println);
            if (cards.isEmpty()) out.println("(no GPU with a card under " + root.root() + ")");
            for (var l : leftUnbound) {
                out.println("left unbound: " + l.bdf() + " (recovery #" + l.recoveryId() + ", driver " + l.driver().orElse("unknown") + ")");
            }
            out.println(unfinished.isEmpty() ? "no unfinished recovery" : unfinished.size() + " unfinished recovery(ies) (the daemon is in them, or died in them):");
            for (var r : unfinished) out.println("  #" + r.id() + " " + r.bdf() + " " + r.card() + " started " + r.startedAt().truncatedTo(ChronoUnit.MILLIS));
        }
        return ExitCode.OK.code;
    }

    /** The journals the daemon moved aside as corrupt ({@code journal.db.corrupt-<time>}, not their -wal/-shm), oldest first. */
    static List<Path> corruptJournals(Path stateDir) throws IOException {
        if (!Files.isDirectory(stateDir)) return List.of();
        String prefix = Journal.FILE + ".corrupt-";
        try (var files = Files.list(stateDir)) {
            return files.filter(f -> {
                String n = f.getFileName().toString();
                return n.startsWith(prefix) && !n.endsWith("-wal") && !n.endsWith("-shm") && Files.isRegularFile(f);
            }).sorted().toList();
        }
    }
}
