package io.unwedge.daemon;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SortedSet;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

/**
 * Where recoveries wait their turn before anything disruptive: a host-wide cap on recoveries at once, and
 * one lock per bus and per slot ({@link io.unwedge.core.safety.Exclusion}), taken in their sorted order so
 * two recoveries cannot deadlock. Held for a wedge's whole ladder, drain to settle.
 */
final class DisruptionGate {

    private final Semaphore slots;
    private final int max;
    private final Map<String, Semaphore> locks = new HashMap<>(); // one permit each: not reentrant, not owned by a thread

    DisruptionGate(int maxConcurrent) {
        if (maxConcurrent < 1) throw new IllegalArgumentException("max concurrent recoveries must be at least 1");
        this.slots = new Semaphore(maxConcurrent, true);
        this.max = maxConcurrent;
    }

    /** Held: close it to let the next one in. */
    interface Pass extends AutoCloseable {
        @Override
        void close();
    }

    /**
     * Waits until this recovery may disrupt, at most until {@code deadlineNanos} ({@link System#nanoTime}).
     *
     * @param waiting told once, with what is in the way, if the pass is not free at once
     * @return the pass, or null when the deadline passed first
     */
    Pass enter(SortedSet<String> keys, long deadlineNanos, java.util.function.Consumer<String> waiting) throws InterruptedException {
        boolean told = false;
        if (!slots.tryAcquire()) {
            waiting.accept(max + " recovery(ies) already running host-wide ([recovery] max_concurrent)");
            told = true;
            if (!slots.tryAcquire(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) return null;
        }
        var held = new java.util.ArrayList<Semaphore>();
        try {
            for (var key : keys) {
                Semaphore lock;
                synchronized (locks) {
                    lock = locks.computeIfAbsent(key, k -> new Semaphore(1, true));
                }
                if (!lock.tryAcquire()) {
                    if (!told) waiting.accept("another recovery holds " + key);
                    told = true;
                    if (!lock.tryAcquire(Math.max(0, deadlineNanos - System.nanoTime()), TimeUnit.NANOSECONDS)) {
                        release(held);
                        return null;
                    }
                }
                held.add(lock);
            }
        } catch (InterruptedException | RuntimeException e) {
            release(held);
            throw e;
        }
        var mine = List.copyOf(held);
        return new Pass() {
            private boolean closed;

            @Override
            public synchronized void close() {
                if (closed) return;
                closed = true;
                release(mine);
            }
        };
    }

    private void release(List<Semaphore> held) {
        for (var l : held.reversed()) l.release();
        slots.release();
    }
}
