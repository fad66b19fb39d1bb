package io.unwedge.daemon;

import java.util.List;
import java.util.concurrent.BlockingDeque;
import java.util.concurrent.LinkedBlockingDeque;
import java.util.concurrent.TimeUnit;

/**
 * A device actor's mailbox. The actor takes from it between jobs; a job in flight (a recovery, a restart)
 * reads it while it waits, because the device's own uevents are what it waits for. A Stop that arrives
 * mid-job is remembered, not obeyed: a device is never left unbound because the daemon was asked to stop.
 */
final class Mailbox {

    private final BlockingDeque<ActorMessage> queue = new LinkedBlockingDeque<>();
    private volatile boolean stopRequested;

    void post(ActorMessage m) {
        // known at once, not when a job next reads the mailbox: one waiting for its turn at the gate reads nothing
        if (m instanceof ActorMessage.Stop) stopRequested = true;
        queue.add(m);
    }

    /**
     * Messages a job set aside (a wedge that arrived meanwhile), handled after it, first and in order: they
     * came before anything still queued.
     */
    void putBack(List<? extends ActorMessage> messages) {
        for (int i = messages.size() - 1; i >= 0; i--) queue.addFirst(messages.get(i));
    }

    /** The next message, blocking: for the actor between jobs. */
    ActorMessage take() throws InterruptedException {
        return queue.take();
    }

    /** The next message before {@code deadline} ({@link System#nanoTime()}), or null at it; Stop is only remembered. */
    ActorMessage next(long deadline) {
        while (true) {
            long left = deadline - System.nanoTime();
            if (left <= 0) return null;
            try {
                var m = queue.poll(left, TimeUnit.NANOSECONDS);
                if (m == null) return null;
                if (m instanceof ActorMessage.Stop) {
                    stopRequested = true;
                    continue;
                }
                return m;
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                return null;
            }
        }
    }

    /** Takes every queued message, in order: what the actor still had to do when it stops. */
    List<ActorMessage> drain() {
        var left = new java.util.ArrayList<ActorMessage>();
        queue.drainTo(left);
        return left;
    }

    /** Whether a Stop arrived while a job ran: the actor ends once the job is done. */
    boolean stopRequested() {
        return stopRequested;
    }
}
