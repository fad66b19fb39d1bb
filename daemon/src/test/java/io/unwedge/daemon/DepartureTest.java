package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.Uevent;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class DepartureTest {

    static final String FUNCTION = "/devices/pci0000:00/0000:00:01.0/0000:03:00.0";
    static final GpuDevice GPU = new GpuDevice("card0", 0, PciAddress.parse("0000:03:00.0").orElseThrow(), Optional.of("xe"),
            FUNCTION.substring(1), List.of("card0", "renderD128"));

    static ActorMessage observed(String action, String devpath) {
        return new ActorMessage.Observed(Uevent.of(action, devpath, Map.of("SUBSYSTEM", devpath.contains("/drm/") ? "drm" : "pci")));
    }

    @Test
    void nothingIsPendingBeforeAnUnbind() {
        var d = new Departure();
        d.saw(observed("unbind", FUNCTION));
        assertThat(d.pending()).isFalse();
    }

    @Test
    void theOldInstanceIsGoneWithItsCardsRemoveOrTheFunctionsUnbind() {
        for (var gone : List.of(observed("remove", FUNCTION + "/drm/card0"), observed("remove", FUNCTION + "/drm/renderD128"),
                observed("unbind", FUNCTION), observed("remove", FUNCTION))) {
            var d = new Departure();
            d.expect(GPU);
            assertThat(d.pending()).isTrue();
            d.saw(gone);
            assertThat(d.pending()).as("after " + gone).isFalse();
        }
    }

    @Test
    void otherUeventsLeaveItPending() {
        var d = new Departure();
        d.expect(GPU);
        d.saw(null); // a wait that ended with nothing read
        d.saw(observed("change", FUNCTION + "/drm/card0"));
        d.saw(observed("add", FUNCTION + "/drm/card0"));
        d.saw(observed("bind", FUNCTION));
        d.saw(observed("unbind", "/devices/pci0000:00/0000:00:01.0/0000:03:00.1")); // the audio sibling
        d.saw(observed("remove", "/devices/pci0000:00/0000:00:01.0/0000:03:00.00/drm/card9")); // a name that only starts the same
        d.saw(observed("unbind", FUNCTION + "0")); // nor is this the function
        assertThat(d.pending()).isTrue();
    }

    @Test
    void lostUeventsEndIt() {
        var d = new Departure();
        d.expect(GPU);
        d.saw(new ActorMessage.Resync());
        assertThat(d.pending()).as("the departure may have been lost: a wedge is new from here on").isFalse();
    }
}
