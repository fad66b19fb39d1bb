package io.unwedge.daemon;

import io.unwedge.core.PciAddress;

/**
 * Everything that happens to one PCI function happens on its actor, one thing at a time: a virtual
 * thread with a mailbox. Keyed by BDF, not by card: the card number may change across a rebind.
 */
final class DeviceActor {

    private final PciAddress bdf;
    private final Mailbox mailbox = new Mailbox();
    private final RecoveryFactory recoveries;
    private final RestartFactory restarts;
    private final RecoveryListener listener;
    private final EventLog log;
    private final Thread thread;

    DeviceActor(PciAddress bdf, RecoveryFactory recoveries, RestartFactory restarts, RecoveryListener listener, EventLog log) {
        this.bdf = bdf;
        this.recoveries = recoveries;
        this.restarts = restarts;
        this.listener = listener;
        this.log = log;
        this.thread = Thread.ofVirtual().name("device-" + bdf).unstarted(this::loop);
    }

    /** Makes the recovery for a wedge; it reads the actor's mailbox while it waits. */
    @FunctionalInterface
    interface RecoveryFactory {
        Recovery create(ActorMessage.Wedge wedge, Mailbox mailbox);
    }

    /** Makes the reconciliation of a recovery left unfinished by an earlier daemon; it reads the mailbox too. */
    @FunctionalInterface
    interface RestartFactory {
        Restart create(ActorMessage.Resume resume, Mailbox mailbox);
    }

    void start() {
        thread.start();
    }

    void post(ActorMessage m) {
        mailbox.post(m);
    }

    void join(long millis) throws InterruptedException {
        thread.join(millis);
    }

    boolean alive() {
        return thread.isAlive();
    }

    private void loop() {
        try {
            while (true) {
                switch (mailbox.take()) {
                    case ActorMessage.Wedge w -> {
                        if (mailbox.stopRequested()) { // it came before the Stop, but nothing is started once one came
                            defer(w);
                            continue;
                        }
                        var recovery = recoveries.create(w, mailbox);
                        java.util.List<RecoveryReport> reports = java.util.List.of();
                        try {
                            reports = recovery.run();
                        } catch (RuntimeException e) {
                            // a bug must not take the device's actor with it; say it loudly
                            log.error("recovery-crashed", "bdf", bdf, "card", w.event().card(), "error", e.toString());
                        }
                        if (recovery.deferred()) deferredOne = true;
                        for (var report : reports) { // one per attempt: an escalation is several
                            try {
                                listener.finished(report);
                            } catch (RuntimeException e) {
                                log.error("listener-failed", "bdf", bdf, "error", e.toString());
                            }
                        }
                    }
                    case ActorMessage.Resume r -> {
                        try {
                            restarts.create(r, mailbox).run();
                        } catch (RuntimeException e) {
                            log.error("restart-crashed", "bdf", bdf, "recovery", r.recovery().id(), "error", e.toString());
                        }
                    }
                    case ActorMessage.Observed o -> { } // nothing in flight: sysfs is read when a wedge comes
                    case ActorMessage.Resync r -> { }
                    case ActorMessage.Stop s -> { }
                }
                // a job may have read the Stop from the mailbox (it is remembered, not queued): end here, not in take()
                if (mailbox.stopRequested()) {
                    deferQueued();
                    return;
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    /** Whether a wedge of this device was left for the next start at this stop: one row is enough for a device. */
    private boolean deferredOne;

    /**
     * At stop, a wedge still queued (one that came while a recovery waited for its turn, one a restart set
     * aside or handed back) is journaled for the next start rather than lost; the rest is dropped.
     */
    private void deferQueued() {
        for (var m : mailbox.drain()) {
            if (m instanceof ActorMessage.Wedge w) defer(w);
        }
    }

    /**
     * The first wedge left at a stop is journaled for the next start; a later one of the same device is not:
     * the next start handles the device once (a second row would make it recover the device twice).
     */
    private void defer(ActorMessage.Wedge w) {
        if (deferredOne) {
            log.info("wedge-covered", "card", w.event().card(), "bdf", bdf, "seqnum", w.event().seqnum(),
                    "the daemon is stopping: an earlier wedge of this device is already left for the next start, which handles it once");
            return;
        }
        try {
            var recovery = recoveries.create(w, mailbox);
            recovery.defer();
            deferredOne = recovery.deferred();
        } catch (RuntimeException e) {
            log.error("recovery-crashed", "bdf", bdf, "card", w.event().card(), "error", e.toString());
        }
    }
}
