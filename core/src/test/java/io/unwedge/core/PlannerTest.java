package io.unwedge.core;

import static io.unwedge.core.Fixtures.BDF;
import static io.unwedge.core.Fixtures.device;
import static io.unwedge.core.Fixtures.recognised;
import static io.unwedge.core.Fixtures.wedged;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Decision.Attempt;
import io.unwedge.core.MethodPolicy.BusReset;
import io.unwedge.core.MethodPolicy.Handoff;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;
import org.junit.jupiter.params.provider.ValueSource;

class PlannerTest {

    private static final GpuDevice XE = device(BDF, "xe");
    private static final PciAddress AUDIO = new PciAddress(0, 3, 0, 1);
    private static final Hardware.Slot SLOT = new Hardware.Slot("5", "0000:01:00", new PciAddress(0, 1, 0, 0));
    /** a discrete GPU as the sim makes it: audio at .1, reset with flr and bus, a hotplug slot above its switch */
    private static final Hardware FULL = new Hardware(List.of(new Hardware.Function(AUDIO, Optional.of("snd_hda_intel"))),
            true, List.of("flr", "bus"), Optional.of(SLOT), false);

    private static Decision decide(String methods, GpuDevice device) {
        return Planner.decide(recognised(wedged(methods)), device);
    }

    private static Decision decide(String methods, Hardware hw, MethodPolicy policy) {
        return Planner.decide(recognised(wedged(methods)), XE, hw, policy);
    }

    private static List<RecoveryMethod> ladder(Decision d) {
        assertThat(d).isInstanceOf(Decision.Recover.class);
        return ((Decision.Recover) d).ladder().stream().map(Attempt::method).toList();
    }

    @Test
    void rebindIsTriedFirstAndBusResetIsTheEscalation() {
        var d = Planner.decide(recognised(Vectors.decoded("xe-rebind-bus-reset")), XE, FULL, MethodPolicy.DEFAULT);

        assertThat(d).isInstanceOfSatisfying(Decision.Recover.class, r -> {
            assertThat(r.ladder()).extracting(Attempt::method).containsExactly(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);
            assertThat(r.first().steps()).containsExactly(Step.DRAIN, Step.UNBIND, Step.BIND, Step.SETTLE);
            assertThat(r.ladder().get(1).steps()).containsExactly(Step.DRAIN, Step.UNBIND, Step.RESET, Step.BIND, Step.SETTLE);
            assertThat(r.ladder().get(1).why()).contains("flr bus").contains("1 sibling");
            assertThat(r.reason()).contains("rebind,bus-reset").contains("rebind → bus-reset").contains("escalating");
            assertThat(r.skipped()).isEmpty();
        });
    }

    @ParameterizedTest
    @CsvSource({
            "rebind,                          rebind",
            "'none,rebind',                   rebind",
            "'rebind,cold-reset',             'rebind,cold-reset'",
            "'rebind,vendor-specific',        rebind", // no vendor command configured: skipped
            "bus-reset,                       bus-reset",
            "cold-reset,                      cold-reset",
            "'bus-reset,cold-reset',          'bus-reset,cold-reset'",
    })
    void theLadderIsTheDriversOrderOfWhatCanRun(String methods, String expected) {
        var want = java.util.Arrays.stream(expected.split(",")).map(t -> RecoveryMethod.ofToken(t).orElseThrow()).toList();
        assertThat(ladder(decide(methods, FULL, MethodPolicy.DEFAULT))).isEqualTo(want);
    }

    @Test
    void anEscalationGoesOnAfterTheMethodThatFailed() {
        var r = (Decision.Recover) Planner.decide(recognised(Vectors.decoded("xe-rebind-bus-reset")), XE, FULL, MethodPolicy.DEFAULT);
        assertThat(r.after(RecoveryMethod.REBIND)).extracting(Attempt::method).containsExactly(RecoveryMethod.BUS_RESET);
        assertThat(r.after(RecoveryMethod.BUS_RESET)).as("the last failed: nothing left, quarantine").isEmpty();
        assertThat(r.after(RecoveryMethod.COLD_RESET)).as("not on the ladder (the policy changed): all of it")
                .extracting(Attempt::method).containsExactly(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);
    }

    @Test
    void theSpinesRebindOnlyDecisionStillHolds() {
        assertThat(ladder(decide("rebind,bus-reset", XE))).containsExactly(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);
        var r = (Decision.Recover) decide("rebind,bus-reset", XE);
        assertThat(r.ladder().get(1).steps()).as("no reset attribute known: remove and rescan")
                .containsExactly(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.RESCAN, Step.BIND, Step.SETTLE);
    }

    @Test
    void busResetWithoutAResetAttributeRemovesAndRescans() {
        var noReset = new Hardware(FULL.siblings(), false, List.of(), FULL.slot(), false);
        var r = (Decision.Recover) decide("bus-reset", noReset, MethodPolicy.DEFAULT);
        assertThat(r.first().steps()).containsExactly(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.RESCAN, Step.BIND, Step.SETTLE);
        assertThat(r.first().why()).contains("no reset attribute");
    }

    @Test
    void busResetByRemoveRescanWhenConfigured() {
        var policy = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), BusReset.REMOVE_RESCAN, List.of(), Handoff.ALERT, Map.of());
        var r = (Decision.Recover) decide("bus-reset", FULL, policy);
        assertThat(r.first().steps()).contains(Step.REMOVE, Step.RESCAN).doesNotContain(Step.RESET);
        assertThat(r.first().why()).contains("configured");
    }

    @Test
    void aConfiguredResetMethodIsSaid() {
        var policy = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), BusReset.RESET, List.of("bus"), Handoff.ALERT, Map.of());
        var r = (Decision.Recover) decide("bus-reset", FULL, policy);
        assertThat(r.first().why()).contains("reset_method 'bus', restored after");
    }

    @Test
    void coldResetPowerCyclesTheSlotAboveTheDevice() {
        var r = (Decision.Recover) decide("cold-reset", FULL, MethodPolicy.DEFAULT);
        assertThat(r.first().steps()).containsExactly(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.POWER_OFF, Step.POWER_ON,
                Step.RESCAN, Step.BIND, Step.SETTLE);
        assertThat(r.first().why()).contains("slot 5").contains("0000:01:00.0");
    }

    @Test
    void coldResetWithoutASlotGoesToTheUnknownPolicy() {
        var noSlot = new Hardware(FULL.siblings(), true, FULL.resetMethods(), Optional.empty(), false);
        var d = decide("cold-reset", noSlot, MethodPolicy.DEFAULT);
        assertThat(d).isInstanceOfSatisfying(Decision.Handoff.class, h -> {
            assertThat(h.to()).isEqualTo(Handoff.ALERT);
            assertThat(h.skipped()).singleElement().satisfies(s -> assertThat(s.why()).isEqualTo("no power-controllable slot"));
            assertThat(h.reason()).contains("no power-controllable slot").contains("unknown policy: alert");
        });
        // with something before it, cold-reset is just skipped
        var r = (Decision.Recover) decide("rebind,cold-reset", noSlot, MethodPolicy.DEFAULT);
        assertThat(r.ladder()).extracting(Attempt::method).containsExactly(RecoveryMethod.REBIND);
        assertThat(r.reason()).contains("skipped cold-reset (no power-controllable slot)");
    }

    @Test
    void methodsTheOperatorDoesNotAllowAreSkipped() {
        var onlyRebind = new MethodPolicy(Set.of(RecoveryMethod.REBIND), BusReset.RESET, List.of(), Handoff.ALERT, Map.of());
        var r = (Decision.Recover) decide("rebind,bus-reset", FULL, onlyRebind);
        assertThat(r.ladder()).extracting(Attempt::method).containsExactly(RecoveryMethod.REBIND);
        assertThat(r.skipped()).singleElement().satisfies(s -> {
            assertThat(s.method()).isEqualTo(RecoveryMethod.BUS_RESET);
            assertThat(s.why()).contains("[recovery] methods");
        });
        assertThat(decide("bus-reset", FULL, onlyRebind)).isInstanceOf(Decision.Handoff.class);
    }

    @Test
    void vendorSpecificRunsTheDriversCommandOrIsSkipped() {
        var hook = List.of("/usr/local/bin/vendor-recover", "--bdf");
        var policy = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), BusReset.RESET, List.of(), Handoff.ALERT, Map.of("xe", hook));
        var r = (Decision.Recover) decide("vendor-specific", FULL, policy);
        assertThat(r.first().steps()).containsExactly(Step.DRAIN, Step.COMMAND, Step.SETTLE);
        assertThat(r.first().why()).contains("/usr/local/bin/vendor-recover");

        assertThat(decide("vendor-specific", FULL, MethodPolicy.DEFAULT)).isInstanceOfSatisfying(Decision.Handoff.class,
                h -> assertThat(h.reason()).contains("no [vendor.xe] command configured"));
    }

    @Test
    void xeSurvivabilityModeIsAFirmwareFlashAndNeverARebind() {
        var survivability = new Hardware(FULL.siblings(), true, FULL.resetMethods(), FULL.slot(), true);
        var flash = List.of("/usr/bin/fwupdmgr", "update");
        var policy = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), BusReset.RESET, List.of(), Handoff.ALERT, Map.of("xe", flash));

        assertThat(decide("rebind,vendor-specific", survivability, policy)).isInstanceOfSatisfying(Decision.Handoff.class, h -> {
            assertThat(h.to()).isEqualTo(new Handoff(Handoff.Kind.FIRMWARE_FLASH, flash));
            assertThat(h.reason()).contains("survivability").contains("firmware");
        });
        assertThat(decide("vendor-specific", survivability, MethodPolicy.DEFAULT)).isInstanceOfSatisfying(Decision.Handoff.class,
                h -> assertThat(h.to()).isEqualTo(Handoff.ALERT));
    }

    @Test
    void noneIsTelemetryAndNamesTheTask() {
        var d = Planner.decide(recognised(Vectors.decoded("amdgpu-none-task")), device(BDF, "amdgpu"));

        assertThat(d).isInstanceOfSatisfying(Decision.Telemetry.class,
                n -> assertThat(n.reason()).contains("none").contains("kwin_wayland[1372]"));
    }

    @Test
    void noneNeedsNoBoundDriver() {
        assertThat(decide("none", device(BDF, null))).isInstanceOf(Decision.Telemetry.class);
    }

    @Test
    void unknownGoesToTheConfiguredPolicy() {
        assertThat(decide("unknown", XE)).isInstanceOfSatisfying(Decision.Handoff.class, h -> {
            assertThat(h.method()).isEqualTo(RecoveryMethod.UNKNOWN);
            assertThat(h.to()).isEqualTo(Handoff.ALERT);
            assertThat(h.reason()).contains("'unknown'");
        });
        var reboot = new Handoff(Handoff.Kind.REQUEST_REBOOT, List.of("/usr/sbin/schedule-reboot"));
        var policy = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), BusReset.RESET, List.of(), reboot, Map.of());
        assertThat(decide("unknown", FULL, policy)).isInstanceOfSatisfying(Decision.Handoff.class,
                h -> assertThat(h.to()).isEqualTo(reboot));
    }

    @Test
    void aListUnwedgeCannotTrustIsHandedOffWithWhatWasSent() {
        assertThat(decide("bus-reset,rebind", XE)).isInstanceOfSatisfying(Decision.Handoff.class,
                h -> assertThat(h.reason()).contains("bus-reset,rebind"));
    }

    @ParameterizedTest
    @ValueSource(strings = {"rebind", "rebind,bus-reset", "cold-reset"})
    void anUnboundDeviceHasNothingToBindBack(String methods) {
        assertThat(Planner.decide(recognised(wedged(methods)), device(BDF, null), FULL, MethodPolicy.DEFAULT))
                .isInstanceOfSatisfying(Decision.Handoff.class,
                        h -> assertThat(h.reason()).contains(BDF.toString()).contains("no driver"));
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
    void aRecoverDecisionCannotBeChangedAfterwards() {
        var r = (Decision.Recover) decide("rebind,bus-reset", XE);
        assertThat(r.ladder()).isUnmodifiable();
        assertThat(r.first().steps()).isUnmodifiable();
    }

    @Test
    void aHandoffAlertRunsNoCommandAndACommandHandoffNeedsOne() {
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                .isThrownBy(() -> new Handoff(Handoff.Kind.HOOK, List.of()));
        org.assertj.core.api.Assertions.assertThatIllegalArgumentException()
                .isThrownBy(() -> new Handoff(Handoff.Kind.ALERT, List.of("/bin/true")));
    }
}
