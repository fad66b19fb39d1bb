package io.unwedge.core.safety;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import java.util.Optional;
import org.junit.jupiter.api.Test;

class ExclusionTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();

    @Test
    void aFunctionHoldsItsBusAndTheSlotAboveItInSortedOrder() {
        assertThat(Exclusion.keys(GPU, Optional.of("2"))).containsExactly("bus 0000:03", "slot 2");
        assertThat(Exclusion.keys(GPU, Optional.empty())).containsExactly("bus 0000:03");
    }
}
