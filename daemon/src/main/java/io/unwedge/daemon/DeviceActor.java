package io.unwedge.daemon;

import io.unwedge.core.PciAddress;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * Everything that happens to one PCI function happens on its actor, one thing at a time: a virtual
 * thread with a mailbox. Keyed by BDF, not by card: the card number may change across a rebind.
 */
final class DeviceActor {

    private final PciAddress bdf;
    private final BlockingQueue<ActorMessage> mailbox = new LinkedBlockingQueue<>();
    private final RecoveryFactory recoveries;
    private final RecoveryListener listener;
    private final EventLog log;
    private final Thread thread;

    DeviceActor(PciAddress bdf, RecoveryFactory recoveries, RecoveryListener listener, EventLog log) {
        this.bdf = bdf;
        this.recoveries = recoveries;
        this.listener = listener;
        this.log = log;
        this.thread = Thread.ofVirtual().name("device-" + bdf).unstarted(this::loop);
    }

    /** Makes the recovery for a wedge; it reads the actor's mailbox while it waits. */
    @FunctionalInterface
    interface RecoveryFactory {
        Recovery create(ActorMessage.Wedge wedge, BlockingQueue<ActorMessage> mailbox);
    }

    void start() {
        thread.start();
    }

    void post(ActorMessage m) {
        mailbox.add(m);
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
                        var recovery = recoveries.create(w, mailbox);
                        RecoveryReport report;
                        try {
                            report = recovery.run();
                        } catch (RuntimeException e) {
                            // a bug must not take the device's actor with it; say it loudly
                            log.error("recovery-crashed", "bdf", bdf, "card", w.event().card(), "error", e.toString());
                            continue;
                        }
                        try {
                            listener.finished(report);
                        } catch (RuntimeException e) {
                            log.error("listener-failed", "bdf", bdf, "error", e.toString());
                        }
                        if (recovery.stopRequested()) return;
                    }
                    case ActorMessage.Observed o -> { } // nothing in flight: sysfs is read when a wedge comes
                    case ActorMessage.Resync r -> { }
                    case ActorMessage.Stop s -> {
                        return;
                    }
                }
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
