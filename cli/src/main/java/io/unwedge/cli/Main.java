package io.unwedge.cli;

import java.nio.file.AccessDeniedException;
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
        System.exit(execute(args));
    }

    public static int execute(String... args) {
        // udev runs handle-uevent for every wedge, in a cold JVM: its plain options are read without picocli,
        // whose reflection over the command tree costs more than everything else it does (docs/systemd.md, "udev");
        // --help, or anything it does not know, goes the usual way
        if (args.length > 0 && args[0].equals("handle-uevent")) {
            var rest = java.util.Arrays.copyOfRange(args, 1, args.length);
            var plain = HandleUeventCommand.parse(rest);
            if (plain.isEmpty()) return handleUevent().execute(rest);
            try {
                return plain.get().call();
            } catch (Exception e) {
                return failed(e, new java.io.PrintWriter(System.err, true));
            }
        }
        // the daemon lives for months: the whole tree's picocli model (every command's reflection, 2 MB of
        // heap and metaspace measured) would stay with it for nothing
        if (args.length > 0 && args[0].equals("daemon")) return daemon().execute(java.util.Arrays.copyOfRange(args, 1, args.length));
        return commandLine().execute(args);
    }

    /** The command line with the exit codes and error handling every command shares (tests set its out and err). */
    static CommandLine commandLine() {
        return shared(new CommandLine(new Main()));
    }

    /** {@code unwedge daemon} alone, with the same exit codes and error handling. */
    static CommandLine daemon() {
        return shared(new CommandLine(new DaemonCommand()).setCommandName("unwedge daemon"));
    }

    /** {@code unwedge handle-uevent} alone, with the same exit codes and error handling. */
    static CommandLine handleUevent() {
        return shared(new CommandLine(new HandleUeventCommand()).setCommandName("unwedge handle-uevent"));
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
