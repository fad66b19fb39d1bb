package io.unwedge.cli;

import java.nio.file.AccessDeniedException;
import java.util.Optional;
import picocli.CommandLine;
import picocli.CommandLine.Command;

/** {@code unwedge}: the daemon, the virtual GPU host and the tools, one command. */
@Command(name = "unwedge", mixinStandardHelpOptions = true, versionProvider = Main.Version.class,
        description = "Recovers wedged Linux DRM GPUs: hears the kernel's WEDGED uevents, rebinds, verifies.",
        subcommands = {DemoCommand.class, DaemonCommand.class, UsersCommand.class, HistoryCommand.class, ShowCommand.class, StatusCommand.class, ExportCommand.class, ConfigCommand.class,
                PlanCommand.class, ReleaseCommand.class, HandleUeventCommand.class,
                SimCommand.class, CommandLine.HelpCommand.class},
        footer = {"%nSafety: only `unwedge daemon` without --sysfs touches the real /sys;",
                "everything else works on a virtual host made by `unwedge sim create`."})
public final class Main implements Runnable {

    @CommandLine.Spec
    CommandLine.Model.CommandSpec spec;

    @Override
    public void run() {
        throw new CommandLine.ParameterException(spec.commandLine(), "a command is needed");
    }

    public static void main(String[] args) {
        // UTF-8 whatever the locale: under LANG=C the JVM would write a task's or a path's other characters as '?',
        // and `export` is an archive (the journal holds UTF-8, and so does every line written of it)
        System.setOut(utf8(java.io.FileDescriptor.out));
        System.setErr(utf8(java.io.FileDescriptor.err));
        System.exit(execute(args));
    }

    private static java.io.PrintStream utf8(java.io.FileDescriptor fd) {
        return new java.io.PrintStream(new java.io.BufferedOutputStream(new java.io.FileOutputStream(fd), 8192), true,
                java.nio.charset.StandardCharsets.UTF_8);
    }

    public static int execute(String... args) {
        // udev runs handle-uevent for every wedge, in a cold JVM: its plain options are read without picocli,
        // whose reflection over the command tree costs more than everything else it does (docs/systemd.md, "udev");
        // --help, or anything it does not know, goes the usual way
        if (args.length > 0 && args[0].equals("handle-uevent")) {
            var rest = java.util.Arrays.copyOfRange(args, 1, args.length);
            var plain = HandleUeventCommand.parse(rest);
            if (plain.isEmpty()) return command("handle-uevent").orElseThrow().execute(rest);
            try {
                return plain.get().call();
            } catch (Exception e) {
                return failed(e, new java.io.PrintWriter(System.err, true));
            }
        }
        // a command builds only its own picocli model: the whole tree's reflection is most of a command's start
        // (unwedge --version: 356 ms, the JVM alone 66 ms), and the daemon would keep it for months (2 MB RSS)
        if (args.length > 0) {
            var one = command(args[0]);
            if (one.isPresent()) return one.get().execute(java.util.Arrays.copyOfRange(args, 1, args.length));
        }
        return commandLine().execute(args);
    }

    /**
     * The command named {@code name} alone, as {@code unwedge NAME}, with the shared exit codes and error
     * handling; {@code help} needs the whole tree, so it is not one of them.
     */
    static Optional<CommandLine> command(String name) {
        for (var c : Main.class.getAnnotation(Command.class).subcommands()) {
            var a = c.getAnnotation(Command.class);
            if (a.name().equals(name) && c != CommandLine.HelpCommand.class) {
                return Optional.of(shared(new CommandLine(c).setCommandName("unwedge " + name)));
            }
        }
        return Optional.empty();
    }

    /** The command line with the exit codes and error handling every command shares (tests set its out and err). */
    static CommandLine commandLine() {
        return shared(new CommandLine(new Main()));
    }

    private static CommandLine shared(CommandLine cl) {
        cl.getCommandSpec().usageMessage().footer(concat(cl.getCommandSpec().usageMessage().footer(), ExitCode.helpLines()));
        cl.setExitCodeExceptionMapper(Main::exitCode);
        cl.setExecutionExceptionHandler((e, line, parse) -> failed(e, line.getErr()));
        cl.setParameterExceptionHandler((e, a) -> {
            e.getCommandLine().getErr().println("unwedge: " + e.getMessage());
            e.getCommandLine().getErr().println("Try `" + e.getCommandLine().getCommandSpec().qualifiedName() + " --help`.");
            return ExitCode.USAGE.code;
        });
        return cl;
    }

    private static int exitCode(Throwable e) {
        return switch (e) {
            case AccessDeniedException a -> ExitCode.PERMISSION.code;
            // a journal that cannot be opened for this user, or read at all (corrupt, another schema): no bug of ours
            case io.unwedge.daemon.journal.JournalException j -> j.denied() ? ExitCode.PERMISSION.code : ExitCode.FAILED.code;
            case UsageError u -> ExitCode.USAGE.code;
            case Refused r -> ExitCode.REFUSED.code;
            case NoSuchDevice n -> ExitCode.NO_DEVICE.code;
            case IllegalArgumentException i -> ExitCode.USAGE.code;
            default -> ExitCode.INTERNAL.code;
        };
    }

    /** A command's failure, said in one line (with the trace when it is a bug); its exit code. */
    static int failed(Exception e, java.io.PrintWriter err) {
        String msg = e.getMessage() == null ? e.toString() : e.getMessage();
        err.println("unwedge: " + msg);
        if (!(e instanceof java.io.IOException || e instanceof UsageError || e instanceof Refused
                || e instanceof NoSuchDevice || e instanceof IllegalArgumentException)) {
            e.printStackTrace(err);
        }
        return exitCode(e);
    }

    private static String[] concat(String[] a, String[] b) {
        var out = java.util.Arrays.copyOf(a, a.length + b.length);
        System.arraycopy(b, 0, out, a.length, b.length);
        return out;
    }

    /** Bad input on the command line, said plainly. */
    static final class UsageError extends RuntimeException {
        UsageError(String m) {
            super(m);
        }
    }

    /** A safety check said no. */
    static final class Refused extends RuntimeException {
        Refused(String m) {
            super(m);
        }
    }

    static final class NoSuchDevice extends RuntimeException {
        NoSuchDevice(String m) {
            super(m);
        }
    }

    static final class Version implements CommandLine.IVersionProvider {
        @Override
        public String[] getVersion() {
            return new String[] {"unwedge " + number() + " (Java " + Runtime.version() + ")"};
        }

        /** The jar's Implementation-Version, else the package's (jpackage's launcher sets jpackage.app-version), else 0.1.0-dev. */
        static String number() {
            String v = Main.class.getPackage().getImplementationVersion();
            if (v == null) v = System.getProperty("jpackage.app-version");
            return v == null ? "0.1.0-dev" : v;
        }
    }
}
