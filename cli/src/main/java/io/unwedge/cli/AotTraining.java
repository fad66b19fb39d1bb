package io.unwedge.cli;

import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.journal.Journal;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.List;
import java.util.Set;

/**
 * The training run behind {@code cli/target/unwedge.aot}, the JDK 25 AOT cache {@code ./unwedge} starts the
 * command with (JEP 483/514: classes loaded and linked ahead of time, from what one run loaded).
 *
 * <p>One JVM records one cache, so the common commands run here in turn, through the same {@link Main#execute}
 * a user's run goes through: {@code sim create}, {@code users}, {@code status}, {@code history}, {@code export},
 * {@code plan}, {@code config}, the help, and the usual mistakes. Everything happens inside {@code SCRATCH}: a
 * virtual host of its own, an empty journal, a config file written here. The real {@code /sys} is never named
 * and nothing is written outside the directory; {@code users} reads the real {@code /proc}, as it always does.
 * {@code daemon} is not run: it needs a network namespace and never ends on its own.
 *
 * <p>Exits 0 when every command ended as expected, 1 otherwise (the script then throws the cache away: a
 * training that went wrong may have loaded the wrong classes), 2 on a bad argument.
 */
public final class AotTraining {

    /** One command of the training and the exit codes it may end with. */
    record Run(List<String> args, Set<Integer> expect) {
        Run {
            args = List.copyOf(args);
            expect = Set.copyOf(expect);
        }

        static Run ok(String... args) {
            return new Run(List.of(args), Set.of(ExitCode.OK.code));
        }

        static Run ending(ExitCode code, String... args) {
            return new Run(List.of(args), Set.of(code.code));
        }
    }

    private AotTraining() {}

    public static void main(String[] args) throws IOException {
        if (args.length != 1) {
            System.err.println("usage: java -cp unwedge.jar io.unwedge.cli.AotTraining SCRATCH-DIR (an empty directory)");
            System.exit(ExitCode.USAGE.code);
        }
        Path scratch = Path.of(args[0]).toAbsolutePath().normalize();
        try (var entries = Files.list(scratch)) {
            if (entries.findAny().isPresent()) {
                System.err.println("aot-training: " + scratch + " is not empty; it must be a fresh scratch directory");
                System.exit(ExitCode.USAGE.code);
            }
        }
        var failed = train(scratch);
        if (!failed.isEmpty()) System.err.println("aot-training: failed: " + String.join("; ", failed));
        System.exit(failed.isEmpty() ? 0 : 1);
    }

    /** Runs the training in {@code scratch} (an existing empty directory); returns each command that did not end as expected. */
    static List<String> train(Path scratch) throws IOException {
        Path lab = scratch.resolve("lab");
        Path state = lab.resolve("state");
        var failed = new ArrayList<String>();
        if (!check(Run.ok("sim", "create", "--root", lab.toString(), "--gpus", "2"), failed)) return failed;
        // an empty journal where the daemon of this virtual host would keep it: status, history, export and plan read it
        Files.createDirectories(state);
        Journal.open(state, InstantSource.system(), new EventLog(System.out, InstantSource.system(), EventLog.Level.WARN)).close();
        Path config = scratch.resolve("unwedge.toml");
        Files.writeString(config, "[daemon]\ndry_run = true\n");
        String sys = lab.resolve("sys").toString();
        String dev = lab.resolve("dev").toString();
        for (var run : List.of(
                Run.ok("--version"),
                Run.ok("--help"),
                Run.ok("users", "--help"),
                Run.ok("users", "--all", "--sysfs", sys, "--dev", dev),
                Run.ok("users", "card0", "--sysfs", sys, "--dev", dev, "--json"),
                Run.ok("status", "--state-dir", state.toString(), "--sysfs", sys),
                Run.ok("status", "--state-dir", state.toString(), "--sysfs", sys, "--json"),
                Run.ok("history", "--state-dir", state.toString()),
                Run.ok("history", "--state-dir", state.toString(), "--since", "1h", "--json"),
                Run.ok("export", "--state-dir", state.toString()),
                Run.ok("plan", "card0", "--sysfs", sys),
                Run.ok("plan", "0000:06:00.0", "--sysfs", sys, "--methods", "rebind,bus-reset,cold-reset", "--json"),
                Run.ok("config", "show", config.toString()),
                Run.ok("config", "check", config.toString(), "--json"),
                Run.ending(ExitCode.NO_DEVICE, "plan", "card9", "--sysfs", sys),
                Run.ending(ExitCode.USAGE, "users", "--bogus"),
                Run.ending(ExitCode.USAGE, "history", "--state-dir", scratch.resolve("none").toString()))) {
            check(run, failed);
        }
        return failed;
    }

    private static boolean check(Run run, List<String> failed) {
        int code;
        try {
            code = Main.execute(run.args().toArray(String[]::new));
        } catch (RuntimeException e) {
            code = -1;
            e.printStackTrace();
        }
        System.out.println("aot-training: unwedge " + String.join(" ", run.args()) + " -> " + code);
        if (run.expect().contains(code)) return true;
        failed.add("unwedge " + String.join(" ", run.args()) + " exited " + code + ", expected " + run.expect());
        return false;
    }
}
