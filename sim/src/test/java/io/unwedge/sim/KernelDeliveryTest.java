package io.unwedge.sim;

import static io.unwedge.sim.SimHarness.summary;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Uevent;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The sequences of {@link PciCoreTest} through the real kernel, in a private network namespace: what a
 * daemon there hears, SEQNUM appended by the kernel, in the order the model sent them.
 */
class KernelDeliveryTest {

    @TempDir Path dir;

    @Test
    void removeAndRescanRoundTripThroughTheKernel() throws Exception {
        try (var h = SimHarness.kernel(dir, 1)) {
            h.write(h.fn(0).resolve("remove"), "1");
            h.write(h.pci("rescan"), "1");
            var events = h.next(10, "remove, then rescan");
            assertThat(summary(events)).containsExactly(
                    "remove card0-DP-1", "remove card0", "remove renderD128", "unbind 0000:03:00.0", "remove 0000:03:00.0",
                    "add 0000:03:00.0", "add card0", "add renderD128", "add card0-DP-1", "bind 0000:03:00.0");
            assertSeqnumsRise(events);
            assertThat(h.host.cardOf(h.gpu(0))).isEqualTo("card0");
        }
    }

    @Test
    void aSlotPowerCycleThroughTheKernel() throws Exception {
        try (var h = SimHarness.kernel(dir, 1)) {
            h.write(h.slot(0).resolve("power"), "0");
            var off = h.next(9, "power off");
            assertThat(summary(off).getLast()).isEqualTo("remove 0000:01:00.0");
            h.write(h.slot(0).resolve("power"), "1");
            var on = h.next(9, "power on");
            assertThat(summary(on).getFirst()).isEqualTo("add 0000:01:00.0");
            var all = new ArrayList<>(off);
            all.addAll(on);
            assertSeqnumsRise(all);
            assertThat(on.get(7).get("DRIVER")).isEqualTo("xe");
        }
    }

    @Test
    void aDevcoredumpThroughTheKernel() throws Exception {
        try (var h = SimHarness.kernel(dir, 1)) {
            h.model.devcoredump("card0", 100);
            h.write(h.host.devcoredumps().getFirst().resolve("data"), "1");
            var events = h.next(2, "add and remove");
            assertThat(events).extracting(Uevent::action).containsExactly("add", "remove");
            assertThat(events).allSatisfy(u -> assertThat(u.subsystem()).isEqualTo("devcoredump"));
            assertSeqnumsRise(events);
        }
    }

    private static void assertSeqnumsRise(List<Uevent> events) {
        long last = -1;
        for (var u : events) {
            long s = u.seqnum().orElseThrow(() -> new AssertionError("no SEQNUM from the kernel: " + u));
            assertThat(s).as("SEQNUM of " + u.action() + " " + u.devpath()).isGreaterThan(last);
            last = s;
        }
    }
}
