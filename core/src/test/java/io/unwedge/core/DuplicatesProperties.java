package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Duplicates.Fresh;
import io.unwedge.core.Duplicates.Repeated;
import java.util.ArrayList;
import java.util.List;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The SEQNUM rule on generated streams (fixed seeds), against a plain reference: the kernel's stream for a
 * few devices, each wedge heard once or twice (netlink and udev) and udev's copies late by a few places.
 * Taken are exactly the wedges whose number is above everything heard before for their device; every wedge
 * of the kernel's stream is taken at most once; in a stream with no copy out of order, every wedge is taken
 * exactly once.
 */
class DuplicatesProperties {

    static final List<PciAddress> DEVICES = List.of(PciAddress.parse("0000:03:00.0").orElseThrow(),
            PciAddress.parse("0000:06:00.0").orElseThrow(), PciAddress.parse("0001:c1:00.0").orElseThrow());

    record Heard(PciAddress bdf, long seqnum) {}

    /** The kernel's wedges (rising SEQNUM, random devices), then each heard once or twice, the second copy a few places late. */
    @Provide
    Arbitrary<List<Heard>> streams() {
        var wedge = Combinators.combine(Arbitraries.integers().between(0, DEVICES.size() - 1), Arbitraries.longs().between(1, 5),
                Arbitraries.integers().between(1, 2), Arbitraries.integers().between(0, 3))
                .as((dev, gap, copies, lateBy) -> new long[] {dev, gap, copies, lateBy});
        return wedge.list().ofMaxSize(30).map(DuplicatesProperties::hear);
    }

    /** Kernel order, with a second copy (copies 2) placed {@code lateBy} places later. */
    static List<Heard> hear(List<long[]> wedges) {
        var out = new ArrayList<Heard>();
        var late = new ArrayList<long[]>(); // {position, device, seqnum}
        long seq = 1000;
        for (var w : wedges) {
            seq += w[1];
            var h = new Heard(DEVICES.get((int) w[0]), seq);
            out.add(h); // the first copy, in the kernel's order
            if (w[2] == 2) late.add(new long[] {out.size() + w[3], w[0], seq}); // the second, a few places late
            for (var it = late.iterator(); it.hasNext(); ) {
                var l = it.next();
                if (l[0] <= out.size()) {
                    out.add(new Heard(DEVICES.get((int) l[1]), l[2]));
                    it.remove();
                }
            }
        }
        for (var l : late) out.add(new Heard(DEVICES.get((int) l[1]), l[2]));
        return out;
    }

    @Property(tries = 2000, seed = "5208", edgeCases = EdgeCasesMode.MIXIN)
    void takenAreExactlyTheWedgesAboveEverythingHeardBeforeForTheirDevice(@ForAll("streams") List<Heard> stream) {
        var d = Duplicates.NONE;
        var heard = new ArrayList<Heard>();
        for (var h : stream) {
            boolean reference = heard.stream().filter(e -> e.bdf().equals(h.bdf())).allMatch(e -> e.seqnum() < h.seqnum());
            var v = d.judge(h.bdf(), h.seqnum());
            assertThat(v instanceof Fresh).as("%s after %s", h, heard).isEqualTo(reference);
            if (v instanceof Repeated r) assertThat(r.same()).isEqualTo(heard.contains(h) && r.highest() == h.seqnum());
            if (v instanceof Fresh f) d = f.next();
            heard.add(h);
        }
    }

    @Property(tries = 2000, seed = "5209", edgeCases = EdgeCasesMode.MIXIN)
    void noWedgeIsTakenTwiceAndEveryWedgeHeardInKernelOrderIsTakenOnce(@ForAll("streams") List<Heard> stream) {
        var d = Duplicates.NONE;
        var taken = new ArrayList<Heard>();
        for (var h : stream) {
            if (d.judge(h.bdf(), h.seqnum()) instanceof Fresh f) {
                d = f.next();
                taken.add(h);
            }
        }
        assertThat(taken).doesNotHaveDuplicates();
        // the first time each wedge is heard is in kernel order (the netlink copy comes first), so each is taken
        assertThat(taken).containsExactlyElementsOf(stream.stream().distinct().toList());
    }
}
