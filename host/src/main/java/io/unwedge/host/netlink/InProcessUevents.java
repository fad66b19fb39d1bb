package io.unwedge.host.netlink;

import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.Delivery.Closed;
import io.unwedge.host.netlink.Delivery.Received;
import java.io.InterruptedIOException;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.LinkedBlockingQueue;

/**
 * The event path when no private network namespace can be made: a broadcast inside the JVM that behaves
 * like the kernel's group 1 for what a consumer can observe. The sender gives events without SEQNUM and
 * each gets the next number; every subscriber gets every event published after it subscribed, in SEQNUM
 * order. Unlike a socket it never overflows.
 */
public final class InProcessUevents {

    private final List<Subscription> subscribers = new CopyOnWriteArrayList<>();
    private final Object publishLock = new Object();
    private long seqnum;  // guarded by publishLock

    public UeventSink sink() {
        return this::publish;
    }

    public UeventSource subscribe() {
        var s = new Subscription();
        subscribers.add(s);
        return s;
    }

    private void publish(Uevent event) {
        if (event.seqnum().isPresent()) {
            throw new IllegalArgumentException("SEQNUM is the transport's to append: " + event);
        }
        // Numbering and fan-out under one lock, so no subscriber sees SEQNUM go backwards.
        synchronized (publishLock) {
            var numbered = event.withSeqnum(++seqnum);
            for (var s : subscribers) s.queue.add(numbered);
        }
    }

    private final class Subscription implements UeventSource {

        /** Events, then one CLOSED marker; null is not allowed in the queue. */
        private static final Uevent CLOSED = Uevent.of("remove", "/closed", java.util.Map.of());

        private final LinkedBlockingQueue<Uevent> queue = new LinkedBlockingQueue<>();
        private volatile boolean closed;

        @Override
        public Delivery receive() throws InterruptedIOException {
            if (closed) return new Closed();
            Uevent next;
            try {
                next = queue.take();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new InterruptedIOException("interrupted while waiting for a uevent");
            }
            if (next == CLOSED) {
                queue.add(CLOSED);  // for any other thread blocked here
                return new Closed();
            }
            return new Received(next, System.nanoTime());
        }

        @Override
        public void close() {
            if (closed) return;
            closed = true;
            subscribers.remove(this);
            queue.add(CLOSED);
        }
    }
}
