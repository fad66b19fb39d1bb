package io.unwedge.daemon.http;

import java.util.Arrays;
import java.util.concurrent.atomic.LongAdder;

/**
 * A Prometheus histogram over whole numbers of a unit ({@code 10^-digits} s: milliseconds are 3 digits,
 * microseconds 6), so bucket bounds compare exactly and {@code _sum} is exact: 0.1 s is 100 ms, never
 * 0.1000000000000000055 s. Thread-safe; observing takes no lock.
 *
 * <p>Each bucket counts the observations that fall in it alone; the exposition's {@code le} buckets are
 * their running sums, so they are cumulative by construction and {@code _count} is the {@code +Inf}
 * bucket. {@code _sum} is kept apart: a scrape racing an observation may see the one without the other,
 * which Prometheus' own clients allow too.
 */
final class Histogram {

    private final long[] bounds;        // upper bounds, inclusive (le), ascending, in units
    private final int digits;
    private final LongAdder[] buckets;  // one per bound, then one for above the last (+Inf)
    private final LongAdder sum = new LongAdder();

    /** @param bounds each bucket's upper bound in units, strictly ascending; +Inf is added */
    Histogram(int digits, long... bounds) {
        if (digits < 0 || digits > 9) throw new IllegalArgumentException("digits " + digits);
        if (bounds.length == 0) throw new IllegalArgumentException("a histogram needs at least one bound");
        for (int i = 1; i < bounds.length; i++) {
            if (bounds[i] <= bounds[i - 1]) throw new IllegalArgumentException("bounds must be strictly ascending: " + Arrays.toString(bounds));
        }
        this.bounds = bounds.clone();
        this.digits = digits;
        this.buckets = new LongAdder[bounds.length + 1];
        for (int i = 0; i < buckets.length; i++) buckets[i] = new LongAdder();
    }

    /** One observation of {@code units}; a negative one (a clock that went back) counts as zero. */
    void observe(long units) {
        long v = Math.max(0, units);
        int i = Arrays.binarySearch(bounds, v);
        // found: v equals a bound, and le is inclusive; not found: the first bound above v (or +Inf)
        buckets[i >= 0 ? i : -i - 1].increment();
        sum.add(v);
    }

    /** The {@code _bucket}, {@code _sum} and {@code _count} samples of {@code name}, after the given labels. */
    void writeTo(Exposition out, String name, String... labels) {
        long cumulative = 0;
        for (int i = 0; i < buckets.length; i++) {
            cumulative += buckets[i].sum();
            String le = i < bounds.length ? Exposition.seconds(bounds[i], digits) : "+Inf";
            out.sample(name + "_bucket", cumulative, with(labels, "le", le));
        }
        out.sample(name + "_sum", Exposition.seconds(sum.sum(), digits), labels);
        out.sample(name + "_count", cumulative, labels);
    }

    private static String[] with(String[] labels, String name, String value) {
        var all = Arrays.copyOf(labels, labels.length + 2);
        all[labels.length] = name;
        all[labels.length + 1] = value;
        return all;
    }
}
