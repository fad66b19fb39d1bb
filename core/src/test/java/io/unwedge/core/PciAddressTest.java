package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatIllegalArgumentException;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.NullAndEmptySource;
import org.junit.jupiter.params.provider.ValueSource;

class PciAddressTest {

    @ParameterizedTest(name = "{0}")
    @CsvSource({
            "0000:03:00.0, 0,      3,    0,    0, 0000:03:00.0",
            "0000:00:02.0, 0,      0,    2,    0, 0000:00:02.0",
            "0000:0A:1F.7, 0,      10,   31,   7, 0000:0a:1f.7",
            "ffff:ff:1f.7, 65535,  255,  31,   7, ffff:ff:1f.7",
            "10de:c1:00.1, 4318,   193,  0,    1, 10de:c1:00.1"})
    void parses(String text, int domain, int bus, int device, int function, String canonical) {
        var a = PciAddress.parse(text).orElseThrow();
        assertThat(a).isEqualTo(new PciAddress(domain, bus, device, function));
        assertThat(a).hasToString(canonical);
    }

    @ParameterizedTest(name = "''{0}''")
    @NullAndEmptySource
    @ValueSource(strings = {
            "0000:03:00", "03:00.0", "0000:03:00.0 ", " 0000:03:00.0", "0000:03:00.0\n", "0000:03:00.00",
            "000:003:00.0", "0000-03-00.0", "0000:03:00:0", "0000.03:00.0",
            "0000:03:20.0",     // device is 5 bits
            "0000:03:00.8",     // function is 3 bits
            "g000:03:00.0", "0000:0x:00.0", "+000:03:00.0", "-000:03:00.0",
            "０000:03:00.0",     // fullwidth digit
            "0000:03:00.٠",     // Arabic-Indic digit zero
            "0000:0Ａ:00.0",     // fullwidth A
            "card0", "0000:03:00.0/drm"})
    void rejects(String text) {
        assertThat(PciAddress.parse(text)).isEmpty();
    }

    @Test
    void everyAddressRoundTripsThroughItsText() {
        var random = new Random(5208);
        for (int i = 0; i < 10_000; i++) {
            var a = new PciAddress(random.nextInt(0x10000), random.nextInt(0x100), random.nextInt(0x20), random.nextInt(8));
            assertThat(PciAddress.parse(a.toString())).contains(a);
            assertThat(PciAddress.parse(a.toString().toUpperCase())).contains(a);
        }
    }

    @Test
    void refusesOutOfRangeParts() {
        assertThatIllegalArgumentException().isThrownBy(() -> new PciAddress(0x10000, 0, 0, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new PciAddress(-1, 0, 0, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new PciAddress(0, 0x100, 0, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new PciAddress(0, 0, 0x20, 0));
        assertThatIllegalArgumentException().isThrownBy(() -> new PciAddress(0, 0, 0, 8));
    }

    @Test
    void ordersByDomainBusDeviceFunction() {
        var sorted = List.of(new PciAddress(0, 0, 2, 0), new PciAddress(0, 3, 0, 0), new PciAddress(0, 3, 0, 1),
                new PciAddress(0, 0x10, 0, 0), new PciAddress(0, 0xc1, 0, 0), new PciAddress(1, 0, 0, 0));
        var shuffled = new ArrayList<>(sorted);
        Collections.shuffle(shuffled, new Random(1));
        Collections.sort(shuffled);
        assertThat(shuffled).isEqualTo(sorted);
        assertThat(new PciAddress(0, 3, 0, 0).compareTo(PciAddress.parse("0000:03:00.0").orElseThrow())).isZero();
    }
}
