package io.unwedge.core;

import static io.unwedge.core.Fixtures.BDF;
import static io.unwedge.core.Fixtures.device;
import static io.unwedge.core.Fixtures.recognised;
import static io.unwedge.core.Fixtures.wedged;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

class PlannerTest {

    private static final GpuDevice XE = device(BDF, "xe");

    private static Decision decide(String methods, GpuDevice device) {
        return Planner.decide(recognised(wedged(methods)), device);
    }

    @Test
    void rebindIsChosenFromRebindBusReset() {
        var d = Planner.decide(recognised(Vectors.decoded("xe-rebind-bus-reset")), XE);

        assertThat(d).isInstanceOfSatisfying(Decision.Recover.class, r -> {
            assertThat(r.method()).isEqualTo(RecoveryMethod.REBIND);
            assertThat(r.steps()).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
            assertThat(r.reason()).contains("rebind,bus-reset");
        });
    }

    @ParameterizedTest
    @ValueSource(strings = {"rebind", "none,rebind", "rebind,vendor-specific", "rebind,cold-reset"})
    void rebindIsChosenWheneverTheDriverOffersIt(String methods) {
        assertThat(decide(methods, XE)).isInstanceOfSatisfying(Decision.Recover.class,
                r -> assertThat(r.method()).isEqualTo(RecoveryMethod.REBIND));
    }

    @Test
    void noneIsNothingToDoAndNamesTheTask() {
        var d = Planner.decide(recognised(Vectors.decoded("amdgpu-none-task")), device(BDF, "amdgpu"));

        assertThat(d).isInstanceOfSatisfying(Decision.NothingToDo.class,
                n -> assertThat(n.reason()).contains("none").contains("kwin_wayland[1372]"));
    }

    @Test
    void noneNeedsNoBoundDriver() {
        assertThat(decide("none", device(BDF, null))).isInstanceOf(Decision.NothingToDo.class);
    }

    @Test
    void unknownIsRefused() {
        assertThat(decide("unknown", XE)).isInstanceOfSatisfying(Decision.Refuse.class,
                r -> assertThat(r.reason()).contains("unknown"));
    }

    @Test
    void aListUnwedgeCannotTrustIsRefusedWithWhatWasSent() {
        assertThat(decide("bus-reset,rebind", XE)).isInstanceOfSatisfying(Decision.Refuse.class,
                r -> assertThat(r.reason()).contains("bus-reset,rebind"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"bus-reset", "vendor-specific", "cold-reset", "bus-reset,cold-reset"})
    void aListWithoutRebindIsRefusedNamingTheMethod(String methods) {
        assertThat(decide(methods, XE)).isInstanceOfSatisfying(Decision.Refuse.class,
                r -> assertThat(r.reason()).contains("'" + methods + "'"));
    }

    @Test
    void anUnboundDeviceIsRefused() {
        assertThat(decide("rebind,bus-reset", device(BDF, null))).isInstanceOfSatisfying(Decision.Refuse.class,
                r -> assertThat(r.reason()).contains(BDF.toString()).contains("no driver"));
    }

    @Test
    void aBdfMismatchIsRefusedNamingBoth() {
        var other = new PciAddress(0, 4, 0, 0);
        for (var methods : new String[] {"rebind,bus-reset", "none"}) {
            assertThat(decide(methods, device(other, "xe"))).as(methods).isInstanceOfSatisfying(Decision.Refuse.class,
                    r -> assertThat(r.reason()).contains("0000:03:00.0").contains("0000:04:00.0"));
        }
    }

    @Test
    void aRecoverDecisionsStepsCannotBeChangedAfterwards() {
        var r = (Decision.Recover) decide("rebind", XE);
        assertThat(r.steps()).isUnmodifiable();
    }
}
