package io.unwedge.core.safety;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Hardware;
import io.unwedge.core.PciAddress;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ExclusionTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();

    @Test
    void aFunctionHoldsItsBusAndTheSlotAboveItInSortedOrder() {
        assertThat(Exclusion.keys(GPU, Optional.of("2"))).containsExactly("bus 0000:03", "slot 2");
        assertThat(Exclusion.keys(GPU, Optional.empty())).containsExactly("bus 0000:03");
    }

    @Test
    void aRecoverysKeysAndARestartsAreTheSameForOneFunction() {
        var device = new io.unwedge.core.GpuDevice("card0", 0, GPU, Optional.of("xe"), "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0",
                List.of("card0", "renderD128"));
        var hw = new Hardware(List.of(), true, List.of("bus"), Optional.of(new Hardware.Slot("2", "0000:02:01", PciAddress.parse("0000:02:01.0").orElseThrow())), false);
        assertThat(Exclusion.keys(device, hw)).isEqualTo(Exclusion.keys(GPU, Optional.of("2")));
    }
}
