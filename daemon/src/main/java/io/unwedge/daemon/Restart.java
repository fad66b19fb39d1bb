package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.safety.Exclusion;
import io.unwedge.daemon.StepResult.Outcome;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.JournalException;
import io.unwedge.daemon.journal.RecoveryRow;
import io.unwedge.daemon.journal.StepRow;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeoutException;
import java.util.function.BooleanSupplier;

/**
 * A recovery the journal holds as begun and never ended — the daemon died in it — reconciled with sysfs at
 * the next start, on the device's actor (so its waits read the device's uevents, as a recovery's do).
 *
 * <table>
 * <caption>What the restart finds, and does</caption>
 * <tr><th>found</th><th>journal</th><th>action</th><th>result</th></tr>
 * <tr><td>unbound</td><td>quarantined, left unbound (the daemon died in the quarantine's unbind)</td><td>quarantined:
 *     not bound back</td><td>failed</td></tr>
 * <tr><td>anything</td><td>begun before this boot</td><td>abandoned: the reboot reset the device; nothing is
 *     touched (a healthy GPU is not drained and rebound for a wedge of an earlier boot)</td><td>failed</td></tr>
 * <tr><td>function gone</td><td>a bus or cold reset removed it</td><td>the slot powered on again (when the journal shows
 *     it off), a rescan, then as below once the function is back</td><td>as below, or failed</td></tr>
 * <tr><td>function gone</td><td>anything else</td><td>abandoned</td><td>failed</td></tr>
 * <tr><td>unbound</td><td>names the driver</td><td>resumed: bind written, waited for the card, the settle window
 *     watched</td><td>recovered, or failed with the state (a wedge while settling fails it and escalates, as in a recovery)</td></tr>
 * <tr><td>unbound</td><td>no driver (v1 row)</td><td>abandoned, with the hand command</td><td>failed</td></tr>
 * <tr><td>bound, card up</td><td>unbind took effect</td><td>found-bound; the settle window watched when the daemon
 *     died before it ended</td><td>recovered (failed if it wedged again while settling, and escalated)</td></tr>
 * <tr><td>bound, card up</td><td>a step after the drain had failed</td><td>escalated: the next method of its ladder, as a
 *     running daemon would (a refused drain: found-bound, as it ended)</td><td>failed</td></tr>
 * <tr><td>bound, card up</td><td>unbind never took effect</td><td>retried: the wedge is handled again as a new recovery
 *     (an escalation's from the method after the attempt it followed)</td><td>failed</td></tr>
 * <tr><td>bound, no card</td><td>anything</td><td>waited for the card up to the bind deadline (a probe may be in
 *     flight); then as above, or abandoned: left as it is</td><td>as above, or failed</td></tr>
 * </table>
 *
 * <h2>Bound without a card</h2>
 * A driver bound with no primary minor after the bind deadline is a device that did not come back: not
 * recovered. It is left as it is, not unbound and bound again here: a probe that made no card once (xe's
 * survivability mode wants a firmware flash; a driver whose firmware would not load) does the same again,
 * and a restart has no ladder to escalate on. The reason says the state and what to do; a wedge the driver
 * sends again is a new recovery, with its own ladder.
 *
 * <h2>The gate</h2>
 * Past the checks that touch nothing (an earlier boot's row, a quarantine), a restart holds the function's bus
 * and slot through the {@link DisruptionGate}, as a recovery's steps do: its slot power, rescan and bind never
 * run beside a new wedge's recovery on the same bus or slot, nor past the host-wide cap. It waits for its pass
 * as long as it takes; a stop meanwhile leaves the row unfinished, for the next start.
 *
 * <h2>Settling</h2>
 * A device a restart brought back gets the settle window a recovery gives it: a wedge meanwhile fails the
 * recovery ({@code rewedged}) and escalates, as it does in a running daemon: the next method of the original
 * wedge's ladder runs as a recovery journaled as escalated from this one (the last method's failure
 * quarantines). Each outcome is one
 * {@code restarts} row plus the recovery's end, in one transaction, and one log line.
 */
final class Restart {

    private final RecoveryRow row;
    private final Topology topology;
    private final Timeouts timeouts;
    private final EventLog log;
    private final Mailbox mailbox;
    private final SysfsWriter writer;
    private final Journal journal;
    private final DisruptionGate gate;
    private final Optional<Instant> booted;

    /** @param booted when the running kernel booted; empty when it cannot be said (then no row is taken for an earlier boot's) */
    Restart(RecoveryRow row, Topology topology, Timeouts timeouts, EventLog log, Mailbox mailbox, SysfsWriter writer,
            Journal journal, DisruptionGate gate, Optional<Instant> booted) {
        this.row = row;
        this.topology = topology;
        this.timeouts = timeouts;
        this.log = log;
        this.mailbox = mailbox;
        this.writer = writer;
        this.journal = journal;
        this.gate = gate;
        this.booted = booted;
    }

    void run() {
        PciAddress bdf = row.bdf();
        List<StepRow> steps;
        try {
            steps = journal.show(row.id()).orElseThrow().steps();
        } catch (JournalException e) {
            log.error("restart-failed", "recovery", row.id(), "bdf", bdf, "error", e.getMessage(), "left unfinished in the journal");
            return;
        }
        String story = story(steps);
        boolean unbindTookEffect = steps.stream().anyMatch(s -> s.step() == Step.UNBIND && s.outcome().filter("ok"::equals).isPresent())
                || steps.stream().anyMatch(s -> AFTER_UNBIND.contains(s.step())); // only after an unbind ok
        Optional<StepRow> failedStep = steps.stream().filter(s -> s.outcome().filter(o -> !o.equals("ok")).isPresent()).findFirst();

        if (booted.isPresent() && row.startedAt().isBefore(booted.get())) {
            // the machine rebooted since: the device was reset and probed afresh, whatever the journal says was done
            close(PutBack.NOTHING, "previous-boot", "abandoned", "failed", "begun " + row.startedAt() + ", before this boot (" + booted.get()
                    + "): the reboot reset the device, nothing done (" + story + ")");
            return;
        }
        if (topology.isUnbound(bdf) && quarantinedUnbound(bdf)) {
            // the recovery ended in a quarantine that leaves the device unbound, and the daemon died in it
            close(PutBack.RESET_METHOD, "unbound", "quarantined", "failed", "quarantined (left unbound) before the daemon stopped: not bound back; "
                    + "release it with: unwedge release " + bdf + " (" + story + ")");
            return;
        }
        // what follows may power a slot, rescan and bind: it holds the function's bus and slot, as a recovery does,
        // so that a new wedge's recovery on the same bus or slot cannot run beside it. It waits as long as it takes
        // (a recovery holds its pass through its whole ladder): giving up would leave an unbound device so until the
        // next start. Only a stop ends the wait, leaving the row for that start
        DisruptionGate.Pass pass;
        try {
            var keys = Exclusion.keys(bdf, slotName(steps));
            while ((pass = gate.enter(keys, System.nanoTime() + timeouts.worstCase().toNanos(),
                    why -> log.info("restart-waiting", "recovery", row.id(), "bdf", bdf, why))) == null) {
                if (mailbox.stopRequested()) {
                    log.warn("restart-deferred", "recovery", row.id(), "bdf", bdf, "the daemon is stopping while other recoveries "
                            + "hold its bus or slot: nothing done; left unfinished in the journal for the next start (" + story + ")");
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return; // left unfinished, for the next start
        }
        try (var held = pass) {
            reconcile(steps, story, unbindTookEffect, failedStep);
        }
    }

    /**
     * What the recovery changed besides the GPU's driver, put back whatever became of the GPU: the functions
     * its reset unbound with it bound to their drivers again, the {@code reset_method} it replaced written back
     * ({@code what} says which). Each only where sysfs shows it still needed; a failure is
     * said with the command to do it by hand.
     */
    private void putBack(PutBack what) {
        if (what == PutBack.NOTHING) return;
        List<Journal.Restore> items;
        try {
            items = journal.toRestore(row.id());
        } catch (JournalException e) {
            log.error("journal-failed", "recovery", row.id(), "bdf", row.bdf(), "error", e.getMessage(),
                    "cannot read what the recovery changed besides the driver: its siblings and reset_method are left as they are");
            return;
        }
        for (var r : items) {
            var function = topology.functionDir(r.bdf());
            if (function.isEmpty()) continue; // gone: nothing to put back on
            Path attribute;
            String value;
            switch (r.kind()) {
                case BIND -> {
                    if (what != PutBack.EVERYTHING || !topology.isUnbound(r.bdf())) continue;
                    try {
                        attribute = topology.sysfs().pciDriver(r.value()).resolve("bind");
                    } catch (IllegalArgumentException e) {
                        log.error("restart-put-back", "recovery", row.id(), "bdf", r.bdf(), "driver", r.value(), "error", e.getMessage(), "left unbound");
                        continue;
                    }
                    value = r.bdf() + "\n";
                }
                case RESET_METHOD -> {
                    attribute = function.get().resolve("reset_method");
                    if (Sysfs.readTrimmed(attribute).filter(r.value()::equals).isPresent()) continue;
                    value = r.value() + "\n";
                }
                default -> throw new AssertionError(r.kind());
            }
            try {
                writer.write(attribute, value);
                boolean done = r.kind() != Journal.Restore.Kind.BIND || await(() -> !topology.isUnbound(r.bdf()), timeouts.bind());
                log.log(done ? EventLog.Level.INFO : EventLog.Level.ERROR, "restart-put-back", "recovery", row.id(), "bdf", r.bdf(),
                        "what", r.kind(), "value", r.value(), done ? "the recovery had changed it: put back"
                                : "bind written, but not bound within " + timeouts.bind().toMillis() + " ms");
            } catch (IOException | TimeoutException e) {
                log.error("restart-put-back", "recovery", row.id(), "bdf", r.bdf(), "what", r.kind(), "value", r.value(), "error", e.getMessage(),
                        "do it by hand: echo '" + value.strip() + "' > " + attribute);
            }
        }
    }

    /** The name of the slot above the function: sysfs's while the function is there, else the one the journal's steps named. */
    private Optional<String> slotName(List<StepRow> steps) {
        return topology.slotOf(row.bdf()).map(io.unwedge.core.Hardware.Slot::name)
                .or(() -> steps.stream().filter(s -> s.step() == Step.POWER_OFF || s.step() == Step.REMOVE).map(Restart::slotOf)
                        .flatMap(Optional::stream).reduce((a, b) -> b));
    }

    /** Reconciles the device with what the journal says, holding its pass through the gate. */
    private void reconcile(List<StepRow> steps, String story, boolean unbindTookEffect, Optional<StepRow> failedStep) {
        PciAddress bdf = row.bdf();
        if (topology.functionDir(bdf).isEmpty() && !bringBack(steps)) {
            close("gone", "abandoned", "failed", "device gone at restart (" + story + ")"
                    + (removedByUs(steps) ? "; it did not come back after a rescan" : ""));
            return;
        }
        if (!topology.isUnbound(bdf) && !topology.isUp(bdf)) {
            // bound, no card yet: a probe may be in flight (the bind was written just before the daemon died)
            await(() -> topology.isUp(bdf) || topology.isUnbound(bdf), timeouts.bind());
            if (!topology.isUp(bdf) && !topology.isUnbound(bdf)) {
                var survivability = topology.functionDir(bdf).map(f -> f.resolve("survivability_mode")).filter(java.nio.file.Files::exists);
                String driver = topology.functionDir(bdf).flatMap(Sysfs::driverOf).orElse("<driver>");
                close("bound-no-card", "abandoned", "failed", "found bound at restart but without a card minor after "
                        + timeouts.bind().toMillis() + " ms: not recovered, left as it is"
                        + (survivability.isPresent() ? " (" + survivability.get() + " exists: the firmware needs flashing)"
                                : "; rebind it by hand: echo " + bdf + " > " + topology.sysfs().pciDriver(driver).resolve("unbind")
                                        + ", then > " + topology.sysfs().pciDriver(driver).resolve("bind"))
                        + " (" + story + ")");
                return;
            }
        }
        if (topology.isUp(bdf)) {
            if (failedStep.isPresent()) {
                var f = failedStep.get();
                String what = "found bound at restart as " + card(bdf) + "; the recovery had failed: " + f.step() + " "
                        + f.outcome().orElseThrow() + ": " + f.detail().orElse("");
                // a step that failed after the device was touched fails the attempt, and a running daemon escalates
                // on that; a drain that refused ends the wedge there, as it does in a running daemon
                var next = f.step() == Step.DRAIN ? Optional.<ActorMessage>empty() : escalation(0);
                if (next.isEmpty()) {
                    close("bound", "found-bound", "failed", what + " (" + story + ")");
                } else if (close("bound", "escalated", "failed", what + "; escalating, as a running daemon would: the next method of "
                        + "its ladder (" + story + ")")) {
                    mailbox.post(next.get());
                }
            } else if (unbindTookEffect) {
                boolean settled = steps.stream().anyMatch(s -> s.step() == Step.SETTLE && s.outcome().isPresent());
                var rewedged = settled ? Optional.<String>empty() : settle();
                if (rewedged.isPresent()) {
                    close("bound", "found-bound", "failed", "found bound at restart as " + card(bdf) + "; " + rewedged.get() + " (" + story + ")");
                } else {
                    close("bound", "found-bound", "recovered", "found bound at restart as " + card(bdf)
                            + (settled ? "" : "; settled " + timeouts.settle().toMillis() + " ms") + " (" + story + ")");
                }
            } else {
                retry(story);
            }
            return;
        }
        resume(story);
    }

    private boolean quarantinedUnbound(PciAddress bdf) {
        try {
            return journal.quarantined().stream().anyMatch(q -> q.bdf().equals(bdf) && q.mode() == io.unwedge.core.safety.QuarantineMode.UNBOUND);
        } catch (JournalException e) {
            log.error("journal-failed", "recovery", row.id(), "bdf", bdf, "error", e.getMessage(), "cannot read the quarantines: taken as none");
            return false;
        }
    }

    /** Steps that run only once the unbind took effect. */
    private static final java.util.Set<Step> AFTER_UNBIND = java.util.EnumSet.of(Step.RESET, Step.REMOVE, Step.POWER_OFF, Step.POWER_ON,
            Step.RESCAN, Step.BIND, Step.SETTLE);

    private static boolean removedByUs(List<StepRow> steps) {
        return steps.stream().anyMatch(s -> s.step() == Step.REMOVE || s.step() == Step.POWER_OFF);
    }

    /**
     * The daemon died with the device removed by its bus or cold reset: power its slot back on if the journal
     * shows the slot powered off and not on again, rescan, and wait for the function. Whether it then binds is
     * for the checks that follow, as for any restart.
     */
    private boolean bringBack(List<StepRow> steps) {
        if (!removedByUs(steps)) return false;
        PciAddress bdf = row.bdf();
        boolean poweredOn = steps.stream().anyMatch(s -> s.step() == Step.POWER_ON && s.outcome().filter("ok"::equals).isPresent());
        boolean poweredOff = steps.stream().anyMatch(s -> s.step() == Step.POWER_OFF && s.outcome().filter("ok"::equals).isPresent());
        boolean coldReset = row.method().filter(RecoveryMethod.COLD_RESET.token()::equals).isPresent();
        var slot = slotName(steps); // the function is gone: the journal's
        if (slot.isPresent() && coldReset && !poweredOn) {
            // the device needed the power cycle the daemon died in: finish it (power off again is harmless: ENODEV)
            Path power = topology.sysfs().pciSlots().resolve(slot.get()).resolve("power");
            try {
                if (!poweredOff) {
                    writer.write(power, "0\n");
                    await(() -> false, timeouts.powerOff()); // the hardware's time off, as in the recovery
                }
                writer.write(power, "1\n");
                log.warn("restart-power-cycle", "recovery", row.id(), "bdf", bdf, "slot", slot.get(),
                        poweredOff ? "the slot was left powered off: powered on" : "the cold reset's power cycle finished");
            } catch (IOException | TimeoutException e) {
                log.error("restart-power-cycle", "recovery", row.id(), "bdf", bdf, "slot", slot.get(), "error", e.getMessage(),
                        "power it on by hand: echo 1 > " + power);
            }
        }
        try {
            writer.write(topology.sysfs().pciRescan(), "1\n");
        } catch (IOException | TimeoutException e) {
            log.error("restart-rescan", "recovery", row.id(), "bdf", bdf, "error", e.getMessage(),
                    "rescan by hand: echo 1 > " + topology.sysfs().pciRescan());
            return false;
        }
        boolean back = await(() -> topology.functionDir(bdf).isPresent(), timeouts.reset());
        log.log(back ? EventLog.Level.INFO : EventLog.Level.ERROR, "restart-rescan", "recovery", row.id(), "bdf", bdf, "back", back,
                back ? "the function a recovery removed is back" : "the function did not come back after " + timeouts.reset().toMillis() + " ms");
        return back;
    }

    /** The slot a power-off step was about: its intent says {@code slot N}, its end names {@code …/slots/N/power}. */
    static Optional<String> slotOf(StepRow powerOff) {
        var d = powerOff.detail().orElse("");
        if (d.startsWith(Recovery.SLOT_PREFIX)) return Optional.of(d.substring(Recovery.SLOT_PREFIX.length()).strip());
        var m = java.util.regex.Pattern.compile("/slots/([^/\\s]+)/power").matcher(d);
        return m.find() ? Optional.of(m.group(1)) : Optional.empty();
    }

    /** The device is unbound: bind it back to the driver the journal names, and wait for its card. */
    private void resume(String story) {
        PciAddress bdf = row.bdf();
        if (row.driver().isEmpty()) {
            close("unbound", "abandoned", "failed", "found unbound at restart, and the journal does not name its driver "
                    + "(recorded before schema v2); left unbound: bind it by hand: echo " + bdf
                    + " > /sys/bus/pci/drivers/<driver>/bind (" + story + ")");
            return;
        }
        String driver = row.driver().get();
        Path bind;
        try {
            bind = topology.sysfs().pciDriver(driver).resolve("bind");
        } catch (IllegalArgumentException e) {
            close("unbound", "abandoned", "failed", "found unbound at restart; the journal's driver is not usable: " + e.getMessage());
            return;
        }
        Optional<Journal.Intent> intent;
        try {
            intent = Optional.of(journal.intent(row.id(), Step.BIND));
        } catch (JournalException e) {
            // the device has no driver: binding it matters more than the record, as in a recovery
            log.error("journal-failed", "bdf", bdf, "step", Step.BIND, "error", e.getMessage(), "binding at restart unjournaled");
            intent = Optional.empty();
        }
        long t0 = System.nanoTime();
        Outcome outcome;
        String detail;
        try {
            writer.write(bind, bdf + "\n");
            outcome = await(() -> topology.isUp(bdf), timeouts.bind()) ? Outcome.OK : Outcome.TIMEOUT;
            detail = outcome == Outcome.OK ? "restart: wrote " + bdf + " to " + bind
                    : "restart: driver did not bind and create a card minor after " + timeouts.bind().toMillis() + " ms";
        } catch (TimeoutException e) {
            outcome = Outcome.TIMEOUT;
            detail = "restart: write to " + bind + " did not return within " + writer.timeout().toMillis() + " ms";
        } catch (IOException e) {
            outcome = Outcome.ERROR;
            detail = "restart: write to " + bind + ": " + e.getMessage();
        }
        ended(intent, new StepResult(Step.BIND, outcome, (System.nanoTime() - t0) / 1_000_000, detail));
        if (outcome == Outcome.OK) {
            var rewedged = settle();
            if (rewedged.isPresent()) {
                close("unbound", "resumed", "failed", "found unbound at restart; resumed: bound again to " + driver + " as " + card(bdf)
                        + ", then " + rewedged.get() + " (" + story + ")");
            } else {
                close("unbound", "resumed", "recovered", "found unbound at restart; resumed: bound again to " + driver + " as "
                        + card(bdf) + ", settled " + timeouts.settle().toMillis() + " ms (" + story + ")");
            }
        } else {
            String state = topology.isUnbound(bdf)
                    ? "left unbound; bind it by hand: echo " + bdf + " > " + bind
                    : topology.isUp(bdf) ? "bound" : "bound but without a card minor";
            close("unbound", "resumed", "failed", "found unbound at restart; resuming failed: bind " + outcome + ": "
                    + detail + "; device " + state + " (" + story + ")");
        }
    }

    /**
     * The settle window, as a recovery watches it, journaled as its step: empty when the device stayed up; else
     * what went wrong. A wedge meanwhile fails the recovery and is put back in the mailbox, to be handled as a
     * recovery of its own (the device is wedged again: someone must recover it).
     */
    private Optional<String> settle() {
        PciAddress bdf = row.bdf();
        Optional<Journal.Intent> intent;
        try {
            intent = Optional.of(journal.intent(row.id(), Step.SETTLE));
        } catch (JournalException e) {
            log.error("journal-failed", "bdf", bdf, "step", Step.SETTLE, "error", e.getMessage(), "settling at restart unjournaled");
            intent = Optional.empty();
        }
        long t0 = System.nanoTime();
        long deadline = t0 + timeouts.settle().toNanos();
        var later = new java.util.ArrayList<ActorMessage>();
        Outcome outcome = Outcome.OK;
        String detail = "restart: no new wedge for " + timeouts.settle().toMillis() + " ms";
        try {
            ActorMessage m;
            while ((m = mailbox.next(deadline)) != null) {
                if (m instanceof ActorMessage.Wedge(var w, var at, _)) {
                    var next = escalation(at);
                    later.add(next.orElse(m));
                    outcome = Outcome.REWEDGED;
                    detail = "restart: wedged again (" + w.rawMethods() + ", seqnum " + w.seqnum() + ") "
                            + (System.nanoTime() - t0) / 1_000_000 + " ms after it came back; "
                            + (next.isPresent() ? "escalating, as a running daemon would: the next method of its ladder"
                                    : "handled again as a new recovery");
                    break;
                }
                if (m instanceof ActorMessage.Resume) later.add(m);
            }
        } finally {
            mailbox.putBack(later);
        }
        if (outcome == Outcome.OK && !topology.isUp(bdf)) {
            outcome = Outcome.ERROR;
            detail = "restart: device lost its driver or card while settling";
        }
        ended(intent, new StepResult(Step.SETTLE, outcome, (System.nanoTime() - t0) / 1_000_000, detail));
        return outcome == Outcome.OK ? Optional.empty() : Optional.of("settle " + outcome + ": " + detail.substring("restart: ".length()));
    }

    /** A restart's step ended: journaled against its intent (when it had one) and logged as a recovery's are. */
    private void ended(Optional<Journal.Intent> intent, StepResult r) {
        if (intent.isPresent()) {
            try {
                journal.stepEnded(intent.get(), r);
            } catch (JournalException e) {
                log.error("journal-failed", "bdf", row.bdf(), "step", r.step(), "error", e.getMessage());
            }
        }
        log.log(r.outcome() == Outcome.OK ? EventLog.Level.INFO : EventLog.Level.ERROR, "recovery-step", "bdf", row.bdf(),
                "recovery", row.id(), "step", r.step(), "outcome", r.outcome(), "ms", r.millis(), r.detail());
    }

    /**
     * The wedge this recovery was for, handed on to go up its ladder after this recovery's method (as a running
     * daemon escalates on a re-wedge while settling); empty when the journal cannot say which wedge or method,
     * and the new wedge is then recovered as one of its own.
     */
    private Optional<ActorMessage> escalation(long receivedNanos) {
        var method = row.method().flatMap(RecoveryMethod::ofToken);
        if (method.isEmpty()) return Optional.empty();
        try {
            return journal.wedge(row.eventId()).map(w -> new ActorMessage.Wedge(w, receivedNanos,
                    Optional.of(new ActorMessage.Continues(row.id(), row.eventId(), method.get()))));
        } catch (JournalException e) {
            log.error("journal-failed", "bdf", row.bdf(), "recovery", row.id(), "error", e.getMessage(),
                    "cannot read back the wedge: the new one is recovered as a recovery of its own");
            return Optional.empty();
        }
    }

    /**
     * The device is up and the journal shows no unbind that took effect: the wedge was never acted on, and
     * a wedged device stays wedged until someone recovers it. Its event goes round again as a new recovery.
     */
    private void retry(String story) {
        Optional<io.unwedge.core.WedgedEvent> wedge;
        try {
            wedge = journal.wedge(row.eventId());
        } catch (JournalException e) {
            wedge = Optional.empty();
        }
        if (wedge.isEmpty()) {
            close("bound", "abandoned", "failed", "found bound at restart, but the unbind never took effect and the wedge "
                    + "cannot be read back from the journal; the device may still be wedged (" + story + ")");
            return;
        }
        // an escalation goes on from the attempt it followed, as the running daemon would have: not from the
        // ladder's first method, which had already failed
        var follows = follows();
        if (close("bound", "retried", "failed", "found bound at restart before the unbind took effect; the device may "
                + "still be wedged: the wedge is handled again as a new recovery" + follows.map(c -> ", escalating on from "
                        + c.method() + " (recovery " + c.recovery() + ")").orElse("") + " (" + story + ")")) {
            mailbox.post(new ActorMessage.Wedge(wedge.get(), 0, follows));
        }
    }

    /** For an escalation's row: the attempt it followed and that attempt's method, when the journal has them. */
    private Optional<ActorMessage.Continues> follows() {
        if (row.escalatedFrom().isEmpty()) return Optional.empty();
        long parent = row.escalatedFrom().get();
        try {
            return journal.show(parent).flatMap(d -> d.recovery().method()).flatMap(RecoveryMethod::ofToken)
                    .map(m -> new ActorMessage.Continues(parent, row.eventId(), m));
        } catch (JournalException e) {
            log.error("journal-failed", "bdf", row.bdf(), "recovery", parent, "error", e.getMessage(),
                    "cannot read the attempt this one escalated from: the wedge's ladder starts again from its first method");
            return Optional.empty();
        }
    }

    /** Ends the recovery in the journal and says so, everything it changed put back first; false when the journal would not take it. */
    private boolean close(String found, String action, String result, String reason) {
        return close(PutBack.EVERYTHING, found, action, result, reason);
    }

    /** What a restart puts back of what the recovery changed besides the GPU's driver ({@link #putBack}). */
    private enum PutBack {
        EVERYTHING,
        /** a quarantine that leaves the device unbound leaves its other functions so too */
        RESET_METHOD,
        /** an earlier boot's reset undid everything */
        NOTHING
    }

    private boolean close(PutBack what, String found, String action, String result, String reason) {
        // before the row ends: a daemon that dies in between finds it unfinished, and puts back again (each is
        // done only where sysfs still needs it)
        putBack(what);
        Optional<String> cardAfter = topology.byBdf(row.bdf()).map(GpuDevice::card);
        var level = result.equals("recovered") ? EventLog.Level.INFO : action.equals("retried") ? EventLog.Level.WARN : EventLog.Level.ERROR;
        log.log(level, "restart-reconciled", "recovery", row.id(), "bdf", row.bdf(), "card", row.card(), "found", found,
                "action", action, "outcome", result, "card_after", cardAfter.orElse(null), reason);
        try {
            journal.closeAtRestart(row.id(), found, action, result, "restart: " + reason, cardAfter);
            return true;
        } catch (JournalException e) {
            log.error("journal-failed", "recovery", row.id(), "bdf", row.bdf(), "error", e.getMessage(),
                    "the restart's reconciliation is not journaled; the recovery stays unfinished");
            return false;
        }
    }

    private String card(PciAddress bdf) {
        return topology.byBdf(bdf).map(GpuDevice::card).orElse("?");
    }

    /** What the journal says was done before the daemon died, e.g. "unbind ok, bind intent without an end". */
    static String story(List<StepRow> steps) {
        if (steps.isEmpty()) return "journal: no step begun";
        return "journal: " + String.join(", ", steps.stream()
                .map(s -> s.step() + " " + s.outcome().orElse("intent without an end")).toList());
    }

    /**
     * Waits until {@code done} holds, re-checking on each message about the device. A wedge meanwhile is kept
     * for after: it is put back at the end of the mailbox, to be handled as a recovery of its own.
     */
    private boolean await(BooleanSupplier done, Duration timeout) {
        long deadline = System.nanoTime() + timeout.toNanos();
        var wedges = new java.util.ArrayList<ActorMessage>();
        try {
            while (!done.getAsBoolean()) {
                var m = mailbox.next(deadline);
                if (m == null) return done.getAsBoolean();
                if (m instanceof ActorMessage.Wedge || m instanceof ActorMessage.Resume) wedges.add(m);
            }
            return true;
        } finally {
            mailbox.putBack(wedges);
        }
    }
}
