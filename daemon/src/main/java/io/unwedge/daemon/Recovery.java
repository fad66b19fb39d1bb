package io.unwedge.daemon;

import io.unwedge.core.Decision;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.Hardware;
import io.unwedge.core.MethodPolicy;
import io.unwedge.core.PciAddress;
import io.unwedge.core.Planner;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.safety.Exclusion;
import io.unwedge.core.safety.Quarantine;
import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.core.safety.Safety;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * One wedge, handled: resolve the device, decide, check the safety limits, and run the ladder of attempts
 * step by step, escalating when one fails and quarantining the device when the last one does. Waits are
 * driven by the device's own uevents (the actor's mailbox) and end at a deadline; sysfs is re-read on every
 * event, never on a timer. Runs on the device's actor thread, so nothing else happens to the device meanwhile.
 *
 * <h2>Attempts and the journal</h2>
 * Each attempt (one method) is one recovery in the journal; an escalation's row names the one it escalates
 * from. A wedge a restart hands on ({@link ActorMessage.Continues}: the attempt it resumed wedged again while
 * settling) starts as such an escalation, after the method that failed. The event and the first recovery are recorded first, and each step's intent is durable before the
 * step's sysfs write runs, its end after. The rule on a journal failure: nothing disruptive starts
 * unjournaled — a failure before the first disruptive write ends the recovery {@code refused} ("cannot
 * journal: …") with the device untouched. Once the device has been touched, getting it back matters more
 * than the record: a failure is logged, the recovery carries on, and its reason says the journal is incomplete.
 *
 * <h2>What waits for what</h2>
 * Before the first disruptive step a wedge takes its pass through the {@link DisruptionGate}: the host-wide
 * cap, and its bus and slot alone. It keeps the pass across escalations, so a ladder is never interleaved
 * with another device's reset of the same bus.
 */
final class Recovery {

    private final WedgedEvent event;
    private final long receivedNanos;
    private final Optional<ActorMessage.Continues> continues;
    private final Topology topology;
    private final RecoveryPolicy policy;
    private final Timeouts timeouts;
    private final boolean dryRun;
    private final EventLog log;
    private final Mailbox mailbox;
    private final SysfsWriter writer;
    private final Optional<Journal> journal;
    private final Drain drain;
    private final DisruptionGate gate;
    private final DeviceHistory history;
    private final Commands commands;
    private final Telemetry telemetry;
    private final List<RecoveryReport> reports = new ArrayList<>();

    // the attempt in flight
    private long eventId = -1;
    private long recoveryId = -1; // the journal's row, once written
    private String journalGap = ""; // what could not be journaled after the device was touched
    private boolean touched; // a disruptive write was made: from here on, a journal failure is survived
    private boolean signalled; // the drain signalled a holder: a refusal after it must not say "nothing done"
    private List<StepResult> steps = new ArrayList<>();
    private long started = System.nanoTime();
    private Long latencyMicros;
    private WedgedEvent rewedge;
    private final Departure departure = new Departure();
    private Optional<String> driver = Optional.empty(); // as the wedge found it: the report names it (sysfs forgets it with the unbind)

    Recovery(WedgedEvent event, long receivedNanos, Optional<ActorMessage.Continues> continues, Topology topology, RecoveryPolicy policy, Timeouts timeouts, boolean dryRun,
             EventLog log, Mailbox mailbox, SysfsWriter writer, Optional<Journal> journal, Drain drain, DisruptionGate gate,
             DeviceHistory history, Commands commands, Telemetry telemetry) {
        this.event = event;
        this.receivedNanos = receivedNanos;
        this.continues = continues;
        this.topology = topology;
        this.policy = policy;
        this.timeouts = timeouts;
        this.dryRun = dryRun;
        this.log = log;
        this.mailbox = mailbox;
        this.writer = writer;
        this.journal = journal;
        this.drain = drain;
        this.gate = gate;
        this.history = history;
        this.commands = commands;
        this.telemetry = telemetry;
    }

    /** @return one report per attempt, in order; the last says how the wedge ended */
    List<RecoveryReport> run() {
        try {
            begin();
        } catch (JournalException e) {
            return finish(Result.REFUSED, null, "journal cannot be written: " + e.reason() + "; nothing done, the device is still wedged");
        }
        GpuDevice device;
        // a continued wedge is found by its function: the restart bound the driver again, its card may have another number
        var resolution = continues.isEmpty() ? topology.resolve(event) : topology.byBdf(event.bdf())
                .<Topology.Resolution>map(Topology.Resolution.Found::new)
                .orElseGet(() -> new Topology.Resolution.Gone(event.bdf() + " has no primary minor"));
        switch (resolution) {
            case Topology.Resolution.Found(var d) -> {
                device = d;
                driver = d.driver();
            }
            case Topology.Resolution.Gone(var reason) -> {
                return finish(Result.REFUSED, null, "device gone: " + reason);
            }
            case Topology.Resolution.Invalid(var reason) -> {
                return finish(Result.REFUSED, null, "invalid event: " + reason);
            }
        }
        var hw = topology.hardware(device);
        return switch (Planner.decide(event, device, hw, policy.methods())) {
            case Decision.Telemetry(var reason) -> finish(dryRun ? Result.DRY_RUN : Result.NOTHING_TO_DO, null,
                    reason + "; " + telemetry.handle(event, device, eventId, dryRun));
            case Decision.Refuse(var reason) -> finish(Result.REFUSED, null, reason);
            case Decision.Handoff h -> handoff(h, device);
            case Decision.Recover r -> recover(r, device, hw);
        };
    }

    /**
     * For a wedge the daemon is stopping before it could start: journaled as a recovery begun and not started,
     * so that the next start, finding the device bound and untouched, handles it again ({@link Restart}).
     * Nothing is touched. Without a journal the wedge is lost, and said so.
     */
    void defer() {
        if (dryRun) {
            log.info("recovery-dropped", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), "methods", event.rawMethods(),
                    "the daemon is stopping: not planned (dry run; a dry run leaves no wedge for the next start)");
            return;
        }
        if (journal.isEmpty()) {
            log.error("recovery-dropped", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), "methods", event.rawMethods(),
                    "the daemon is stopping and keeps no journal: not started, and no next start will know of it; the device is still wedged");
            return;
        }
        try {
            begin();
        } catch (JournalException e) {
            return; // said by begin
        }
        leftForTheNextStart(event.card());
    }

    /** The journaled row stays unfinished: the next start finds the device bound and untouched, and handles the wedge again. */
    private void leftForTheNextStart(String card) {
        log.warn("recovery-deferred", "card", card, "bdf", event.bdf(), "seqnum", event.seqnum(), "recovery", recoveryId,
                "the daemon is stopping: not started; left unfinished in the journal for the next start, the device is still wedged");
        deferred = true;
    }

    /** Whether this wedge was left unfinished in the journal for the next start (by {@link #defer} or at the gate). */
    boolean deferred() {
        return deferred;
    }

    private boolean deferred;

    /** Journals the wedge (or, continuing one, its next attempt) and begins its recovery row; nothing without a journal. */
    private void begin() throws JournalException {
        if (journal.isEmpty()) return;
        var j = journal.get();
        try {
            if (continues.isPresent()) {
                // the same wedge, journaled when it came: its next attempt, as a running daemon's escalation
                eventId = continues.get().eventId();
                recoveryId = j.beginEscalation(eventId, event, continues.get().recovery());
            } else {
                Instant receivedAt = receivedNanos > 0
                        ? j.clock().instant().minusNanos(System.nanoTime() - receivedNanos) : j.clock().instant();
                eventId = j.recordEvent(event, receivedAt);
                recoveryId = j.beginRecovery(eventId, event);
            }
        } catch (JournalException e) {
            // the wedge is in the log even when its row is not: the supervisor's wedged line, and this one
            log.error("journal-failed", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), "methods", event.rawMethods(),
                    "task", event.task().map(Object::toString).orElse(null), "error", e.getMessage(),
                    "the wedge cannot be journaled: its recovery is refused before anything is touched");
            throw e;
        }
    }

    // ---- the ladder ------------------------------------------------------------------------------

    private List<RecoveryReport> recover(Decision.Recover plan, GpuDevice device, Hardware hw) {
        var ladder = continues.map(c -> plan.after(c.method())).orElse(plan.ladder());
        String every = "every method failed (" + String.join(", ", plan.ladder().stream().map(a -> a.method().token()).toList()) + ")";
        if (ladder.isEmpty()) {
            // the attempt the restart resumed was the ladder's last: what its failure would have done then
            var last = continues.orElseThrow().method();
            String why = every + "; the last, " + last + ", in recovery " + continues.get().recovery() + ", which a restart resumed";
            if (dryRun) return finish(Result.DRY_RUN, last, why + " (dry run: nothing done)");
            return withPass(device, hw, last, () -> quarantine(device, why, last, Result.FAILED, why));
        }
        var first = ladder.getFirst().method();
        Safety.Verdict verdict;
        try {
            verdict = SafetyCheck.check(history, device.bdf(), clock(), policy.safety(), eventId);
        } catch (JournalException e) {
            return finish(Result.REFUSED, first, "cannot read the device's history: " + e.getMessage() + "; nothing done");
        }
        if (dryRun) return dryRun(plan, device, hw, verdict);
        if (verdict instanceof Safety.Verdict.Deny(var reason, var quarantine)) {
            if (!quarantine) return finish(Result.REFUSED, first, reason);
            return withPass(device, hw, first, () -> quarantine(device, reason, first, Result.REFUSED, reason));
        }
        log.info("recovery-plan", "card", device.card(), "bdf", device.bdf(), "seqnum", event.seqnum(),
                "ladder", String.join(",", ladder.stream().map(a -> a.method().token()).toList()), "safety", verdict.reason(),
                continues.map(c -> "continues recovery " + c.recovery() + " (" + c.method() + ") after a restart; ")
                        .orElse("") + plan.reason());
        return withPass(device, hw, first, () -> {
            for (int i = 0; i < ladder.size(); i++) {
                var attempt = ladder.get(i);
                if (i == 0 && continues.isPresent()) {
                    log.warn("recovery-escalate", "card", device.card(), "bdf", device.bdf(), "from", continues.get().method(),
                            "to", attempt.method(), "recovery", continues.get().recovery(), "after a restart: " + attempt.why());
                }
                if (i > 0) {
                    var previous = reports.getLast();
                    if (mailbox.stopRequested()) {
                        log.warn("recovery-escalation-skipped", "card", device.card(), "bdf", device.bdf(), "next", attempt.method(),
                                "the daemon is stopping: not escalating");
                        return reports;
                    }
                    log.warn("recovery-escalate", "card", device.card(), "bdf", device.bdf(), "from", previous.method().orElse(null),
                            "to", attempt.method(), attempt.why());
                    if (!beginAttempt()) return reports;
                }
                var ended = attempt(attempt, device, hw);
                boolean last = i == ladder.size() - 1;
                if (ended.result() != Result.FAILED || !last) {
                    finish(ended.result(), attempt.method(), ended.reason());
                    if (ended.result() != Result.FAILED) return reports;
                    continue;
                }
                return quarantine(device, every, attempt.method(), Result.FAILED, ended.reason() + "; " + every);
            }
            return reports;
        });
    }

    private interface Body {
        List<RecoveryReport> run();
    }

    /** Runs {@code body} holding the device's pass through the gate; refused when it cannot be had in time. */
    private List<RecoveryReport> withPass(GpuDevice device, Hardware hw, RecoveryMethod method, Body body) {
        DisruptionGate.Pass pass;
        long t0 = System.nanoTime();
        try {
            pass = gate.enter(Exclusion.keys(device, hw), t0 + timeouts.worstCase().toNanos(),
                    why -> log.info("recovery-waiting", "card", device.card(), "bdf", device.bdf(), why));
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return finish(Result.REFUSED, method, "interrupted while waiting for its turn; nothing done");
        }
        if (pass == null) {
            return finish(Result.REFUSED, method, "waited " + (System.nanoTime() - t0) / 1_000_000
                    + " ms for other recoveries on its bus or slot, or the host-wide cap; nothing done, the device is still wedged");
        }
        try (pass) {
            if (mailbox.stopRequested() && journal.isPresent() && recoveryId > 0) {
                // asked to stop while this wedge waited for its turn: nothing is started now (the stop would cut it off)
                leftForTheNextStart(device.card());
                return reports;
            }
            return body.run();
        }
    }

    /** A new journal row for the next attempt of the same wedge; false when it cannot be journaled (nothing more is tried). */
    private boolean beginAttempt() {
        long previous = recoveryId;
        steps = new ArrayList<>();
        started = System.nanoTime();
        journalGap = "";
        if (journal.isEmpty()) return true;
        try {
            recoveryId = journal.get().beginEscalation(eventId, event, previous);
            return true;
        } catch (JournalException e) {
            log.error("journal-failed", "card", event.card(), "bdf", event.bdf(), "error", e.getMessage(),
                    "cannot journal the escalation: not escalating");
            return false;
        }
    }

    private record Ended(Result result, String reason) {}

    private Ended attempt(Decision.Attempt attempt, GpuDevice device, Hardware hw) {
        device = now(device);
        var method = attempt.method();
        String driver = device.driver().orElseThrow();
        log.info("recovery-start", "card", device.card(), "bdf", device.bdf(), "driver", driver, "method", method,
                "seqnum", event.seqnum(), "task", event.task().orElse(null), "steps", String.join(",", attempt.steps().stream().map(Step::toString).toList()),
                attempt.why());
        var pre = new LinkedHashMap<>(Hook.environment(Hook.Phase.PRE, event, device.driver()));
        pre.put("UNWEDGE_METHOD", method.token());
        hook(Hook.Phase.PRE, policy.preRecovery(), device, pre);
        Ended ended = null;
        for (var step : attempt.steps()) {
            StepResult r;
            try {
                r = switch (step) {
                    case DRAIN -> drain(device, method);
                    case UNBIND -> unbind(device, hw, method);
                    case RESET -> reset(device, method);
                    case REMOVE -> remove(device, hw, method);
                    case POWER_OFF -> powerOff(device, hw.slot().orElseThrow(), method);
                    case POWER_ON -> powerOn(device, hw.slot().orElseThrow(), method);
                    case RESCAN -> rescan(device, method);
                    case BIND -> bind(device, hw, method);
                    case COMMAND -> command(device, method);
                    case SETTLE -> settle(device, method);
                };
            } catch (JournalException e) {
                // only before the device was touched: after, a journal failure is survived (intentOnceTouched)
                log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "seqnum", event.seqnum(), "step", step, "error", e.getMessage(),
                        "the " + step + " step's intent cannot be journaled: the recovery is refused before it");
                ended = new Ended(Result.REFUSED, "journal cannot be written: " + e.reason()
                        + (signalled ? "; its holders were signalled, nothing unbound" : "; nothing done") + ", the device is still wedged");
                break;
            }
            if (step == Step.DRAIN && r.outcome() == Outcome.REFUSED) {
                ended = new Ended(Result.REFUSED, r.detail() + "; nothing " + (touched ? "more done" : "unbound, the device is still wedged"));
                break;
            }
            if (r.outcome() != Outcome.OK) {
                ended = new Ended(Result.FAILED, step + " " + r.outcome() + ": " + r.detail() + "; device " + state(device, hw));
                break;
            }
            if ((step == Step.BIND || step == Step.COMMAND) && policy.verifyIoctl()) {
                var v = verify(device);
                if (v.isPresent()) {
                    ended = new Ended(Result.FAILED, "verify: " + v.get() + "; device " + state(device, hw));
                    break;
                }
            }
            if (step == Step.BIND || step == Step.COMMAND) {
                var after = topology.byBdf(device.bdf());
                log.info("recovery-verified", "card", after.map(GpuDevice::card).orElse(null), "bdf", device.bdf(), "was", device.card(),
                        "driver", after.flatMap(GpuDevice::driver).orElse(null), "method", method);
            }
        }
        restoreResetMethod(device);
        if (ended == null) ended = new Ended(Result.RECOVERED, attempt.why());
        var outcome = ended;
        hook(Hook.Phase.POST, policy.postRecovery(), device, Hook.environment(event, device.driver(), outcome.result(), Optional.of(method),
                outcome.reason(), topology.byBdf(device.bdf()).map(GpuDevice::card)));
        return ended;
    }

    /** {@code DRM_IOCTL_VERSION} on the device's render node (or card node); empty when it answered. */
    private Optional<String> verify(GpuDevice device) {
        var now = topology.byBdf(device.bdf());
        if (now.isEmpty()) return Optional.of("device gone before it could be verified");
        var minors = now.get().minors();
        String node = minors.stream().filter(m -> m.startsWith("renderD")).findFirst().orElse(now.get().card());
        Path path = drain.dev().resolve("dri").resolve(node);
        try {
            var v = io.unwedge.host.os.DrmIoctl.version(path);
            log.info("recovery-verified", "bdf", device.bdf(), "node", path, "drm", v.toString(), "DRM_IOCTL_VERSION answered");
            return Optional.empty();
        } catch (IOException e) {
            return Optional.of("DRM_IOCTL_VERSION on " + path + " failed: " + e.getMessage());
        }
    }

    /** The state a failed attempt left the device in, with what an operator would do about it. */
    private String state(GpuDevice device, Hardware hw) {
        var bdf = device.bdf();
        String driver = device.driver().orElse("<driver>");
        if (!topology.isPresent(bdf)) {
            return "removed from sysfs; bring it back: echo 1 > " + topology.sysfs().pciRescan()
                    + hw.slot().map(s -> " (slot " + s.name() + " may be powered off: echo 1 > " + topology.sysfs().pciSlots().resolve(s.name()).resolve("power") + ")").orElse("");
        }
        if (topology.isUnbound(bdf)) {
            return "left unbound; bind it by hand: echo " + bdf + " > " + topology.sysfs().pciDriver(driver).resolve("bind");
        }
        boolean unbound = steps.stream().anyMatch(s -> s.step() == Step.UNBIND && s.outcome() == Outcome.OK);
        if (!unbound) return "still bound to " + driver + " (nothing changed)";
        return topology.isUp(bdf) ? "bound, and wedged again" : "bound but without a card minor";
    }

    // ---- the steps -------------------------------------------------------------------------------

    /**
     * The drain step (contract §4): nobody may still use the device when it is unbound. Its signals are
     * disruptive, so its intent is journaled first, as the unbind's is.
     */
    private StepResult drain(GpuDevice device, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.DRAIN, device);
        long t0 = System.nanoTime();
        var d = drain.run(device);
        var r = new StepResult(Step.DRAIN, d.proceed() ? Outcome.OK : Outcome.REFUSED, (System.nanoTime() - t0) / 1_000_000, d.detail());
        var done = ended(intent, r, device, method);
        recordDrain(intent, d, device);
        if (d.holders().stream().anyMatch(h -> h.signal().isPresent())) signalled = true;
        return done;
    }

    /**
     * The drain's holders, one journal row each, with its step (none for the quarantine's drain). Their signals
     * were sent under the step's durable intent; a failure to keep the rows is said, and the next intent (the
     * unbind's) decides whether the recovery may go on.
     */
    private void recordDrain(Optional<Journal.Intent> intent, Drain.Result d, GpuDevice device) {
        if (journal.isEmpty() || recoveryId < 0 || d.holders().isEmpty()) return;
        try {
            journal.get().recordDrain(recoveryId, intent, d.holders());
        } catch (JournalException e) {
            log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "step", Step.DRAIN, "error", e.getMessage(),
                    "the drain's holders are not journaled (" + d.holders().size() + "); they are in the drain's log lines");
            if (journalGap.isEmpty()) journalGap = "; journal incomplete from the drain's holders: " + e.reason();
        }
    }

    /**
     * What a restart must put back if the daemon dies before this attempt ends; written before the step's
     * intent, and durable with it. As for an intent, a journal that cannot take it refuses the step while
     * nothing is touched, and is said and carried on from after.
     */
    private void toRestore(List<Journal.Restore> items, Step step, GpuDevice device) throws JournalException {
        if (journal.isEmpty() || recoveryId < 0 || items.isEmpty()) return;
        try {
            journal.get().toRestore(recoveryId, items);
        } catch (JournalException e) {
            if (!touched) throw e;
            journalFailed(step, device, e);
        }
    }

    /** Unbind the GPU; for a reset, every bound function of the device first (they share the reset). */
    private StepResult unbind(GpuDevice device, Hardware hw, RecoveryMethod method) throws JournalException {
        var bdf = device.bdf();
        String driver = device.driver().orElseThrow();
        recordDriver(driver, method, device);
        var writes = new ArrayList<Write>();
        var siblings = new ArrayList<Journal.Restore>();
        if (method != RecoveryMethod.REBIND) {
            for (var f : hw.siblings()) {
                var now = topology.functionDir(f.bdf()).flatMap(Sysfs::driverOf);
                now.ifPresent(d -> writes.add(new Write(topology.sysfs().pciDriver(d).resolve("unbind"), f.bdf() + "\n")));
                // unbound already (an earlier attempt of this wedge failed before its bind): the driver it had then
                now.or(f::driver).ifPresent(d -> siblings.add(new Journal.Restore(Journal.Restore.Kind.BIND, f.bdf(), d)));
            }
        }
        toRestore(siblings, Step.UNBIND, device); // durable with the intent: sysfs forgets a function's driver once it is unbound
        var intent = intentOnceTouched(Step.UNBIND, device);
        if (!topology.isUnbound(bdf)) writes.add(new Write(topology.sysfs().pciDriver(driver).resolve("unbind"), bdf + "\n"));
        if (writes.isEmpty()) return ended(intent, new StepResult(Step.UNBIND, Outcome.OK, 0, "already unbound"), device, method);
        BooleanSupplier done = () -> topology.isUnbound(bdf)
                && (method == RecoveryMethod.REBIND || hw.siblings().stream().allMatch(f -> topology.isUnbound(f.bdf())));
        return writeAndWait(Step.UNBIND, intent, device, method, writes, done, timeouts.unbind(), "driver link(s) still there");
    }

    /**
     * {@code <BDF>/reset} under the configured {@code reset_method}; the original list is written back after,
     * whatever the reset did. The kernel's write returns when the reset is done.
     */
    private StepResult reset(GpuDevice device, RecoveryMethod method) throws JournalException {
        var function = topology.functionDir(device.bdf());
        var wanted = policy.methods().resetMethod();
        var original = function.flatMap(f -> Sysfs.readTrimmed(f.resolve("reset_method")));
        String restoreTo = original.filter(o -> !o.isBlank()).orElse("default");
        // durable with the intent: a daemon that dies after the write leaves the next start to write it back
        if (!wanted.isEmpty() && function.isPresent()) {
            toRestore(List.of(new Journal.Restore(Journal.Restore.Kind.RESET_METHOD, device.bdf(), restoreTo)), Step.RESET, device);
        }
        var intent = intentOnceTouched(Step.RESET, device);
        long t0 = System.nanoTime();
        Outcome outcome = Outcome.OK;
        String detail;
        if (function.isEmpty()) {
            return ended(intent, new StepResult(Step.RESET, Outcome.ERROR, 0, device.bdf() + " is gone from sysfs"), device, method);
        }
        Path resetMethod = function.get().resolve("reset_method");
        String how = original.map(o -> "reset_method '" + o + "'").orElse("");
        touched = true; // a write that fails may still have been carried out
        try {
            if (!wanted.isEmpty()) {
                writer.write(resetMethod, String.join(" ", wanted) + "\n");
                how = "reset_method '" + String.join(" ", wanted) + "'";
            }
            writer.write(function.get().resolve("reset"), "1\n");
            CrashPoint.afterWrite(Step.RESET);
            detail = "wrote 1 to " + function.get().resolve("reset") + (how.isEmpty() ? "" : " with " + how);
        } catch (TimeoutException e) {
            outcome = Outcome.TIMEOUT;
            detail = "reset did not return within " + writer.timeout().toMillis() + " ms";
        } catch (IOException e) {
            outcome = Outcome.ERROR;
            detail = "reset: " + e.getMessage();
        } finally {
            if (!wanted.isEmpty()) restoreResetMethod = Optional.of(new Write(resetMethod, restoreTo + "\n"));
        }
        return ended(intent, new StepResult(Step.RESET, outcome, (System.nanoTime() - t0) / 1_000_000, detail), device, method);
    }

    /**
     * The original {@code reset_method}, written back when the attempt ends, not at once: the reset is done
     * when its write returns on a real host, but where resets are queued (the simulator) the bind is what
     * proves it was carried out.
     */
    private Optional<Write> restoreResetMethod = Optional.empty();

    private void restoreResetMethod(GpuDevice device) {
        if (restoreResetMethod.isEmpty()) return;
        var w = restoreResetMethod.get();
        restoreResetMethod = Optional.empty();
        try {
            writer.write(w.attribute(), w.value());
        } catch (IOException | TimeoutException e) {
            log.error("reset-method-not-restored", "bdf", device.bdf(), "was", w.value().strip(), "error", e.getMessage(),
                    "restore it by hand: echo '" + w.value().strip() + "' > " + w.attribute());
        }
    }

    /**
     * {@code remove} of each function of the device, siblings first (contract §4: the cold reset's script
     * removes the device before it powers the slot off; a bus reset by re-enumeration removes it too).
     */
    private StepResult remove(GpuDevice device, Hardware hw, RecoveryMethod method) throws JournalException {
        // a cold reset's slot, for a restart that finds the device removed and must finish the power cycle
        var intent = intentOnceTouched(Step.REMOVE, device, method == RecoveryMethod.COLD_RESET ? SLOT_PREFIX + hw.slot().orElseThrow().name() : null);
        var targets = new ArrayList<PciAddress>();
        hw.siblings().forEach(f -> targets.add(f.bdf()));
        targets.add(device.bdf());
        var writes = new ArrayList<Write>();
        for (var t : targets) topology.functionDir(t).ifPresent(dir -> writes.add(new Write(dir.resolve("remove"), "1\n")));
        if (writes.isEmpty()) return ended(intent, new StepResult(Step.REMOVE, Outcome.OK, 0, "already removed"), device, method);
        BooleanSupplier done = () -> targets.stream().noneMatch(topology::isPresent);
        return writeAndWait(Step.REMOVE, intent, device, method, writes, done, timeouts.reset(), "still in sysfs");
    }

    /** Power the slot off and hold it off for {@code power_off} (contract §4: "after ~2 s"). */
    private StepResult powerOff(GpuDevice device, Hardware.Slot slot, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.POWER_OFF, device, SLOT_PREFIX + slot.name());
        Path power = topology.sysfs().pciSlots().resolve(slot.name()).resolve("power");
        var r = writeAndWait(Step.POWER_OFF, intent, device, method, List.of(new Write(power, "0\n")),
                () -> !topology.isPresent(device.bdf()), timeouts.reset(), "device still present");
        if (r.outcome() != Outcome.OK) return r;
        hold(timeouts.powerOff());
        return r;
    }

    private StepResult powerOn(GpuDevice device, Hardware.Slot slot, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.POWER_ON, device);
        Path power = topology.sysfs().pciSlots().resolve(slot.name()).resolve("power");
        return writeAndWait(Step.POWER_ON, intent, device, method, List.of(new Write(power, "1\n")), () -> true, timeouts.reset(), "");
    }

    /** {@code bus/pci/rescan}, then wait for the GPU's function to be back (the driver core may probe it at once). */
    private StepResult rescan(GpuDevice device, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.RESCAN, device);
        return writeAndWait(Step.RESCAN, intent, device, method, List.of(new Write(topology.sysfs().pciRescan(), "1\n")),
                () -> topology.isPresent(device.bdf()), timeouts.reset(), device.bdf() + " did not come back");
    }

    /**
     * Bind the GPU (and, after a reset, the functions unbound with it) unless the driver core's autoprobe did
     * already; a bind that finds the function bound ({@code EBUSY}) is that race, not a failure.
     */
    private StepResult bind(GpuDevice device, Hardware hw, RecoveryMethod method) throws JournalException {
        var bdf = device.bdf();
        var intent = intentOnceTouched(Step.BIND, device);
        var writes = new ArrayList<Write>();
        if (topology.isUnbound(bdf)) writes.add(new Write(topology.sysfs().pciDriver(device.driver().orElseThrow()).resolve("bind"), bdf + "\n"));
        if (method != RecoveryMethod.REBIND) {
            for (var f : hw.siblings()) {
                if (f.driver().isPresent() && topology.isPresent(f.bdf()) && topology.isUnbound(f.bdf())) {
                    writes.add(new Write(topology.sysfs().pciDriver(f.driver().get()).resolve("bind"), f.bdf() + "\n"));
                }
            }
        }
        return writeAndWait(Step.BIND, intent, device, method, writes, () -> topology.isUp(bdf), timeouts.bind(),
                "driver did not bind and create a card minor (probe failed or deferred?)");
    }

    /** vendor-specific: the driver's configured command; it must end 0 and leave the device up. */
    private StepResult command(GpuDevice device, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.COMMAND, device);
        touched = true;
        long t0 = System.nanoTime();
        var argv = policy.methods().vendorCommands().get(device.driver().orElseThrow());
        var ran = commands.run(Hook.Phase.VENDOR.toString(), argv, Hook.environment(Hook.Phase.VENDOR, event, device.driver()));
        Outcome outcome = ran.ok() ? Outcome.OK : Outcome.ERROR;
        String detail = String.join(" ", argv) + ": " + ran.summary();
        if (ran.ok()) {
            outcome = await(Step.COMMAND, () -> topology.isUp(device.bdf()), timeouts.bind());
            if (outcome != Outcome.OK) detail += "; the device is not up after it (" + outcome + ")";
        }
        return ended(intent, new StepResult(Step.COMMAND, outcome, (System.nanoTime() - t0) / 1_000_000, detail), device, method);
    }

    private StepResult settle(GpuDevice device, RecoveryMethod method) throws JournalException {
        var intent = intentOnceTouched(Step.SETTLE, device);
        long t0 = System.nanoTime();
        long deadline = t0 + timeouts.settle().toNanos();
        Outcome outcome = Outcome.OK;
        String detail = "no new wedge for " + timeouts.settle().toMillis() + " ms";
        ActorMessage m;
        while ((m = next(deadline)) != null) {
            if (m instanceof ActorMessage.Wedge(var w, _, _)) {
                if (sentBeforeTheUnbind(w)) continue;
                outcome = Outcome.REWEDGED;
                detail = "wedged again (" + w.rawMethods() + ", seqnum " + w.seqnum() + ") "
                        + (System.nanoTime() - t0) / 1_000_000 + " ms after it came back";
                break;
            }
        }
        if (outcome == Outcome.OK && !topology.isUp(device.bdf())) {
            outcome = Outcome.ERROR;
            detail = "device lost its driver or card while settling";
        }
        return ended(intent, new StepResult(Step.SETTLE, outcome, (System.nanoTime() - t0) / 1_000_000, detail), device, method);
    }

    // ---- the step machinery ----------------------------------------------------------------------

    /** One sysfs write of a step. */
    private record Write(Path attribute, String value) {}

    /** What a failed sysfs write of a step means. */
    enum WriteFailure { ALREADY_DONE, DEFERRED, FAILED }

    /**
     * What a write of {@code step} that failed with {@code message} (the kernel's strerror: the JDK gives no errno
     * for a failed write) means: done already when the step's effect holds (an unbind's ENODEV after another
     * unbind got there first) or, for a bind, on EBUSY (autoprobe bound it); deferred on a bind's EAGAIN (the
     * probe was deferred and may still come: the step waits on); otherwise failed.
     */
    static WriteFailure failedWrite(Step step, String message, BooleanSupplier done) {
        boolean bind = step == Step.BIND;
        String why = String.valueOf(message).toLowerCase(java.util.Locale.ROOT);
        if ((step == Step.UNBIND || step == Step.REMOVE || step == Step.BIND) && done.getAsBoolean()) return WriteFailure.ALREADY_DONE;
        if (bind && why.contains("device or resource busy")) return WriteFailure.ALREADY_DONE;
        if (bind && why.contains("resource temporarily unavailable")) return WriteFailure.DEFERRED;
        return WriteFailure.FAILED;
    }

    /** Sysfs writes, then a wait for their effect. */
    private StepResult writeAndWait(Step step, Optional<Journal.Intent> intent, GpuDevice device, RecoveryMethod method, List<Write> writes,
                                    BooleanSupplier done, Duration timeout, String notDone) {
        long t0 = System.nanoTime();
        String detail;
        Outcome outcome;
        try {
            var wrote = new ArrayList<String>();
            if ((step == Step.UNBIND || step == Step.REMOVE) && !writes.isEmpty()) departure.expect(device);
            for (var w : writes) {
                try {
                    touched = true;
                    writer.write(w.attribute(), w.value());
                    wrote.add(w.value().strip() + " to " + w.attribute());
                } catch (IOException e) {
                    switch (failedWrite(step, e.getMessage(), done)) {
                        case ALREADY_DONE -> wrote.add(w.value().strip() + " to " + w.attribute() + " (already done: " + e.getMessage() + ")");
                        case DEFERRED -> wrote.add(w.value().strip() + " to " + w.attribute() + " (probe deferred: " + e.getMessage() + "; waiting for it)");
                        case FAILED -> throw e;
                    }
                }
            }
            CrashPoint.afterWrite(step);
            if (step == Step.UNBIND && receivedNanos > 0 && latencyMicros == null) latencyMicros = (System.nanoTime() - receivedNanos) / 1_000;
            outcome = await(step, done, timeout);
            detail = switch (outcome) {
                case OK -> wrote.isEmpty() ? "nothing to write: done already" : "wrote " + String.join(", ", wrote);
                case REWEDGED -> "wedged again while probing (" + rewedge.rawMethods() + ", seqnum " + rewedge.seqnum() + ")";
                default -> notDone + " after " + timeout.toMillis() + " ms";
            };
        } catch (TimeoutException e) {
            outcome = Outcome.TIMEOUT;
            detail = "a write did not return within " + writer.timeout().toMillis() + " ms";
        } catch (IOException e) {
            outcome = Outcome.ERROR;
            detail = "write: " + e.getMessage();
        }
        return ended(intent, new StepResult(step, outcome, (System.nanoTime() - t0) / 1_000_000, detail), device, method);
    }

    /** Journals and logs a step's end. */
    private StepResult ended(Optional<Journal.Intent> intent, StepResult r, GpuDevice device, RecoveryMethod method) {
        steps.add(r);
        if (intent.isPresent()) {
            try {
                journal.orElseThrow().stepEnded(intent.get(), r);
            } catch (JournalException e) {
                journalFailed(r.step(), device, e);
            }
        }
        var level = r.outcome() == Outcome.OK ? EventLog.Level.INFO : r.step() == Step.DRAIN ? EventLog.Level.WARN : EventLog.Level.ERROR;
        log.log(level, "recovery-step", "card", r.step() == Step.SETTLE ? topology.byBdf(device.bdf()).map(GpuDevice::card).orElse(device.card()) : device.card(),
                "bdf", device.bdf(), "method", method, "step", r.step(), "outcome", r.outcome(), "ms", r.millis(),
                "latency_us", r.step() == Step.UNBIND ? latencyMicros : null, r.detail());
        if (r.outcome() == Outcome.OK) CrashPoint.afterDone(r.step());
        return r;
    }

    /** The driver the attempt unbinds: a restart binds the device back with it (sysfs forgets it with the link). */
    private void recordDriver(String driver, RecoveryMethod method, GpuDevice device) throws JournalException {
        if (journal.isEmpty()) return;
        try {
            journal.get().driver(recoveryId, driver, method);
        } catch (JournalException e) {
            if (!touched) throw e;
            journalFailed(Step.UNBIND, device, e);
        }
    }

    /** The step's intent, durable when this returns; empty without a journal. */
    private Optional<Journal.Intent> intent(Step step, String about) throws JournalException {
        if (journal.isEmpty()) return Optional.empty();
        var intent = journal.get().intent(recoveryId, step, about);
        CrashPoint.afterIntent(step);
        return Optional.of(intent);
    }

    /** What a power-off's intent says it is about: the slot, for a restart that finds the device gone. */
    static final String SLOT_PREFIX = "slot ";

    /** Once the device was touched, it must be brought back, journaled or not: a failure is said and survived. */
    private Optional<Journal.Intent> intentOnceTouched(Step step, GpuDevice device) throws JournalException {
        return intentOnceTouched(step, device, null);
    }

    private Optional<Journal.Intent> intentOnceTouched(Step step, GpuDevice device, String about) throws JournalException {
        if (!touched) return intent(step, about);
        try {
            return intent(step, about);
        } catch (JournalException e) {
            journalFailed(step, device, e);
            return Optional.empty();
        }
    }

    private void journalFailed(Step step, GpuDevice device, JournalException e) {
        log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "step", step, "error", e.getMessage(),
                "carrying on unjournaled: once the device was touched, getting it back matters more than the record");
        if (journalGap.isEmpty()) journalGap = "; journal incomplete from " + step + ": " + e.getMessage();
    }

    /**
     * Waits until {@code done} holds, re-checking on each uevent about the device. A wedge while unbinding or
     * removing is the old driver instance repeating itself; one while the device comes back (rescan, bind,
     * a vendor command) comes from the new instance, and means the attempt failed.
     */
    private Outcome await(Step step, BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            var m = next(deadline);
            if (m == null) return done.getAsBoolean() ? Outcome.OK : Outcome.TIMEOUT;
            if (m instanceof ActorMessage.Wedge(var w, _, _)) {
                if (sentBeforeTheUnbind(w)) continue;
                if (step == Step.BIND || step == Step.RESCAN || step == Step.COMMAND) {
                    rewedge = w;
                    return Outcome.REWEDGED;
                }
                log.info("wedge-ignored", "card", w.card(), "bdf", w.bdf(), "seqnum", w.seqnum(), "already recovering this device");
            }
        }
        return Outcome.OK;
    }

    /** Holds for {@code d}, reading the mailbox meanwhile: the hardware's time, not a wait for a condition. */
    private void hold(Duration d) {
        long deadline = System.nanoTime() + d.toNanos();
        while (next(deadline) != null) {
            // events about a powered-off device change nothing
        }
    }

    /**
     * The device as sysfs has it now: an earlier attempt's bind may have given it another card number (and
     * another GPU the old one); as resolved before when it has no card now.
     */
    private GpuDevice now(GpuDevice device) {
        return topology.byBdf(device.bdf()).orElse(device);
    }

    /** The mailbox's next message before {@code deadline}, noting the old driver instance's departure. */
    private ActorMessage next(long deadline) {
        var m = mailbox.next(deadline);
        departure.saw(m);
        return m;
    }

    /** Whether {@code w} came before this attempt's unbind took the old driver instance away (see {@link Departure}). */
    private boolean sentBeforeTheUnbind(WedgedEvent w) {
        if (!departure.pending()) return false;
        log.info("wedge-ignored", "card", w.card(), "bdf", w.bdf(), "seqnum", w.seqnum(),
                "sent by the driver instance this recovery unbound, before its unbind uevent");
        return true;
    }

    // ---- handing off, quarantine, the end --------------------------------------------------------

    private List<RecoveryReport> handoff(Decision.Handoff h, GpuDevice device) {
        var to = h.to();
        if (dryRun) {
            log.info("plan", "card", device.card(), "bdf", device.bdf(), "method", h.method(), "seqnum", event.seqnum(),
                    "handoff", to.kind(), "would " + (to.command().isEmpty() ? "alert" : "run " + String.join(" ", to.command()))
                            + " (dry run: nothing done)", h.reason());
            return finish(Result.DRY_RUN, h.method(), h.reason());
        }
        if (to.kind() == MethodPolicy.Handoff.Kind.ALERT) {
            log.error("recovery-alert", "card", device.card(), "bdf", device.bdf(), "methods", event.rawMethods(), "seqnum", event.seqnum(),
                    h.reason() + "; the device stays as it is: an operator must act");
            return finish(Result.HANDED_OFF, h.method(), h.reason() + "; alerted, the device is left as it is");
        }
        var phase = switch (to.kind()) {
            case HOOK -> Hook.Phase.UNKNOWN;
            case REQUEST_REBOOT -> Hook.Phase.REBOOT;
            case FIRMWARE_FLASH -> Hook.Phase.FIRMWARE;
            case ALERT -> throw new AssertionError();
        };
        var ran = commands.run(phase.toString(), to.command(), Hook.environment(phase, event, device.driver()));
        log.log(ran.ok() ? EventLog.Level.WARN : EventLog.Level.ERROR, "recovery-handoff", "card", device.card(), "bdf", device.bdf(),
                "to", to.kind(), "ok", ran.ok(), String.join(" ", to.command()) + ": " + ran.summary());
        return finish(Result.HANDED_OFF, h.method(), h.reason() + "; ran " + String.join(" ", to.command()) + ": " + ran.summary());
    }

    /**
     * Quarantines the device: journaled, and by the configured mode left unbound (drained first) or as it is.
     * Its wedges are refused until {@code unwedge release}.
     */
    private List<RecoveryReport> quarantine(GpuDevice resolved, String why, RecoveryMethod method, Result result, String reason) {
        var device = now(resolved);
        var mode = policy.safety().quarantine();
        // durable before the drain and the unbind: a daemon that dies between them leaves a restart that sees the
        // quarantine, and does not bind the device back
        try {
            history.quarantine(new Quarantine(device.bdf(), clock(), why, mode));
        } catch (JournalException e) {
            log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "error", e.getMessage(),
                    "the quarantine is not journaled: it ends with this daemon");
        }
        String left = "";
        if (mode == QuarantineMode.UNBOUND && !topology.isUnbound(device.bdf()) && topology.isPresent(device.bdf())) {
            var d = drain.run(device);
            recordDrain(Optional.empty(), d, device);
            if (!d.proceed()) {
                left = "; left bound: " + d.detail();
            } else {
                try {
                    writer.write(topology.sysfs().pciDriver(device.driver().orElseThrow()).resolve("unbind"), device.bdf() + "\n");
                    touched = true;
                    left = await(Step.UNBIND, () -> topology.isUnbound(device.bdf()), timeouts.unbind()) == Outcome.OK
                            ? "; left unbound" : "; unbind did not take effect, left as it is";
                } catch (IOException | TimeoutException e) {
                    left = "; unbind failed (" + e.getMessage() + "), left as it is";
                }
            }
        } else {
            left = mode == QuarantineMode.UNBOUND ? "; left unbound" : "; left as it is (excluded)";
        }
        log.error("quarantined", "card", device.card(), "bdf", device.bdf(), "mode", mode, why + left
                + "; release it with: unwedge release " + device.bdf());
        return finish(result, method, reason + "; quarantined" + left);
    }

    private Instant clock() {
        return journal.map(j -> j.clock().instant()).orElseGet(Instant::now);
    }

    /** A pre- or post-recovery hook: its failure is said, and changes nothing. */
    private void hook(Hook.Phase phase, List<String> argv, GpuDevice device, Map<String, String> env) {
        if (argv.isEmpty()) return;
        var ran = commands.run(phase.toString(), argv, env);
        log.log(ran.ok() ? EventLog.Level.INFO : EventLog.Level.WARN, "hook", "phase", phase, "card", device.card(), "bdf", device.bdf(),
                "ok", ran.ok(), String.join(" ", argv) + ": " + ran.summary());
    }

    private List<RecoveryReport> dryRun(Decision.Recover plan, GpuDevice device, Hardware hw, Safety.Verdict verdict) {
        for (var a : plan.ladder()) {
            log.info("plan", "card", device.card(), "bdf", device.bdf(), "method", a.method(), "seqnum", event.seqnum(),
                    "steps", String.join(",", a.steps().stream().map(Step::toString).toList()), a.why() + " (dry run: nothing done)");
        }
        for (var s : plan.skipped()) {
            log.info("plan", "card", device.card(), "bdf", device.bdf(), "method", s.method(), "skipped", s.why());
        }
        log.info("plan", "card", device.card(), "bdf", device.bdf(), "safety", verdict instanceof Safety.Verdict.Allow ? "allow" : "deny",
                verdict.reason());
        drain.preview(device);
        return finish(Result.DRY_RUN, plan.first().method(), plan.reason() + "; safety: " + verdict.reason());
    }

    private List<RecoveryReport> finish(Result result, RecoveryMethod method, String reason) {
        long ms = (System.nanoTime() - started) / 1_000_000;
        var after = result == Result.RECOVERED || result == Result.FAILED
                ? topology.byBdf(event.bdf()).map(GpuDevice::card) : Optional.<String>empty();
        var level = switch (result) {
            case RECOVERED, NOTHING_TO_DO, DRY_RUN -> EventLog.Level.INFO;
            case REFUSED, HANDED_OFF -> EventLog.Level.WARN;
            case FAILED -> EventLog.Level.ERROR;
        };
        reason += journalGap;
        log.log(level, "recovery-end", "card", event.card(), "bdf", event.bdf(), "method", method, "seqnum", event.seqnum(),
                "outcome", result, "card_after", after.orElse(null), "ms", ms, reason);
        // refused before the device was resolved (the journal): it is untouched, so sysfs still names its driver
        if (driver.isEmpty()) driver = topology.byBdf(event.bdf()).flatMap(GpuDevice::driver);
        var report = new RecoveryReport(event, event.bdf(), Optional.ofNullable(method), result, reason, steps, after, ms,
                Optional.ofNullable(latencyMicros), driver);
        reports.add(report);
        if (journal.isPresent() && recoveryId >= 0) {
            CrashPoint.beforeEnd();
            try {
                journal.get().endRecovery(recoveryId, report);
            } catch (JournalException e) {
                log.error("journal-failed", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), "error", e.getMessage(),
                        "the recovery's end is not journaled");
            }
        }
        return reports;
    }
}
