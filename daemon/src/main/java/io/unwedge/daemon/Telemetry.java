package io.unwedge.daemon;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Offences;
import io.unwedge.core.TaskInfo;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import io.unwedge.daemon.journal.TelemetryRow;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Pidfd;
import io.unwedge.host.procfs.HolderScan;
import io.unwedge.host.procfs.ProcTask;
import io.unwedge.host.sysfs.Devcoredumps;
import java.io.IOException;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.locks.ReentrantLock;

/**
 * {@code WEDGED=none} (contract §4: "nothing required; optional telemetry … the first hang is usually the most
 * critical"; "consumers may apply their own policies: repeat offences"). The device is never recovered: the
 * driver has recovered it, or keeps it wedged on purpose (xe wedged_mode 2) for someone to look at.
 *
 * <h2>What one {@code none} wedge gets</h2>
 * <ol>
 *   <li><b>The devcoredumps</b> of the device are saved to {@code <state>/devcoredump/} and freed
 *       ({@link Devcoredumps#collect}): the kernel deletes an unread dump after 5 minutes (xe: an hour) and drops
 *       the next hang's dump while one is unread, so waiting would lose the first, most telling one.</li>
 *   <li><b>The guilty task</b> ({@code PID=}/{@code TASK=}, v6.16+): the pid is trusted only when
 *       {@code <proc>/<PID>/comm} is still {@code TASK}; then its executable is read from {@code exe}. A pid that
 *       names another comm (reused, or the task exited) is said, and no executable is taken from it.</li>
 *   <li><b>Its offences</b>: the task's earlier ones are read from the journal ({@link Policy#offences}'s
 *       lookback), judged ({@link Offences#judge}) <em>before</em> this one is recorded, and the telemetry row is
 *       written. A task is its comm and executable, so two programs that share a name are two offenders. The
 *       read-judge-record is one critical section across all devices: two GPUs wedged by one task at the same
 *       moment must not both see the count below the threshold.</li>
 *   <li><b>At the threshold</b> ({@link Offences.Act}, once per crossing): {@code notify} logs a warning;
 *       {@code terminate} sends SIGTERM through a pidfd, only when the procfs root is this daemon's live
 *       {@code /proc}, the comm still matches, and the drain's protection (Xorg and the display stack, the
 *       operator's {@code protect}) does not cover the task; {@code hook} runs the operator's command with the
 *       {@code UNWEDGE_*} environment of phase {@code offence}.</li>
 * </ol>
 * Without a journal the dumps and the log lines still happen; offences are not counted (said once).
 *
 * <h2>Why SIGTERM only</h2>
 * Unlike a drain, nothing waits for the task to be gone: no recovery is held up, so the daemon neither waits
 * out a grace on the device's actor nor escalates to SIGKILL. A task that handles SIGTERM has been told; the
 * next crossing of the threshold (at least a window later) tells it again.
 *
 * <h2>Why a pidfd around the reads</h2>
 * The pidfd is opened before {@code comm} and {@code exe} are read and checked after: a process that has not
 * exited still owns its pid, so what was read was its own. The signal goes through the same pidfd and reaches
 * no process that took the pid since.
 */
public final class Telemetry {

    /** Where the dumps go, under the state directory. */
    static final String DIR = Journal.DUMP_DIR;

    /**
     * What the operator configured for {@code none} ({@code [none]}, {@code [hooks] timeout}).
     *
     * @param devcoredump save and free the device's devcoredumps
     * @param maxBytes    at most this much of each dump is kept (the rest is left unread, and the dump freed)
     * @param offences    how many offences of one task within a window call for which action
     * @param hook        the command of {@link Offences.Action#HOOK}; required for it
     * @param hookTimeout how long that command may run
     */
    public record Policy(boolean devcoredump, long maxBytes, Offences.Policy offences, List<String> hook, Duration hookTimeout) {

        /** 64 MiB: a GPU's dump is mostly a few MiB of state, rarely its memory; enough, and a bound on the disk. */
        public static final long DEFAULT_MAX_BYTES = 64L << 20;

        /** The defaults of {@code [none]}: dumps on, 3 offences within an hour are notified. */
        public static final Policy DEFAULT = new Policy(true, DEFAULT_MAX_BYTES,
                new Offences.Policy(3, Duration.ofHours(1), Offences.Action.NOTIFY), List.of(), Duration.ofSeconds(30));

        public Policy {
            if (maxBytes < 1) throw new IllegalArgumentException("a devcoredump size limit must be at least 1 byte: " + maxBytes);
            Objects.requireNonNull(offences, "offences");
            hook = List.copyOf(hook);
            if (!hook.isEmpty() && !hook.getFirst().startsWith("/")) {
                throw new IllegalArgumentException("the offence hook must be an absolute path, not '" + hook.getFirst() + "'");
            }
            if (offences.action() == Offences.Action.HOOK && hook.isEmpty()) {
                throw new IllegalArgumentException("the offence action hook needs a command");
            }
            Objects.requireNonNull(hookTimeout, "hookTimeout");
            if (!hookTimeout.isPositive()) throw new IllegalArgumentException("the hook timeout must be positive: " + hookTimeout);
        }
    }

    private final Policy policy;
    private final Devcoredumps devcoredumps;
    private final Path dumps;
    private final Path proc;
    private final boolean live;
    private final Optional<Journal> journal;
    private final EventLog log;
    private final Commands commands;
    private final Supervisor.DrainChooser protection;
    private final InstantSource clock;
    private final ReentrantLock judging = new ReentrantLock();
    private final AtomicBoolean saidUncounted = new AtomicBoolean();

    /**
     * @param stateDir   the dumps go to {@code <stateDir>/devcoredump/}
     * @param proc       the procfs root the task is read from; signals only when it is this daemon's live one
     * @param protection whose drain policy's protection also keeps a guilty task from being terminated
     */
    Telemetry(Policy policy, Devcoredumps devcoredumps, Path stateDir, Path proc, Optional<Journal> journal, EventLog log,
              Commands commands, Supervisor.DrainChooser protection) {
        this.policy = Objects.requireNonNull(policy);
        this.devcoredumps = Objects.requireNonNull(devcoredumps);
        this.dumps = stateDir.resolve(DIR);
        this.proc = Objects.requireNonNull(proc);
        this.live = HolderScan.isLive(proc);
        this.journal = Objects.requireNonNull(journal);
        this.log = Objects.requireNonNull(log);
        this.commands = Objects.requireNonNull(commands);
        this.protection = Objects.requireNonNull(protection);
        this.clock = journal.map(Journal::clock).orElseGet(InstantSource::system);
    }

    Path dumps() {
        return dumps;
    }

    /**
     * Handles a {@code none} wedge of {@code device} (see the class comment); with {@code dryRun} only says what
     * it would collect and judge. Never throws for what the host does; never touches the device's driver.
     *
     * @param eventId the event's journal row (its telemetry row points at it); ignored without a journal
     * @return one line for the report's reason
     */
    String handle(WedgedEvent event, GpuDevice device, long eventId, boolean dryRun) {
        if (dryRun) return preview(event, device);
        var summary = new ArrayList<String>();
        var notes = new ArrayList<String>();
        var saved = new ArrayList<TelemetryRow.Devcoredump>();
        collect(device, summary, notes, saved);
        try (var task = event.task().map(t -> look(t, device)).orElse(null)) {
            if (task == null) {
                summary.add("no task named");
            } else {
                summary.add(task.describe());
                task.doubt().ifPresent(notes::add);
            }
            var verdict = judgeAndRecord(event, device, eventId, task, saved, String.join("; ", notes), summary);
            if (verdict instanceof Offences.Act act) summary.add(act(act, event, device, task));
        }
        return String.join("; ", summary);
    }

    // ---- devcoredumps ----------------------------------------------------------------------------

    /** Saves and frees the device's dumps; says what happened to each, and adds each one saved (with its hash) to {@code saved}. */
    private void collect(GpuDevice device, List<String> summary, List<String> notes, List<TelemetryRow.Devcoredump> saved) {
        if (!policy.devcoredump()) {
            summary.add("devcoredump collection off");
            return;
        }
        List<Devcoredumps.Collected> collected;
        try {
            createPrivate(dumps);
            collected = devcoredumps.collect(device.bdf(), dumps, policy.maxBytes());
        } catch (IOException e) {
            log.error("devcoredump-failed", "card", device.card(), "bdf", device.bdf(), "dir", dumps, "error", e.toString(),
                    "cannot save the devcoredump; it is left for the kernel to expire");
            summary.add("devcoredump not saved: cannot create " + dumps + ": " + e.getMessage());
            notes.add("devcoredump not saved: " + e.getMessage());
            return;
        }
        if (collected.isEmpty()) {
            summary.add("no devcoredump");
            return;
        }
        for (var c : collected) {
            switch (c) {
                case Devcoredumps.Saved s -> {
                    saved.add(new TelemetryRow.Devcoredump(s.file(), s.bytes(), s.sha256(), s.truncated()));
                    String what = s.source() + " saved to " + s.file() + " (" + s.bytes() + " bytes"
                            + (s.truncated() ? ", cut at " + policy.maxBytes() : "") + (s.freed() ? ", freed)" : ", not freed: " + s.notFreed().get() + ")");
                    log.log(s.freed() && !s.truncated() ? EventLog.Level.INFO : EventLog.Level.WARN, "devcoredump-saved", "card", device.card(),
                            "bdf", device.bdf(), "dump", s.source(), "file", s.file(), "bytes", s.bytes(), "sha256", s.sha256(),
                            "truncated", s.truncated(),
                            "freed", s.freed(), s.notFreed().orElse(""));
                    summary.add("devcoredump " + what);
                    if (s.truncated()) notes.add(s.source() + " cut at " + policy.maxBytes() + " bytes");
                    s.notFreed().ifPresent(why -> notes.add(s.source() + " not freed: " + why));
                }
                case Devcoredumps.Vanished v -> {
                    log.warn("devcoredump-vanished", "card", device.card(), "bdf", device.bdf(), "dump", v.source(), v.reason());
                    summary.add("devcoredump " + v.source() + " vanished: " + v.reason());
                    notes.add(v.source() + " vanished: " + v.reason());
                }
                case Devcoredumps.Failed f -> {
                    log.error("devcoredump-failed", "card", device.card(), "bdf", device.bdf(), "dump", f.source(), f.reason());
                    summary.add("devcoredump " + f.source() + " failed: " + f.reason());
                    notes.add(f.source() + " failed: " + f.reason());
                }
            }
        }
    }

    /** The dump directory, readable by its owner alone: a GPU's dump can hold what its users' programs computed. */
    private static void createPrivate(Path dir) throws IOException {
        if (Files.isDirectory(dir)) return;
        Files.createDirectories(dir.getParent());
        try {
            Files.createDirectory(dir, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
        } catch (FileAlreadyExistsException e) {
            if (!Files.isDirectory(dir)) throw e;
        }
    }

    // ---- the guilty task -------------------------------------------------------------------------

    /**
     * The task the driver named, as {@code /proc} shows it. {@code seen} is empty when the pid names no process
     * or another comm ({@code doubt} says which); then nothing is taken from it and it is never signalled.
     */
    private record Task(TaskInfo named, Optional<ProcTask> seen, Optional<Pidfd> pidfd, Optional<String> doubt) implements AutoCloseable {

        Optional<String> exe() {
            return seen.flatMap(ProcTask::exe);
        }

        String describe() {
            return "task " + named + seen.map(s -> s.exe().map(x -> " (" + x + ")").orElse(" (exe unknown: " + s.exeUnknown().orElse("?") + ")"))
                    .orElse("") + doubt.map(d -> ": " + d).orElse("");
        }

        @Override
        public void close() {
            pidfd.ifPresent(Pidfd::close);
        }
    }

    private Task look(TaskInfo named, GpuDevice device) {
        if (named.pid() == 0) return new Task(named, Optional.empty(), Optional.empty(), Optional.of("PID=0 names no process"));
        Optional<Pidfd> pidfd = Optional.empty();
        try {
            if (live) {
                pidfd = Pidfd.open(named.pid());
                if (pidfd.isEmpty()) return new Task(named, Optional.empty(), pidfd, Optional.of("pid " + named.pid() + " has exited"));
            }
            var seen = ProcTask.read(proc, named.pid());
            if (seen.isEmpty() || pidfd.isPresent() && pidfd.get().hasExited()) {
                return new Task(named, Optional.empty(), pidfd, Optional.of("pid " + named.pid() + " has exited"));
            }
            if (!seen.get().comm().equals(named.comm())) {
                return new Task(named, Optional.empty(), pidfd, Optional.of("pid " + named.pid() + " is now " + seen.get().comm()
                        + ", not " + named.comm() + " (the task exited and its pid was reused, or it renamed itself): not trusted"));
            }
            return new Task(named, seen, pidfd, Optional.empty());
        } catch (OsException e) {
            pidfd.ifPresent(Pidfd::close);
            log.warn("telemetry-task", "card", device.card(), "bdf", device.bdf(), "pid", named.pid(), "task", named.comm(), "error", e.getMessage(),
                    "cannot look at the task; not trusted");
            return new Task(named, Optional.empty(), Optional.empty(), Optional.of("cannot look at pid " + named.pid() + ": " + e.getMessage()));
        }
    }

    // ---- offences --------------------------------------------------------------------------------

    /**
     * Judges the task's offence against its earlier ones and records the telemetry row, in one critical section.
     * Returns the verdict, or null when there was none to give (no task, no journal, the journal failed).
     */
    private Offences.Verdict judgeAndRecord(WedgedEvent event, GpuDevice device, long eventId, Task task,
                                            List<TelemetryRow.Devcoredump> saved, String note, List<String> summary) {
        if (journal.isEmpty()) {
            if (task != null) {
                summary.add("offences not counted (no journal)");
                if (saidUncounted.compareAndSet(false, true)) {
                    log.warn("offences-uncounted", "this daemon has no journal: repeat offences of WEDGED=none tasks are not counted, and no "
                            + "offence action is taken");
                }
            }
            return null;
        }
        var j = journal.get();
        Offences.Verdict verdict = null;
        judging.lock();
        try {
            if (task != null) {
                var now = clock.instant();
                try {
                    var earlier = j.offences(task.named().comm(), task.exe(), now.minus(policy.offences().lookback()));
                    verdict = Offences.judge(earlier, now, policy.offences());
                } catch (JournalException e) {
                    log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "task", task.named(), "error", e.getMessage(),
                            "cannot read the task's earlier offences: this one is not judged");
                    summary.add("offence not judged: " + e.getMessage());
                }
            }
            try {
                j.recordTelemetry(eventId, event, task == null ? Optional.empty() : task.exe(), saved, note);
            } catch (JournalException e) {
                log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "seqnum", event.seqnum(), "error", e.getMessage(),
                        "the telemetry is not journaled: this offence will not count towards the next");
                summary.add("telemetry not journaled: " + e.getMessage());
            }
        } finally {
            judging.unlock();
        }
        if (verdict != null) {
            var o = policy.offences();
            String count = "offence " + verdict.count() + " of " + o.count() + " within " + window(o.window());
            switch (verdict) {
                case Offences.Below b -> summary.add(count);
                case Offences.AlreadyOver a -> summary.add(count + " (over the threshold; acted on at its crossing, not again)");
                case Offences.Act a -> summary.add(count + ": " + a.action());
            }
            log.log(verdict instanceof Offences.Below ? EventLog.Level.INFO : EventLog.Level.WARN, "offence", "card", device.card(),
                    "bdf", device.bdf(), "pid", task.named().pid(), "task", task.named().comm(), "exe", task.exe().orElse(null),
                    "count", verdict.count(), "threshold", o.count(), "window", window(o.window()),
                    "verdict", switch (verdict) {
                        case Offences.Below b -> "below";
                        case Offences.AlreadyOver a -> "already-over";
                        case Offences.Act a -> "act";
                    });
        }
        return verdict;
    }

    // ---- the actions -----------------------------------------------------------------------------

    private String act(Offences.Act act, WedgedEvent event, GpuDevice device, Task task) {
        var named = task.named();
        String window = window(policy.offences().window());
        return switch (act.action()) {
            case NOTIFY -> {
                log.warn("offence-notify", "card", device.card(), "bdf", device.bdf(), "pid", named.pid(), "task", named.comm(),
                        "exe", task.exe().orElse(null), "count", act.count(), "window", window,
                        named.comm() + " hung a GPU " + times(act.count()) + " within " + window + "; nothing done to it ([none] action notify)");
                yield "notified";
            }
            case TERMINATE -> terminate(act, device, task, window);
            case HOOK -> {
                var env = new LinkedHashMap<>(Hook.environment(Hook.Phase.OFFENCE, event, device.driver()));
                env.put("UNWEDGE_OFFENCES", Integer.toString(act.count()));
                env.put("UNWEDGE_OFFENCE_WINDOW_SECONDS", Long.toString(policy.offences().window().toSeconds()));
                task.exe().ifPresent(x -> env.put("UNWEDGE_EXE", x));
                var ran = commands.run(Hook.Phase.OFFENCE.toString(), policy.hook(), env);
                log.log(ran.ok() ? EventLog.Level.WARN : EventLog.Level.ERROR, "offence-hook", "card", device.card(), "bdf", device.bdf(),
                        "pid", named.pid(), "task", named.comm(), "count", act.count(), "window", window, "ok", ran.ok(),
                        String.join(" ", policy.hook()) + ": " + ran.summary());
                yield "ran " + String.join(" ", policy.hook()) + ": " + ran.summary();
            }
        };
    }

    /** SIGTERM through the task's pidfd, when it is still the task the driver named and nothing protects it. */
    private String terminate(Offences.Act act, GpuDevice device, Task task, String window) {
        var named = task.named();
        String outcome;
        boolean sent = false;
        if (!live) {
            outcome = "not terminated: " + proc + " is not this daemon's live /proc, its pids are not ours to signal";
        } else if (task.seen().isEmpty() || task.pidfd().isEmpty()) {
            outcome = "not terminated: " + task.doubt().orElse("the task cannot be told apart from another");
        } else {
            var now = ProcTask.read(proc, named.pid());
            var protectedBy = now.flatMap(p -> protection.policyFor(device.driver().orElse(null), device.bdf()).protection()
                    .why(p.comm(), p.placement(), p.uid()));
            if (now.isEmpty()) {
                outcome = "not terminated: pid " + named.pid() + " has exited";
            } else if (!now.get().comm().equals(named.comm())) {
                outcome = "not terminated: pid " + named.pid() + " is now " + now.get().comm() + ", not " + named.comm();
            } else if (protectedBy.isPresent()) {
                outcome = "not terminated: " + protectedBy.get() + " (the drain's protection: never signalled)";
            } else {
                try {
                    sent = task.pidfd().get().signal(Pidfd.SIGTERM);
                    outcome = sent ? "SIGTERM sent to pid " + named.pid() : "not terminated: pid " + named.pid() + " had exited already";
                } catch (OsException e) {
                    outcome = "not terminated: " + e.getMessage();
                }
            }
        }
        log.log(sent ? EventLog.Level.WARN : EventLog.Level.ERROR, "offence-terminate", "card", device.card(), "bdf", device.bdf(),
                "pid", named.pid(), "task", named.comm(), "exe", task.exe().orElse(null), "count", act.count(), "window", window,
                "signalled", sent, named.comm() + " hung a GPU " + times(act.count()) + " within " + window + ": " + outcome);
        return outcome;
    }

    // ---- dry run ---------------------------------------------------------------------------------

    /** What {@link #handle} would do now, said and logged; nothing is saved, freed, recorded or signalled. */
    private String preview(WedgedEvent event, GpuDevice device) {
        var summary = new ArrayList<String>();
        if (!policy.devcoredump()) {
            summary.add("devcoredump collection off");
        } else {
            var found = devcoredumps.of(device.bdf());
            summary.add(found.isEmpty() ? "no devcoredump" : "would save " + String.join(", ", found.stream().map(Devcoredumps.Dump::name).toList())
                    + " to " + dumps + " and free " + (found.size() == 1 ? "it" : "them"));
        }
        if (event.task().isEmpty()) {
            summary.add("no task named");
        } else {
            var named = event.task().get();
            var seen = ProcTask.read(proc, named.pid()).filter(p -> p.comm().equals(named.comm()));
            var exe = seen.flatMap(ProcTask::exe);
            summary.add("task " + named + exe.map(x -> " (" + x + ")").orElse(seen.isEmpty() ? " (not running as " + named.comm() + " now)" : ""));
            if (journal.isPresent()) {
                try {
                    var now = clock.instant();
                    var o = policy.offences();
                    var verdict = Offences.judge(journal.get().offences(named.comm(), exe, now.minus(o.lookback())), now, o);
                    summary.add("would be offence " + verdict.count() + " of " + o.count() + " within " + window(o.window())
                            + (verdict instanceof Offences.Act a ? ": would " + a.action() : ""));
                } catch (JournalException e) {
                    summary.add("offences unknown: " + e.getMessage());
                }
            }
        }
        String line = String.join("; ", summary) + " (dry run: nothing collected)";
        log.info("telemetry-plan", "card", device.card(), "bdf", device.bdf(), "seqnum", event.seqnum(), line);
        return line;
    }

    private static String times(int n) {
        return n == 1 ? "once" : n + " times";
    }

    /** {@code 1h}, {@code 10m}, {@code 90s}: as the config writes it. */
    static String window(Duration d) {
        try {
            return io.unwedge.daemon.config.Config.formatDuration(d);
        } catch (IllegalArgumentException e) {
            return d.toString(); // finer than a millisecond: not from a config file
        }
    }
}
