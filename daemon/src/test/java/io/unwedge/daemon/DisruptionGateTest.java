package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.TreeSet;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

/** Devices on one bus or slot never disrupt at once; the host-wide cap; no deadlock whatever the order. */
class DisruptionGateTest {

    static TreeSet<String> keys(String... k) {
        return new TreeSet<>(List.of(k));
    }

    static long in(long ms) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(ms);
    }

    @Test
    void aSecondRecoveryOnTheSameSlotWaitsUntilTheFirstIsDone() throws Exception {
        var gate = new DisruptionGate(4);
        var said = new CopyOnWriteArrayList<String>();
        var first = gate.enter(keys("bus 0000:03", "slot 1"), in(1000), said::add);
        assertThat(first).isNotNull();
        var entered = new CountDownLatch(1);
        var t = Thread.ofVirtual().start(() -> {
            try (var second = gate.enter(keys("bus 0000:04", "slot 1"), in(5000), said::add)) {
                entered.countDown();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        assertThat(entered.await(200, TimeUnit.MILLISECONDS)).as("held out while the slot is taken").isFalse();
        assertThat(said).containsExactly("another recovery holds slot 1");
        first.close();
        assertThat(entered.await(5, TimeUnit.SECONDS)).isTrue();
        t.join();
    }

    @Test
    void devicesOnOtherBusesAndSlotsDoNotWaitForEachOther() throws Exception {
        var gate = new DisruptionGate(2);
        try (var a = gate.enter(keys("bus 0000:03", "slot 1"), in(100), s -> {});
             var b = gate.enter(keys("bus 0000:06", "slot 2"), in(100), s -> {})) {
            assertThat(a).isNotNull();
            assertThat(b).isNotNull();
        }
    }

    @Test
    void theHostWideCapHoldsOutTheNextOneAndADeadlineEndsTheWait() throws Exception {
        var gate = new DisruptionGate(1);
        var said = new ArrayList<String>();
        try (var a = gate.enter(keys("bus 0000:03"), in(100), s -> {})) {
            assertThat(gate.enter(keys("bus 0000:06"), in(50), said::add)).as("gave up at the deadline").isNull();
            assertThat(said).singleElement().asString().contains("max_concurrent");
        }
        try (var again = gate.enter(keys("bus 0000:06"), in(50), s -> {})) {
            assertThat(again).as("a pass given back, and one that timed out, leave the gate as it was").isNotNull();
        }
    }

    @Test
    void aTimedOutWaitForALockGivesBackWhatItHeld() throws Exception {
        var gate = new DisruptionGate(3);
        try (var slot = gate.enter(keys("slot 1"), in(100), s -> {})) {
            assertThat(gate.enter(keys("bus 0000:03", "slot 1"), in(50), s -> {})).isNull();
            try (var bus = gate.enter(keys("bus 0000:03"), in(50), s -> {})) {
                assertThat(bus).as("the bus lock taken on the way was released").isNotNull();
            }
        }
    }

    @Test
    void closingAPassTwiceIsHarmless() throws Exception {
        var gate = new DisruptionGate(1);
        var p = gate.enter(keys("bus 0000:03"), in(100), s -> {});
        p.close();
        p.close();
        try (var a = gate.enter(keys("bus 0000:03"), in(100), s -> {})) {
            assertThat(gate.enter(keys("bus 0000:06"), in(30), s -> {})).as("one permit, not two").isNull();
        }
    }
}
