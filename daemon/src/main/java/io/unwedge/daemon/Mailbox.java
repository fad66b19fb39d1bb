package io.unwedge.daemon;

import java.util.Collection;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;

/**
 * A device actor's mailbox. The actor takes from it between jobs; a job in flight (a recovery, a restart)
 * reads it while it waits, because the device's own uevents are what it waits for. A Stop that arrives
 * mid-job is remembered, not obeyed: a device is never left unbound because the daemon was asked to stop.
 */
final class Mailbox {

    private final BlockingQueue<ActorMessage> queue = new LinkedBlockingQueue<>();
    private volatile boolean stopRequested;

    void post(ActorMessage m) {
        queue.add(m);
    }

    /** Messages a job set aside (a wedge that arrived meanwhile), handled after it, in order. */
    void putBack(Collection<? extends ActorMessage> messages) {
        queue.addAll(messages);
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

    /** Whether a Stop arrived while a job ran: the actor ends once the job is done. */
    boolean stopRequested() {
        return stopRequested;
    }
}
