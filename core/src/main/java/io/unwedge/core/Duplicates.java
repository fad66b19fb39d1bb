package io.unwedge.core;

import java.util.HashMap;
import java.util.Map;
import java.util.Objects;

/**
 * Which wedges were heard before. With udev's copy handed over too ({@code unwedge handle-uevent}), one
 * wedge may reach the daemon twice: from the kernel's netlink broadcast and from udev's {@code RUN}. Both
 * carry the kernel's {@code SEQNUM}, one counter for every uevent of the boot, so a device's wedges come
 * with rising numbers.
 *
 * <p>The rule, per device (BDF): a wedge is new only when its SEQNUM is above every SEQNUM already taken
 * for that device. The same number is the same wedge (handled, or in flight: it must not look like a
 * re-wedge to its own recovery); a lower number is an older wedge of the device than one already taken
 * (udev's copy late, behind a newer wedge the kernel's path delivered), and acting on it would recover a
 * device for a wedge that a later recovery has already answered. Only the highest number per device is
 * kept. Pure: the caller keeps the value and swaps in {@link Fresh#next()}.
 *
 * <p>SEQNUM restarts at each boot, and so does this memory (it lives in one daemon).
 */
public record Duplicates(Map<PciAddress, Long> highest) {

    public static final Duplicates NONE = new Duplicates(Map.of());

    public Duplicates {
        highest = Map.copyOf(highest);
    }

    /** What {@link #judge} says of one wedge. */
    public sealed interface Verdict permits Fresh, Repeated {}

    /** A wedge not heard before: handle it, and remember {@code next}. */
    public record Fresh(Duplicates next) implements Verdict {
        public Fresh {
            Objects.requireNonNull(next, "next");
        }
    }

    /**
     * Heard before: {@code same} when this very SEQNUM was taken, else an older wedge than the device's
     * {@code highest}. Ignore it.
     */
    public record Repeated(long highest, boolean same) implements Verdict {
        /** For the log line: "SEQNUM 5208 already taken" or "older than SEQNUM 5210, already taken". */
        public String reason() {
            return same ? "SEQNUM " + Long.toUnsignedString(highest) + " already taken"
                    : "older than SEQNUM " + Long.toUnsignedString(highest) + ", already taken";
        }
    }

    /** Judges the wedge of {@code bdf} numbered {@code seqnum} (an unsigned 64-bit number, as the kernel's). */
    public Verdict judge(PciAddress bdf, long seqnum) {
        Objects.requireNonNull(bdf, "bdf");
        var before = highest.get(bdf);
        if (before != null && Long.compareUnsigned(seqnum, before) <= 0) return new Repeated(before, seqnum == before);
        var next = new HashMap<>(highest);
        next.put(bdf, seqnum);
        return new Fresh(new Duplicates(next));
    }

    /** The same, for a recognised wedge. */
    public Verdict judge(WedgedEvent event) {
        return judge(event.bdf(), event.seqnum());
    }
}
