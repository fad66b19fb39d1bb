package io.unwedge.sim;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Consumer;
import java.util.function.Predicate;

/** The driver model's log, which a test can wait on: each line wakes the waiters, nothing polls. */
final class Lines implements Consumer<String> {

    private final List<String> lines = new ArrayList<>(); // guarded by this

    @Override
    public synchronized void accept(String line) {
        lines.add(line);
        notifyAll();
    }

    synchronized List<String> all() {
        return List.copyOf(lines);
    }

    /** The first line (from the start) that matches, or an AssertionError with every line seen. */
    synchronized String await(Predicate<String> matching, Duration within, String what) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        for (int seen = 0; ; ) {
            for (; seen < lines.size(); seen++) if (matching.test(lines.get(seen))) return lines.get(seen);
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new AssertionError("no sim line " + what + " within " + within + "; lines:\n" + String.join("\n", lines));
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** Waits until {@code n} lines contain {@code containing}. */
    synchronized void awaitCount(String containing, int n, Duration within) throws InterruptedException {
        long deadline = System.nanoTime() + within.toNanos();
        while (lines.stream().filter(l -> l.contains(containing)).count() < n) {
            long left = deadline - System.nanoTime();
            if (left <= 0) throw new AssertionError(n + " sim lines containing '" + containing + "' expected within " + within + "; lines:\n" + String.join("\n", lines));
            wait(Math.max(1, left / 1_000_000));
        }
    }

    /** Where the first line containing {@code containing} is, -1 if none. */
    synchronized int indexOf(String containing) {
        for (int i = 0; i < lines.size(); i++) if (lines.get(i).contains(containing)) return i;
        return -1;
    }

    String await(String containing, Duration within) throws InterruptedException {
        return await(l -> l.contains(containing), within, "containing '" + containing + "'");
    }
}
