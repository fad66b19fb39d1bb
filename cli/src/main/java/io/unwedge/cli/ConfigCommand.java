package io.unwedge.cli;

import io.unwedge.daemon.config.Config;
import io.unwedge.daemon.config.ConfigException;
import io.unwedge.daemon.config.Toml;
import java.io.IOException;
import java.io.PrintWriter;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;

@Command(name = "config", mixinStandardHelpOptions = true,
        description = {"Checks or shows the daemon's config file, /etc/unwedge/unwedge.toml (docs/configuration.md).",
                "Reads the file only: safe while the daemon runs."},
        subcommands = {ConfigCommand.Check.class, ConfigCommand.Show.class})
final class ConfigCommand implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "config needs a command: check or show");
    }

    /** The file and what reading it gave: a config (empty when the default file is absent), or its problems. */
    private record Read(Path file, boolean found, Optional<Config> config, Optional<ConfigException> problems) {}

    /**
     * Reads {@code named}, or the default file. The default file absent is the defaults (as the daemon takes
     * it); a named one absent is a usage error; unreadable is a permission error.
     */
    private static Read read(Path named) throws IOException {
        Path file = named == null ? Config.DEFAULT_FILE : named;
        try {
            return new Read(file, true, Optional.of(Config.load(file)), Optional.empty());
        } catch (ConfigException e) {
            return new Read(file, true, Optional.empty(), Optional.of(e));
        } catch (NoSuchFileException e) {
            if (named != null) throw new Main.UsageError(file + ": no such file");
            return new Read(file, false, Optional.of(Config.DEFAULT), Optional.empty());
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(file.toString(), null, "permission denied");
        } catch (IOException e) {
            throw new Main.UsageError(file + ": cannot read: " + e.getMessage());
        }
    }

    /** Every problem, {@code FILE:LINE: message} (text, on stderr) or one JSON object (stdout); the usage exit code. */
    private static int report(ConfigException e, boolean json, CommandLine cl) {
        if (json) {
            var items = new ArrayList<Json.Raw>();
            for (var p : e.problems()) items.add(new Json.Raw(Json.object("line", p.line(), "message", p.message())));
            cl.getOut().println(Json.object("file", e.source(), "ok", false, "problems", new Json.Raw(Json.array(items))));
        } else {
            for (var p : e.problems()) cl.getErr().println(p.format(e.source()));
            cl.getErr().println(e.problems().size() + (e.problems().size() == 1 ? " problem" : " problems") + " in " + e.source());
        }
        return ExitCode.USAGE.code;
    }

    /** A TOML tree as a JSON object: tables nest, values keep their kind. */
    static String json(Toml.Table t) {
        var kv = new ArrayList<Object>();
        t.entries().forEach((k, v) -> {
            kv.add(k);
            kv.add(jsonValue(v));
        });
        return Json.object(kv.toArray());
    }

    private static Object jsonValue(Toml.Node n) {
        return switch (n) {
            case Toml.Table t -> new Json.Raw(json(t));
            case Toml.Str s -> s.value();
            case Toml.Int i -> i.value();
            case Toml.Bool b -> b.value();
            case Toml.Arr a -> a.items().stream().map(ConfigCommand::jsonValue).toList();
        };
    }

    @Command(name = "check", mixinStandardHelpOptions = true,
            description = {"Checks a config file: \"FILE: ok\" and the settings that differ from the defaults,",
                    "or every problem in it as FILE:LINE: message, and the usage exit code."})
    static final class Check implements Callable<Integer> {
        @Parameters(arity = "0..1", paramLabel = "FILE", description = "the file (default /etc/unwedge/unwedge.toml)") Path file;
        @Option(names = "--json", description = "one JSON object: file, ok, and differs or problems") boolean json;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            var cl = spec.commandLine();
            PrintWriter out = cl.getOut();
            var r = read(file);
            if (r.problems().isPresent()) return report(r.problems().get(), json, cl);
            var differs = r.config().orElseThrow().toTable().minus(Config.DEFAULT.toTable());
            if (json) {
                out.println(Json.object("file", r.file().toString(), "ok", true, "found", r.found(), "differs", new Json.Raw(json(differs))));
            } else if (!r.found()) {
                out.println(r.file() + ": not found; the daemon runs with the defaults");
            } else {
                out.println(r.file() + ": ok");
                String toml = Toml.write(differs);
                out.print(toml.isEmpty() ? "every setting is at its default\n" : "settings that differ from the defaults:\n" + toml);
            }
            out.flush();
            return ExitCode.OK.code;
        }
    }

    @Command(name = "show", mixinStandardHelpOptions = true,
            description = {"Prints the whole effective config, defaults filled in, as TOML (which reads back the same) or JSON."})
    static final class Show implements Callable<Integer> {
        @Parameters(arity = "0..1", paramLabel = "FILE", description = "the file (default /etc/unwedge/unwedge.toml)") Path file;
        @Option(names = "--json", description = "JSON instead of TOML: one object, a member per table") boolean json;
        @CommandLine.Spec CommandLine.Model.CommandSpec spec;

        @Override
        public Integer call() throws IOException {
            var cl = spec.commandLine();
            PrintWriter out = cl.getOut();
            var r = read(file);
            if (r.problems().isPresent()) return report(r.problems().get(), json, cl);
            var config = r.config().orElseThrow();
            if (json) {
                out.println(json(config.toTable()));
            } else {
                out.println("# " + (r.found() ? "the effective config of " + r.file() + ", defaults filled in"
                        : r.file() + " not found: the defaults"));
                out.println();
                out.print(config.toToml());
            }
            out.flush();
            return ExitCode.OK.code;
        }
    }
}
