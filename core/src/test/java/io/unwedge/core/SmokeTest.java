package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class SmokeTest {
    @Test
    void bdfRoundTrips() {
        assertThat(PciAddress.parse("0000:03:00.0")).map(PciAddress::toString).contains("0000:03:00.0");
    }
}
