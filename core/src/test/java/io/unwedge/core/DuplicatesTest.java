package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Duplicates.Fresh;
import io.unwedge.core.Duplicates.Repeated;
import java.util.LinkedHashMap;
import java.util.Map;
import org.junit.jupiter.api.Test;

/** The SEQNUM rule, case by case: the kernel's copy and udev's, in either order, for one device and two. */
class DuplicatesTest {

    static final PciAddress GPU0 = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final PciAddress GPU1 = PciAddress.parse("0000:06:00.0").orElseThrow();

    /** Takes a fresh wedge, failing if it was not one. */
    static Duplicates take(Duplicates d, PciAddress bdf, long seqnum) {
        var v = d.judge(bdf, seqnum);
        assertThat(v).as("%s seqnum %d", bdf, seqnum).isInstanceOf(Fresh.class);
        return ((Fresh) v).next();
    }

    @Test
    void theFirstWedgeOfADeviceIsFreshAndItsSecondCopyIsTheSameWedge() {
        var d = take(Duplicates.NONE, GPU1, 5208);
        assertThat(d.judge(GPU1, 5208)).isEqualTo(new Repeated(5208, true));
        assertThat(((Repeated) d.judge(GPU1, 5208)).reason()).isEqualTo("SEQNUM 5208 already taken");
    }

    @Test
    void aLaterWedgeOfTheSameDeviceIsFreshAndALateCopyOfAnOlderOneIsNot() {
        var d = take(Duplicates.NONE, GPU1, 5208);
        d = take(d, GPU1, 5301); // a re-wedge after the recovery
        var late = d.judge(GPU1, 5208);
        assertThat(late).isEqualTo(new Repeated(5301, false));
        assertThat(((Repeated) late).reason()).isEqualTo("older than SEQNUM 5301, already taken");
        // a copy of a wedge lost on netlink (overflow) arriving behind a newer one: still stale
        assertThat(d.judge(GPU1, 5250)).isInstanceOf(Repeated.class);
    }

    @Test
    void devicesAreJudgedApart() {
        var d = take(Duplicates.NONE, GPU1, 5208);
        // another device's wedge with a lower number is its own
        d = take(d, GPU0, 5100);
        assertThat(d.judge(GPU0, 5100)).isInstanceOf(Repeated.class);
        assertThat(d.judge(GPU1, 5208)).isInstanceOf(Repeated.class);
        assertThat(d.highest()).isEqualTo(Map.of(GPU0, 5100L, GPU1, 5208L));
    }

    @Test
    void judgingNeverChangesTheValueItWasAskedOf() {
        var d = take(Duplicates.NONE, GPU1, 7);
        var before = d.highest();
        d.judge(GPU1, 8);
        d.judge(GPU0, 1);
        assertThat(d.highest()).isEqualTo(before);
    }

    @Test
    void seqnumIsUnsignedAsTheKernels() {
        long top = Long.parseUnsignedLong("18446744073709551615"); // u64 max, -1 as a signed long
        var d = take(Duplicates.NONE, GPU1, Long.MAX_VALUE);
        d = take(d, GPU1, top);
        assertThat(d.judge(GPU1, Long.MAX_VALUE)).isInstanceOf(Repeated.class);
        assertThat(((Repeated) d.judge(GPU1, 5)).reason()).isEqualTo("older than SEQNUM 18446744073709551615, already taken");
    }

    @Test
    void aRecognisedWedgeIsJudgedByItsBdfAndSeqnum() {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("SEQNUM", "5208");
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:01.0/0000:06:00.0/drm/card1", f);
        var event = ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
        var d = ((Fresh) Duplicates.NONE.judge(event)).next();
        assertThat(d.highest()).containsEntry(GPU1, 5208L);
        assertThat(d.judge(event)).isEqualTo(new Repeated(5208, true));
    }
}
