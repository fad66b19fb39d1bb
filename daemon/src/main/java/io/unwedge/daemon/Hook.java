package io.unwedge.daemon;

import io.unwedge.core.WedgedEvent;
import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Pattern;

/**
 * An operator's hook: a program unwedge runs at a point of a wedge's handling (before and after a recovery,
 * for {@code unknown}, {@code vendor-specific} and {@code none} wedges, on a repeat offence), with what it
 * knows in {@code UNWEDGE_*} variables ({@link #environment}).
 *
 * <h2>How it runs</h2>
 * <ul>
 *   <li>argv as given, no shell; the command is an absolute path (a root daemon does not search a PATH);
 *       working directory {@code /}; stdin {@code /dev/null}.</li>
 *   <li>The environment is built from nothing: {@code PATH=/usr/sbin:/usr/bin:/sbin:/bin}, {@code LANG=C.UTF-8},
 *       then the caller's variables. Nothing of the daemon's own environment leaks in.</li>
 *   <li>stdout and stderr go to one pipe, drained by its own virtual thread for as long as it is open, so a
 *       chatty hook never blocks on a full pipe. The first {@link #OUTPUT_LIMIT} bytes are kept; what was cut
 *       is said at the end of the output ({@code [unwedge: N more bytes cut]}).</li>
 *   <li>A time limit. On expiry the hook and every descendant it has at that moment (a snapshot of
 *       {@link ProcessHandle#descendants()}, taken before anyone is signalled: a killed parent's children are
 *       re-parented and could no longer be found) get SIGTERM, and whoever is left after {@link #KILL_GRACE}
 *       SIGKILL. Java cannot put the hook in its own process group, so this is the whole tree as it was, not a
 *       {@code kill(-pgid)}; a process that escaped the tree (double fork) is out of reach.</li>
 *   <li>A hook that exits and leaves a process running that holds the pipe is not waited for beyond
 *       {@link #KILL_GRACE}: the outcome comes then, saying the output was cut short, and that process is left
 *       alone (once the hook has exited it is not ours to kill). Until it lets go of the pipe, the drain thread
 *       (and the JDK's reaper thread for the hook, which waits for the drain's read) stay blocked on it: the
 *       price of not owning the pipe's descriptor.</li>
 * </ul>
 * Hooks never throw: every end is an {@link Outcome}. {@link #start} runs one on a virtual thread.
 */
public record Hook(List<String> argv, Duration timeout, Duration killGrace) {

    /** Output kept per run: enough for any diagnostic a hook prints, bounded whatever it does. */
    public static final int OUTPUT_LIMIT = 64 * 1024;

    /** How long a SIGTERMed hook tree has before SIGKILL, and a finished hook's output before it is not waited for. */
    public static final Duration KILL_GRACE = Duration.ofSeconds(2);

    static final String SAFE_PATH = "/usr/sbin:/usr/bin:/sbin:/bin";

    private static final Pattern NAME = Pattern.compile("[A-Za-z_][A-Za-z0-9_]*");
    private static final File DEV_NULL = new File("/dev/null");

    public Hook {
        argv = List.copyOf(argv);
        if (argv.isEmpty()) throw new IllegalArgumentException("a hook needs a command");
        for (String a : argv) {
            if (a.indexOf('\0') >= 0) throw new IllegalArgumentException("a hook argument contains a NUL byte: " + a.replace('\0', '?'));
        }
        if (!argv.getFirst().startsWith("/")) {
            throw new IllegalArgumentException("a hook command must be an absolute path, not '" + argv.getFirst() + "'");
        }
        Objects.requireNonNull(timeout, "timeout");
        if (timeout.isNegative() || timeout.isZero()) throw new IllegalArgumentException("a hook's time limit must be positive: " + timeout);
        Objects.requireNonNull(killGrace, "killGrace");
        if (killGrace.isNegative()) throw new IllegalArgumentException("the kill grace must not be negative: " + killGrace);
    }

    public Hook(List<String> argv, Duration timeout) {
        this(argv, timeout, KILL_GRACE);
    }

    /** How a hook run ended. */
    public sealed interface Outcome permits Exited, TimedOut, CouldNotStart {}

    /**
     * It exited by itself (a code above 128 is a signal: 128 + its number). {@code output} is stdout and stderr
     * interleaved as written, decoded as UTF-8; when {@code truncated}, it ends with how many bytes were cut.
     */
    public record Exited(int code, String output, boolean truncated, long millis) implements Outcome {}

    /** It ran past its time limit (or the daemon stopped waiting for it) and was killed, with every descendant it had. */
    public record TimedOut(String output, long millis) implements Outcome {}

    /** It never ran; {@code reason} names the command and why. */
    public record CouldNotStart(String reason) implements Outcome {}

    /** Runs the hook on a new virtual thread. */
    public CompletableFuture<Outcome> start(Map<String, String> env) {
        var done = new CompletableFuture<Outcome>();
        Thread.ofVirtual().name("unwedge-hook").start(() -> done.complete(run(env)));
        return done;
    }

    /** Runs the hook on this thread, to its end or its time limit. */
    public Outcome run(Map<String, String> env) {
        var environment = environmentFor(env);
        String command = argv.getFirst();
        Path exe = Path.of(command);
        if (!Files.exists(exe)) return new CouldNotStart("cannot run hook " + command + ": no such file");
        if (!Files.isRegularFile(exe)) return new CouldNotStart("cannot run hook " + command + ": not a regular file");
        if (!Files.isExecutable(exe)) return new CouldNotStart("cannot run hook " + command + ": not executable");

        var pb = new ProcessBuilder(argv).directory(new File("/")).redirectInput(ProcessBuilder.Redirect.from(DEV_NULL))
                .redirectErrorStream(true);
        pb.environment().clear();
        pb.environment().putAll(environment);
        long started = System.nanoTime();
        Process p;
        try {
            p = pb.start();
        } catch (IOException e) {
            return new CouldNotStart("cannot run hook " + command + ": " + e.getMessage());
        }
        var output = new Output(p.getInputStream());
        var drain = Thread.ofVirtual().name("unwedge-hook-output").start(output::drain);
        boolean exited;
        try {
            exited = p.waitFor(timeout.toNanos(), TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            // the daemon is stopping: the hook must not outlive the wait for it
            Thread.currentThread().interrupt();
            exited = false;
        }
        if (!exited) killTree(p);
        awaitDrain(drain);
        long millis = (System.nanoTime() - started) / 1_000_000;
        if (!exited) return new TimedOut(output.text(drain.isAlive()), millis);
        return new Exited(p.exitValue(), output.text(drain.isAlive()), output.truncated(), millis);
    }

    /** The minimal environment, then the caller's variables; a name or value that cannot be one is refused. */
    static Map<String, String> environmentFor(Map<String, String> env) {
        var out = new LinkedHashMap<String, String>();
        out.put("PATH", SAFE_PATH);
        out.put("LANG", "C.UTF-8");
        env.forEach((k, v) -> {
            if (k == null || !NAME.matcher(k).matches()) throw new IllegalArgumentException("not an environment variable name: '" + k + "'");
            if (v == null) throw new IllegalArgumentException("environment variable " + k + " has no value");
            if (v.indexOf('\0') >= 0) throw new IllegalArgumentException("environment variable " + k + " contains a NUL byte");
            out.put(k, v);
        });
        return out;
    }

    /** SIGTERM to the hook and all it has spawned, then SIGKILL to whoever is left after the grace. */
    private void killTree(Process p) {
        // snapshot first: once the hook dies its children are re-parented and no longer its descendants
        var tree = new LinkedHashSet<ProcessHandle>();
        tree.add(p.toHandle());
        p.descendants().forEach(tree::add);
        tree.forEach(ProcessHandle::destroy);
        if (awaitExit(tree, killGrace)) return;
        // a survivor may have spawned more meanwhile: take its descendants too, then force them all
        var left = new LinkedHashSet<ProcessHandle>();
        for (var h : tree) {
            if (!h.isAlive()) continue;
            h.descendants().forEach(left::add);
            left.add(h);
        }
        left.forEach(ProcessHandle::destroyForcibly);
        awaitExit(left, killGrace);
    }

    private static boolean awaitExit(java.util.Collection<ProcessHandle> handles, Duration limit) {
        var exits = handles.stream().map(ProcessHandle::onExit).toArray(CompletableFuture[]::new);
        try {
            CompletableFuture.allOf(exits).get(limit.toNanos(), TimeUnit.NANOSECONDS);
            return true;
        } catch (TimeoutException e) {
            return false;
        } catch (ExecutionException e) {
            return handles.stream().noneMatch(ProcessHandle::isAlive);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return handles.stream().noneMatch(ProcessHandle::isAlive);
        }
    }

    /** Waits for the end of the output, at most the grace: whatever holds the pipe, the hook's outcome is not held up. */
    private void awaitDrain(Thread drain) {
        try {
            drain.join(killGrace);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** The hook's merged output: the first {@link #OUTPUT_LIMIT} bytes kept, the rest counted and dropped. */
    private static final class Output {
        private final InputStream in;
        private final ByteArrayOutputStream kept = new ByteArrayOutputStream();
        private long cut;
        private String error;

        Output(InputStream in) {
            this.in = in;
        }

        /** Reads to the end of the pipe: keeps draining past the limit so the hook never blocks on writing. */
        void drain() {
            byte[] buf = new byte[8192];
            try (in) {
                for (int n; (n = in.read(buf)) >= 0; ) {
                    synchronized (this) {
                        int keep = (int) Math.min(n, OUTPUT_LIMIT - kept.size());
                        kept.write(buf, 0, keep);
                        cut += n - keep;
                    }
                }
            } catch (IOException e) {
                synchronized (this) {
                    error = e.getMessage();
                }
            }
        }

        synchronized boolean truncated() {
            return cut > 0;
        }

        /** The output so far, with what was cut, a read error, or a pipe still held open said at its end. */
        synchronized String text(boolean stillOpen) {
            var b = new StringBuilder(new String(kept.toByteArray(), StandardCharsets.UTF_8));
            var notes = new ArrayList<String>();
            if (cut > 0) notes.add(String.format(Locale.ROOT, "%d more bytes cut", cut));
            if (error != null) notes.add("reading the output failed: " + error);
            if (stillOpen) notes.add("the output did not end within the grace after the hook; not waited for");
            for (String note : notes) {
                if (!b.isEmpty() && b.charAt(b.length() - 1) != '\n') b.append('\n');
                b.append("[unwedge: ").append(note).append("]\n");
            }
            return b.toString();
        }
    }

    // ---- the environment of a wedge ----

    /** Where in a wedge's handling a hook runs: {@code UNWEDGE_PHASE}. */
    public enum Phase {
        /** before a recovery's first step (the drain) */
        PRE,
        /** after a recovery ended, whatever its result */
        POST,
        /** the driver asked for {@code unknown} (or the event could not be trusted): the operator's policy */
        UNKNOWN,
        /** the driver asked for {@code vendor-specific}: the vendor's documented procedure */
        VENDOR,
        /** the driver said {@code none}: nothing to recover, telemetry optional */
        NONE,
        /** a task reached its repeat-offence threshold */
        OFFENCE,
        /** the unknown policy {@code request-reboot}: the operator's command that schedules a reboot */
        REBOOT,
        /** xe's survivability mode: the firmware flash command */
        FIRMWARE;

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * The standard variables for a wedge: {@code UNWEDGE_PHASE}, {@code UNWEDGE_CARD} (as the event named it),
     * {@code UNWEDGE_BDF}, {@code UNWEDGE_DRIVER} (when known: the event does not carry it), {@code UNWEDGE_METHODS}
     * (the raw {@code WEDGED=} value), {@code UNWEDGE_SEQNUM}, and {@code UNWEDGE_PID} and {@code UNWEDGE_TASK} when
     * the driver named the task. Values come from the kernel and a task's comm is the task's own choice: a
     * hook must quote them. For {@link Phase#POST} use {@link #environment(WedgedEvent, Optional, RecoveryReport)}.
     */
    public static Map<String, String> environment(Phase phase, WedgedEvent event, Optional<String> driver) {
        Objects.requireNonNull(phase, "phase");
        if (phase == Phase.POST) throw new IllegalArgumentException("a post hook's environment needs the recovery's report");
        return base(phase, event, driver);
    }

    /**
     * A post hook's: the wedge's variables, then {@code UNWEDGE_OUTCOME} (recovered, failed, refused,
     * nothing-to-do, dry-run), {@code UNWEDGE_METHOD} (when one was chosen), {@code UNWEDGE_REASON} and
     * {@code UNWEDGE_CARD_AFTER} (when the device came back: the card number may have changed).
     */
    public static Map<String, String> environment(WedgedEvent event, Optional<String> driver, RecoveryReport report) {
        return environment(event, driver, report.result(), report.method(), report.reason(), report.cardAfter());
    }

    /** A post hook's environment from an attempt's end, before its report is made. */
    static Map<String, String> environment(WedgedEvent event, Optional<String> driver, RecoveryReport.Result result,
                                           Optional<io.unwedge.core.RecoveryMethod> method, String reason, Optional<String> cardAfter) {
        var env = base(Phase.POST, event, driver);
        env.put("UNWEDGE_OUTCOME", result.toString());
        method.ifPresent(m -> env.put("UNWEDGE_METHOD", m.token()));
        env.put("UNWEDGE_REASON", reason);
        cardAfter.ifPresent(c -> env.put("UNWEDGE_CARD_AFTER", c));
        return env;
    }

    private static Map<String, String> base(Phase phase, WedgedEvent event, Optional<String> driver) {
        var env = new LinkedHashMap<String, String>();
        env.put("UNWEDGE_PHASE", phase.toString());
        env.put("UNWEDGE_CARD", event.card());
        env.put("UNWEDGE_BDF", event.bdf().toString());
        driver.ifPresent(d -> env.put("UNWEDGE_DRIVER", d));
        env.put("UNWEDGE_METHODS", event.rawMethods());
        env.put("UNWEDGE_SEQNUM", Long.toString(event.seqnum()));
        event.task().ifPresent(t -> {
            env.put("UNWEDGE_PID", Integer.toString(t.pid()));
            env.put("UNWEDGE_TASK", t.comm());
        });
        return env;
    }
}
