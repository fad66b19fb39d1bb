package io.unwedge.daemon;

import java.time.Duration;
import java.util.function.LongSupplier;

/**
 * Where the event loop is, for the watchdog: waiting in the source's receive, or working on what it
 * received (since when), or ended.
 *
 * <p><b>What "stuck" means.</b> The loop blocks in {@code receive()} when the kernel has nothing to say;
 * that is the healthy idle state, however long it lasts (a quiet machine sends no uevents for days), so it
 * counts as alive. The loop is <em>stuck</em> when it has been out of {@code receive()} — recognising,
 * routing, posting to a mailbox, resyncing after an overflow — for longer than the limit without
 * returning to it: none of that work waits on anything but the loop's own code, so taking longer than the
 * watchdog interval means a deadlock, a livelock or a wait that should not be there. Start-up (journal,
 * reconciliation hand-off) counts as work from the heartbeat's creation, under the same limit. A loop that
 * has ended (source closed) is not alive. Recoveries run on actors, bounded by
 * their own timeouts; they are not the loop and do not feed the watchdog.
 */
public final class LoopHeartbeat {

    private static final long WAITING = Long.MIN_VALUE;

    private final LongSupplier nanoTime;
    private volatile long workingSince;   // WAITING while in receive()
    private volatile boolean ended;
    private volatile long beats;

    public LoopHeartbeat() {
        this(System::nanoTime);
    }

    /** @param nanoTime the clock, on the {@link System#nanoTime()} scale; faked in tests */
    public LoopHeartbeat(LongSupplier nanoTime) {
        this.nanoTime = nanoTime;
        this.workingSince = nanoTime.getAsLong();
    }

    /** The loop is about to block in receive(). */
    void waiting() {
        workingSince = WAITING;
        beats++;
    }

    /** receive() returned: the loop works on the delivery. */
    void working() {
        workingSince = nanoTime.getAsLong();
    }

    void ended() {
        ended = true;
    }

    public boolean hasEnded() {
        return ended;
    }

    /** How many times the loop has gone back to receive(); for tests and the metrics. */
    public long beats() {
        return beats;
    }

    /** Alive: not ended, and either waiting in receive() or working for less than {@code stuckAfter}. */
    public boolean alive(Duration stuckAfter) {
        if (ended) return false;
        long since = workingSince;
        return since == WAITING || nanoTime.getAsLong() - since < stuckAfter.toNanos();
    }

    /** How long the loop has been working on one delivery; zero while it waits. */
    public Duration busyFor() {
        long since = workingSince;
        return since == WAITING ? Duration.ZERO : Duration.ofNanos(nanoTime.getAsLong() - since);
    }
}
