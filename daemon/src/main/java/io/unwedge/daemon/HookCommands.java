package io.unwedge.daemon;

import java.time.Duration;
import java.util.List;
import java.util.Map;

/** {@link Commands} by {@link Hook}: each command time-limited, its output captured into the summary. */
final class HookCommands implements Commands {

    /** How much of a command's output goes into the log line and the journal (the end: where errors are). */
    static final int SUMMARY_OUTPUT = 512;

    private final Duration timeout;

    HookCommands(Duration timeout) {
        this.timeout = timeout;
    }

    @Override
    public Ran run(String phase, List<String> argv, Map<String, String> env) {
        return switch (new Hook(argv, timeout).run(env)) {
            case Hook.Exited(var code, var output, var truncated, var ms) ->
                    new Ran(code == 0, "exit " + code + " after " + ms + " ms" + output(output, truncated));
            case Hook.TimedOut(var output, var ms) ->
                    new Ran(false, "killed after " + ms + " ms (time limit " + timeout.toMillis() + " ms)" + output(output, false));
            case Hook.CouldNotStart(var reason) -> new Ran(false, "could not start: " + reason);
        };
    }

    private static String output(String output, boolean truncated) {
        String s = output.strip();
        if (s.isEmpty()) return "";
        if (s.length() > SUMMARY_OUTPUT) s = "…" + s.substring(s.length() - SUMMARY_OUTPUT);
        return "; output" + (truncated ? " (cut at " + Hook.OUTPUT_LIMIT + " bytes)" : "") + ": " + s.replace('\n', ' ');
    }
}
