package io.unwedge.sim;

import static io.unwedge.sim.SimHarness.WAIT;
import static io.unwedge.sim.SimHarness.summary;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The driver's side beyond rebind: re-wedges, xe's survivability mode, and the requests that set them. */
class DriverFaultsTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();

    @TempDir Path dir;

    @Test
    void aRewedgeFaultWedgesTheNextDriverInstanceOnceWithTheLastMethods() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
            h.next(1, "wedge");
            h.model.rewedgeAfter(GPU, Duration.ofMillis(200));
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.next(4, "bind");
            long bound = System.nanoTime();
            var again = h.next(1, "the re-wedge").getFirst();
            assertThat((System.nanoTime() - bound) / 1_000_000).as("not before the delay").isGreaterThanOrEqualTo(150);
            assertThat(again.action()).isEqualTo("change");
            assertThat(again.get("WEDGED")).isEqualTo("rebind,bus-reset");
            assertThat(again.devpath()).endsWith("/drm/card0");
            assertThat(h.model.wedgedWith(GPU)).contains("rebind,bus-reset");

            // once only: the instance after the next rebind stays up
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.next(4, "bind");
            Thread.sleep(400); // longer than the fault's delay: a second re-wedge would have come by now
            h.model.hotplug("card0");
            assertThat(h.next(1, "the marker").getFirst().get("HOTPLUG")).isEqualTo("1");
        }
    }

    @Test
    void aRebindBeforeTheRewedgeTimerEndsItsInstanceCancelsIt() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            h.model.rewedgeAfter(GPU, Duration.ofMillis(300));
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.next(4, "bind");
            h.write(h.driver("xe", "unbind"), GPU + "\n"); // the instance the timer belongs to goes
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            h.next(4, "bind");
            Thread.sleep(500);
            h.model.hotplug("card0");
            assertThat(h.next(1, "the marker").getFirst().get("HOTPLUG")).isEqualTo("1");
            assertThat(h.model.wedgedWith(GPU)).isEmpty();
        }
    }

    @Test
    void survivabilityModeWedgesVendorSpecificAndProbesComeUpWithoutACardUntilFlashed() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            assertThat(h.model.survivability("card0")).isEqualTo("vendor-specific");
            assertThat(h.next(1, "wedge").getFirst().get("WEDGED")).isEqualTo("vendor-specific");
            assertThat(h.host.survivabilityMode(h.gpu(0))).contains("Survivability mode type: Runtime");
            assertThat(Files.readString(h.fn(0).resolve("survivability_mode"))).startsWith("Survivability mode type: Runtime\n");

            h.write(h.driver("xe", "unbind"), GPU + "\n");
            h.next(4, "unbind");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(summary(h.next(1, "bind"))).containsExactly("bind 0000:03:00.0");
            assertThat(h.host.driverOf(GPU)).contains("xe");
            assertThat(h.host.cardOf(h.gpu(0))).as("boot survivability: no DRM device").isNull();
            assertThat(h.host.survivabilityMode(h.gpu(0))).contains("Survivability mode type: Boot");

            assertThat(h.model.flash(GPU)).contains("rebind it");
            assertThat(h.fn(0).resolve("survivability_mode")).doesNotExist();
            assertThatThrownBy(() -> h.model.flash(GPU)).hasMessageContaining("not in survivability mode");
            h.write(h.driver("xe", "unbind"), GPU + "\n");
            assertThat(summary(h.next(1, "unbind"))).containsExactly("unbind 0000:03:00.0");
            h.write(h.driver("xe", "bind"), GPU + "\n");
            assertThat(summary(h.next(4, "bind"))).contains("add card0");
        }
    }

    @Test
    void survivabilityModeIsXesAlone() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1, GpuModel.AMDGPU, VirtualHost.Options.DEFAULT, DriverModel.Settings.of(Duration.ZERO))) {
            assertThatThrownBy(() -> h.model.survivability("card0")).isInstanceOf(SimException.class)
                    .hasMessage("survivability mode is xe's; card0 is driven by amdgpu");
            assertThatThrownBy(() -> SimControl.request(h.host, Map.of("op", "survivability", "card", "card0"), WAIT))
                    .hasMessageContaining("xe's");
        }
    }

    @Test
    void requestsSetFaultsAndSurvivabilityFromOtherProcesses() throws Exception {
        try (var h = SimHarness.inProcess(dir, 1)) {
            assertThat(SimControl.request(h.host, Map.of("op", "fault", "bdf", "0000:03:00.0",
                    "failWrite", "remove=EBUSY,reset=ENOTTY", "probeFailures", "1"), WAIT)).isEqualTo("fault set on 0000:03:00.0");
            h.write(h.fn(0).resolve("remove"), "1");
            h.awaitError("remove 0000:03:00.0: EBUSY (injected fault)");
            h.write(h.fn(0).resolve("reset"), "1");
            h.awaitError("reset 0000:03:00.0: ENOTTY (injected fault)");
            assertThat(SimControl.request(h.host, Map.of("op", "fault", "bdf", "0000:03:00.0", "clear", "true",
                    "deadUntilColdReset", "true"), WAIT)).startsWith("fault set");
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.DEAD);
            assertThat(SimControl.request(h.host, Map.of("op", "fault", "bdf", "0000:03:00.0", "clear", "true", "noReset", "true",
                    "rewedgeAfterMs", "50"), WAIT)).startsWith("fault set");
            assertThat(h.fn(0).resolve("reset")).doesNotExist();
            assertThat(h.model.health(GPU)).isEqualTo(DriverModel.Health.HEALTHY);

            assertThatThrownBy(() -> SimControl.request(h.host, Map.of("op", "fault", "bdf", "0000:03:00.0", "failWrite", "remove"), WAIT))
                    .hasMessageContaining("failWrite wants ATTR=ERRNO, not 'remove'");
            assertThatThrownBy(() -> SimControl.request(h.host, Map.of("op", "fault", "bdf", "0000:03:00.1", "rewedgeAfterMs", "5"), WAIT))
                    .hasMessageContaining("audio function");
            assertThatThrownBy(() -> SimControl.request(h.host, Map.of("op", "fault", "bdf", "3:0.0"), WAIT))
                    .hasMessageContaining("bad bdf '3:0.0'");

            assertThat(SimControl.request(h.host, Map.of("op", "survivability", "card", "card0"), WAIT))
                    .isEqualTo("WEDGED=vendor-specific survivability_mode: Runtime");
            assertThat(SimControl.request(h.host, Map.of("op", "flash", "bdf", "0000:03:00.0"), WAIT)).isEqualTo("flashed 0000:03:00.0");
            assertThat(h.host.survivabilityMode(h.gpu(0))).isEmpty();
        }
    }
}
