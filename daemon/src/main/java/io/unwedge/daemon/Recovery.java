package io.unwedge.daemon;

import io.unwedge.core.Decision;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Planner;
import io.unwedge.core.Step;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import io.unwedge.host.sysfs.Topology;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * One wedge, handled: resolve the device, decide, and run the plan step by step. Waits are driven by the
 * device's own uevents (the actor's mailbox) and end at a deadline; sysfs is re-read on every event, never
 * on a timer. Runs on the device's actor thread, so nothing else happens to the device meanwhile.
 *
 * <h2>The journal</h2>
 * With a journal, the event and the recovery are recorded first, and each step's intent is durable before
 * the step's sysfs write runs, its end after. The rule on a journal failure: nothing disruptive starts
 * unjournaled — a failure before the unbind ends the recovery {@code refused} ("cannot journal: …") with
 * the device untouched. Once the device is unbound, binding it again matters more than the record: a
 * failure there is logged, the recovery carries on, and its reason says the journal is incomplete.
 */
final class Recovery {

    private final WedgedEvent event;
    private final long receivedNanos;
    private final Topology topology;
    private final Timeouts timeouts;
    private final boolean dryRun;
    private final EventLog log;
    private final Mailbox mailbox;
    private final SysfsWriter writer;
    private final Optional<Journal> journal;
    private final Drain drain;
    private long recoveryId = -1; // the journal's row, once written
    private String journalGap = ""; // what could not be journaled after the unbind
    private final List<StepResult> steps = new ArrayList<>();
    private final long started = System.nanoTime();
    private Long latencyMicros;

    Recovery(WedgedEvent event, long receivedNanos, Topology topology, Timeouts timeouts, boolean dryRun, EventLog log,
             Mailbox mailbox, SysfsWriter writer, Optional<Journal> journal, Drain drain) {
        this.event = event;
        this.receivedNanos = receivedNanos;
        this.topology = topology;
        this.timeouts = timeouts;
        this.dryRun = dryRun;
        this.log = log;
        this.mailbox = mailbox;
        this.writer = writer;
        this.journal = journal;
        this.drain = drain;
    }

    RecoveryReport run() {
        if (journal.isPresent()) {
            var j = journal.get();
            try {
                Instant receivedAt = receivedNanos > 0
                        ? j.clock().instant().minusNanos(System.nanoTime() - receivedNanos) : j.clock().instant();
                recoveryId = j.beginRecovery(j.recordEvent(event, receivedAt), event);
            } catch (JournalException e) {
                return finish(Result.REFUSED, null, "cannot journal: " + e.getMessage() + "; nothing done");
            }
        }
        GpuDevice device;
        switch (topology.resolve(event)) {
            case Topology.Resolution.Found(var d) -> device = d;
            case Topology.Resolution.Gone(var reason) -> {
                return finish(Result.REFUSED, null, "device gone: " + reason);
            }
            case Topology.Resolution.Invalid(var reason) -> {
                return finish(Result.REFUSED, null, "invalid event: " + reason);
            }
        }
        return switch (Planner.decide(event, device)) {
            case Decision.NothingToDo(var reason) -> finish(Result.NOTHING_TO_DO, null, reason);
            case Decision.Refuse(var reason) -> finish(Result.REFUSED, null, reason);
            case Decision.Recover r -> dryRun ? dryRun(r, device) : rebind(r, device);
        };
    }

    private RecoveryReport dryRun(Decision.Recover plan, GpuDevice device) {
        String driver = device.driver().orElseThrow();
        log.info("plan", "card", device.card(), "bdf", device.bdf(), "method", plan.method(), "seqnum", event.seqnum(),
                "steps", String.join(",", plan.steps().stream().map(Step::toString).toList()),
                "would write " + device.bdf() + " to " + topology.sysfs().pciDriver(driver).resolve("unbind")
                        + " then bind (dry run: nothing done)");
        drain.preview(device);
        return finish(Result.DRY_RUN, plan.method(), plan.reason());
    }

    private RecoveryReport rebind(Decision.Recover plan, GpuDevice device) {
        var bdf = device.bdf();
        String driver = device.driver().orElseThrow();
        Path driverDir = topology.sysfs().pciDriver(driver);
        log.info("recovery-start", "card", device.card(), "bdf", bdf, "driver", driver, "method", plan.method(),
                "seqnum", event.seqnum(), "task", event.task().orElse(null), plan.reason());

        var drained = drain(device, plan.method());
        if (!drained.proceed()) return finish(Result.REFUSED, plan.method(), drained.detail() + "; nothing unbound, the device is still wedged");

        // unbind: after it the device has no driver; from here on a failure must say so
        Optional<Journal.Intent> unbindIntent;
        try {
            if (journal.isPresent()) journal.get().driver(recoveryId, driver); // a restart binds with it
            unbindIntent = intent(Step.UNBIND);
        } catch (JournalException e) {
            return finish(Result.REFUSED, plan.method(), "cannot journal: " + e.getMessage() + "; nothing done, the device is still wedged");
        }
        var unbind = step(Step.UNBIND, unbindIntent, device, plan.method(), driverDir.resolve("unbind"), bdf,
                () -> topology.isUnbound(bdf), timeouts.unbind());
        if (unbind.outcome() != Outcome.OK) {
            String state = topology.isUnbound(bdf) ? "left unbound" : "still bound to " + driver + " (nothing changed)";
            return finish(Result.FAILED, plan.method(), "unbind " + unbind.outcome() + ": " + unbind.detail() + "; device " + state);
        }
        var bind = step(Step.BIND, intentOnceUnbound(Step.BIND, device), device, plan.method(), driverDir.resolve("bind"), bdf,
                () -> topology.isUp(bdf), timeouts.bind());
        if (bind.outcome() != Outcome.OK) {
            String state = topology.isUnbound(bdf)
                    ? "left unbound; bind it by hand: echo " + bdf + " > " + driverDir.resolve("bind")
                    : topology.isUp(bdf) ? "bound, and wedged again" : "bound but without a card minor";
            return finish(Result.FAILED, plan.method(), "bind " + bind.outcome() + ": " + bind.detail() + "; device " + state);
        }
        var after = topology.byBdf(bdf);
        log.info("recovery-verified", "card", after.map(GpuDevice::card).orElse(null), "bdf", bdf,
                "was", device.card(), "driver", after.flatMap(GpuDevice::driver).orElse(null), "method", plan.method());
        var settle = settle(device, plan.method());
        if (settle.outcome() != Outcome.OK) {
            return finish(Result.FAILED, plan.method(), "settle " + settle.outcome() + ": " + settle.detail());
        }
        return finish(Result.RECOVERED, plan.method(), plan.reason());
    }

    /**
     * The drain step (contract §4): nobody may still use the device when it is unbound. Its signals are
     * disruptive, so its intent is journaled first, as the unbind's is.
     */
    private Drain.Result drain(GpuDevice device, RecoveryMethod method) {
        Optional<Journal.Intent> intent;
        try {
            intent = intent(Step.DRAIN);
        } catch (JournalException e) {
            return new Drain.Result(false, "cannot journal: " + e.getMessage());
        }
        long t0 = System.nanoTime();
        var d = drain.run(device);
        var r = new StepResult(Step.DRAIN, d.proceed() ? Outcome.OK : Outcome.REFUSED, (System.nanoTime() - t0) / 1_000_000, d.detail());
        steps.add(r);
        stepEnded(intent, r, device);
        log.log(d.proceed() ? EventLog.Level.INFO : EventLog.Level.WARN, "recovery-step", "card", device.card(), "bdf", device.bdf(),
                "method", method, "step", Step.DRAIN, "outcome", r.outcome(), "ms", r.millis(), d.detail());
        return d;
    }

    /** The step's intent, durable when this returns; empty without a journal. */
    private Optional<Journal.Intent> intent(Step step) throws JournalException {
        if (journal.isEmpty()) return Optional.empty();
        var intent = journal.get().intent(recoveryId, step);
        CrashPoint.afterIntent(step);
        return Optional.of(intent);
    }

    /** After the unbind the device must be bound again, journaled or not: a failure is said and survived. */
    private Optional<Journal.Intent> intentOnceUnbound(Step step, GpuDevice device) {
        try {
            return intent(step);
        } catch (JournalException e) {
            journalFailed(step, device, e);
            return Optional.empty();
        }
    }

    private void stepEnded(Optional<Journal.Intent> intent, StepResult r, GpuDevice device) {
        if (intent.isEmpty()) return;
        try {
            journal.orElseThrow().stepEnded(intent.get(), r);
        } catch (JournalException e) {
            journalFailed(r.step(), device, e);
        }
    }

    private void journalFailed(Step step, GpuDevice device, JournalException e) {
        log.error("journal-failed", "card", device.card(), "bdf", device.bdf(), "step", step, "error", e.getMessage(),
                "carrying on unjournaled: once the unbind was written, getting the device bound again matters more than the record");
        if (journalGap.isEmpty()) journalGap = "; journal incomplete from " + step + ": " + e.getMessage();
    }

    /** A sysfs write, then a wait for its effect. */
    private StepResult step(Step step, Optional<Journal.Intent> intent, GpuDevice device, RecoveryMethod method, Path attribute, PciAddress bdf,
                            BooleanSupplier done, Duration timeout) {
        long t0 = System.nanoTime();
        String detail;
        Outcome outcome;
        try {
            writer.write(attribute, bdf + "\n");
            CrashPoint.afterWrite(step);
            if (step == Step.UNBIND && receivedNanos > 0) latencyMicros = (System.nanoTime() - receivedNanos) / 1_000;
            outcome = await(step, done, timeout);
            detail = switch (outcome) {
                case OK -> "wrote " + bdf + " to " + attribute;
                case REWEDGED -> "wedged again while probing (" + rewedge.rawMethods() + ", seqnum " + rewedge.seqnum() + ")";
                default -> (step == Step.UNBIND ? "driver link still there"
                        : "driver did not bind and create a card minor (probe failed or deferred?)") + " after " + timeout.toMillis() + " ms";
            };
        } catch (TimeoutException e) {
            outcome = Outcome.TIMEOUT;
            detail = "write to " + attribute + " did not return within " + writer.timeout().toMillis() + " ms";
        } catch (IOException e) {
            outcome = Outcome.ERROR;
            detail = "write to " + attribute + ": " + e.getMessage();
        }
        var r = new StepResult(step, outcome, (System.nanoTime() - t0) / 1_000_000, detail);
        steps.add(r);
        stepEnded(intent, r, device);
        log.log(outcome == Outcome.OK ? EventLog.Level.INFO : EventLog.Level.ERROR, "recovery-step",
                "card", device.card(), "bdf", bdf, "method", method, "step", step, "outcome", outcome, "ms", r.millis(),
                "latency_us", step == Step.UNBIND ? latencyMicros : null, detail);
        if (outcome == Outcome.OK) CrashPoint.afterDone(step);
        return r;
    }

    /**
     * Waits until {@code done} holds, re-checking on each uevent about the device. A wedge while unbinding
     * is the old driver instance repeating itself; a wedge while binding comes from the new one, and
     * means the recovery failed.
     */
    private Outcome await(Step step, BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        while (!done.getAsBoolean()) {
            var m = mailbox.next(deadline);
            if (m == null) return done.getAsBoolean() ? Outcome.OK : Outcome.TIMEOUT;
            if (m instanceof ActorMessage.Wedge(var w, var ignored)) {
                if (step == Step.BIND) {
                    rewedge = w;
                    return Outcome.REWEDGED;
                }
                log.info("wedge-ignored", "card", w.card(), "bdf", w.bdf(), "seqnum", w.seqnum(), "already recovering this device");
            }
        }
        return Outcome.OK;
    }

    private WedgedEvent rewedge;

    private StepResult settle(GpuDevice device, RecoveryMethod method) {
        var intent = intentOnceUnbound(Step.SETTLE, device);
        long t0 = System.nanoTime();
        long deadline = t0 + timeouts.settle().toNanos();
        Outcome outcome = Outcome.OK;
        String detail = "no new wedge for " + timeouts.settle().toMillis() + " ms";
        ActorMessage m;
        while ((m = mailbox.next(deadline)) != null) {
            if (m instanceof ActorMessage.Wedge(var w, var ignored)) {
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
        var r = new StepResult(Step.SETTLE, outcome, (System.nanoTime() - t0) / 1_000_000, detail);
        steps.add(r);
        stepEnded(intent, r, device);
        log.log(outcome == Outcome.OK ? EventLog.Level.INFO : EventLog.Level.ERROR, "recovery-step",
                "card", topology.byBdf(device.bdf()).map(GpuDevice::card).orElse(device.card()), "bdf", device.bdf(),
                "method", method, "step", Step.SETTLE, "outcome", outcome, "ms", r.millis(), detail);
        return r;
    }

    private RecoveryReport finish(Result result, RecoveryMethod method, String reason) {
        long ms = (System.nanoTime() - started) / 1_000_000;
        var after = result == Result.RECOVERED || result == Result.FAILED
                ? topology.byBdf(event.bdf()).map(GpuDevice::card) : Optional.<String>empty();
        var level = switch (result) {
            case RECOVERED, NOTHING_TO_DO, DRY_RUN -> EventLog.Level.INFO;
            case REFUSED -> EventLog.Level.WARN;
            case FAILED -> EventLog.Level.ERROR;
        };
        reason += journalGap;
        log.log(level, "recovery-end", "card", event.card(), "bdf", event.bdf(), "method", method, "seqnum", event.seqnum(),
                "outcome", result, "card_after", after.orElse(null), "ms", ms, reason);
        var report = new RecoveryReport(event, event.bdf(), Optional.ofNullable(method), result, reason, steps, after, ms,
                Optional.ofNullable(latencyMicros));
        if (journal.isPresent() && recoveryId >= 0) {
            CrashPoint.beforeEnd();
            try {
                journal.get().endRecovery(recoveryId, report);
            } catch (JournalException e) {
                log.error("journal-failed", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), "error", e.getMessage(),
                        "the recovery's end is not journaled");
            }
        }
        return report;
    }
}
