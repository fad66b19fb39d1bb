package io.unwedge.core;

import static io.unwedge.core.Fixtures.SWITCHED_FUNCTION;
import static io.unwedge.core.Fixtures.recognised;
import static io.unwedge.core.Fixtures.wedged;
import static io.unwedge.core.RecoveryMethod.BUS_RESET;
import static io.unwedge.core.RecoveryMethod.COLD_RESET;
import static io.unwedge.core.RecoveryMethod.NONE;
import static io.unwedge.core.RecoveryMethod.REBIND;
import static io.unwedge.core.RecoveryMethod.UNKNOWN;
import static io.unwedge.core.RecoveryMethod.VENDOR_SPECIFIC;
import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.params.provider.Arguments.arguments;

import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.ValueSource;

class WedgedEventTest {

    // WEDGED= method lists ----------------------------------------------------------------------------------

    static Stream<Arguments> methodLists() {
        return Stream.of(
                arguments("rebind,bus-reset", List.of(REBIND, BUS_RESET)),
                arguments("none", List.of(NONE)),
                arguments("rebind", List.of(REBIND)),
                arguments("vendor-specific", List.of(VENDOR_SPECIFIC)),
                arguments("cold-reset", List.of(COLD_RESET)),
                arguments("unknown", List.of(UNKNOWN)),
                arguments("none,rebind", List.of(NONE, REBIND)),
                arguments("rebind,vendor-specific", List.of(REBIND, VENDOR_SPECIFIC)),
                arguments("none,rebind,cold-reset", List.of(NONE, REBIND, COLD_RESET)), // 22 characters: still whole
                arguments("rebind,bogus", List.of(UNKNOWN)),
                arguments("rebind,unknown", List.of(UNKNOWN)),
                arguments("rebind,bus-reset,vendor-", List.of(UNKNOWN)),
                arguments("rebind,bus-reset,vendor", List.of(UNKNOWN)), // what the kernel really sends when it cuts
                arguments("bus-reset,rebind", List.of(UNKNOWN)),
                arguments("rebind,rebind", List.of(UNKNOWN)),
                arguments("none,none", List.of(UNKNOWN)),
                arguments("", List.of(UNKNOWN)),
                arguments(",", List.of(UNKNOWN)),
                arguments("rebind,", List.of(UNKNOWN)),
                arguments(",rebind", List.of(UNKNOWN)),
                arguments("rebind,,bus-reset", List.of(UNKNOWN)),
                arguments("REBIND", List.of(UNKNOWN)),
                arguments(" rebind", List.of(UNKNOWN)),
                arguments("rebind ", List.of(UNKNOWN)),
                arguments("rebind;bus-reset", List.of(UNKNOWN)));
    }

    @ParameterizedTest(name = "''{0}'' → {1}")
    @MethodSource("methodLists")
    void parsesMethodLists(String value, List<RecoveryMethod> expected) {
        assertThat(WedgedEvent.parseMethods(value)).isEqualTo(expected);
    }

    /** In bit order and made of real tokens, so only the length makes them suspect: the buffer may have cut them. */
    @ParameterizedTest
    @ValueSource(strings = {"bus-reset,vendor-specific", "none,bus-reset,cold-reset", "rebind,bus-reset,cold-reset",
            "none,rebind,bus-reset,cold-reset", "none,rebind,bus-reset,vendor-specific", "vendor-specific,cold-reset",
            "rebind,bus-reset,vendor-specific,cold-reset"})
    void aListThatReachesTheKernelsLimitIsUnknown(String value) {
        assertThat(value.length()).isGreaterThanOrEqualTo(24);
        assertThat(WedgedEvent.parseMethods(value)).containsExactly(UNKNOWN);
    }

    @Test
    void everyLengthFromTheLimitOnIsUnknown() {
        String longest = "none,rebind,bus-reset,vendor-specific,cold-reset";
        for (int n = 24; n <= longest.length(); n++) {
            assertThat(WedgedEvent.parseMethods(longest.substring(0, n))).as(longest.substring(0, n)).containsExactly(UNKNOWN);
        }
    }

    /**
     * The reference: drm_dev_wedged_event() (drivers/gpu/drm/drm_drv.c) for every combination of the known bits.
     * It appends "token," per set bit into char[32] with scnprintf, then overwrites the last character written
     * (meant to be the trailing comma); a cut list therefore ends in a partial token. Whatever it produces,
     * the parse must be either exactly the bits set, or [unknown] when the buffer cut something.
     */
    @Test
    void agreesWithTheKernelsOwnFormattingForEveryMethodMask() {
        var bits = Arrays.stream(RecoveryMethod.values()).filter(m -> m != UNKNOWN).toList();
        for (int mask = 0; mask < 1 << bits.size(); mask++) {
            var set = new ArrayList<RecoveryMethod>();
            for (int b = 0; b < bits.size(); b++) if ((mask & 1 << b) != 0) set.add(bits.get(b));
            var event = kernelWedgedString(set);
            assertThat(event.length()).isLessThanOrEqualTo(31);
            var value = event.substring("WEDGED=".length());

            boolean cut = !event.equals("WEDGED=" + String.join(",", set.stream().map(RecoveryMethod::token).toList()))
                    && !set.isEmpty();
            var expected = set.isEmpty() || cut ? List.of(UNKNOWN) : set;
            assertThat(WedgedEvent.parseMethods(value)).as("mask %s sent as '%s'", set, value).isEqualTo(expected);
        }
    }

    private static String kernelWedgedString(List<RecoveryMethod> set) {
        var buf = new StringBuilder("WEDGED=");
        final int size = 32;
        for (var m : set) {
            String s = m.token() + ",";
            int room = size - buf.length() - 1; // scnprintf leaves room for the NUL
            buf.append(s, 0, Math.min(s.length(), Math.max(room, 0)));
        }
        if (set.isEmpty()) return "WEDGED=unknown";
        buf.setLength(buf.length() - 1);
        return buf.toString();
    }

    // recognition of the shared vectors ------------------------------------------------------------------------

    @Test
    void xeRebindBusResetIsAWedgeOfCard0BehindASwitch() {
        var e = recognised(Vectors.decoded("xe-rebind-bus-reset"));

        assertThat(e.card()).isEqualTo("card0");
        assertThat(e.cardIndex()).isZero();
        // the GPU function, not one of the switch ports above it (0000:01:00.0, 0000:02:01.0)
        assertThat(e.bdf()).isEqualTo(new PciAddress(0, 3, 0, 0));
        assertThat(e.bdf()).hasToString("0000:03:00.0");
        assertThat(e.methods()).containsExactly(REBIND, BUS_RESET);
        assertThat(e.rawMethods()).isEqualTo("rebind,bus-reset");
        assertThat(e.seqnum()).isEqualTo(5208);
        assertThat(e.task()).isEmpty();
        assertThat(e.devpath().path()).isEqualTo(SWITCHED_FUNCTION + "/drm/card0");
        assertThat(e.uevent()).isEqualTo(Vectors.decoded("xe-rebind-bus-reset"));
    }

    @Test
    void amdgpuNoneNamesTheGuiltyTask() {
        var e = recognised(Vectors.decoded("amdgpu-none-task"));

        assertThat(e.card()).isEqualTo("card1");
        assertThat(e.cardIndex()).isEqualTo(1);
        assertThat(e.bdf()).hasToString("0000:03:00.0");
        assertThat(e.methods()).containsExactly(NONE);
        assertThat(e.task()).contains(new TaskInfo(1372, "kwin_wayland"));
        assertThat(e.task().orElseThrow()).hasToString("kwin_wayland[1372]");
        assertThat(e.seqnum()).isEqualTo(6021);
    }

    @Test
    void xeVendorSpecific() {
        var e = recognised(Vectors.decoded("xe-vendor-specific"));
        assertThat(e.methods()).containsExactly(VENDOR_SPECIFIC);
        assertThat(e.seqnum()).isEqualTo(7310);
    }

    @Test
    void aHotplugChangeOnACardIsNotAWedgeAndNotSuspicious() {
        assertThat(WedgedEvent.recognise(Vectors.decoded("igpu-hotplug-change")))
                .isInstanceOfSatisfying(WedgedEvent.NotWedged.class, n -> assertThat(n.suspicious()).isFalse());
    }

    @Test
    void aPciUnbindIsNotAWedgeAndNotSuspicious() {
        assertThat(WedgedEvent.recognise(Vectors.decoded("pci-unbind")))
                .isInstanceOfSatisfying(WedgedEvent.NotWedged.class, n -> assertThat(n.suspicious()).isFalse());
    }

    // recognition of what the vectors do not show ---------------------------------------------------------------

    @Test
    void card10IsAcceptedWithIndex10() {
        var e = recognised(wedged(SWITCHED_FUNCTION + "/drm/card10", "rebind,bus-reset", Map.of()));
        assertThat(e.card()).isEqualTo("card10");
        assertThat(e.cardIndex()).isEqualTo(10);
    }

    static Stream<Arguments> suspicious() {
        var xe = wedged("rebind,bus-reset");
        var onAdd = new LinkedHashMap<>(xe.fields());
        onAdd.put("ACTION", "add");
        return Stream.of(
                arguments("on a render node", wedged(SWITCHED_FUNCTION + "/drm/renderD128", "rebind", Map.of())),
                arguments("on a connector", wedged(SWITCHED_FUNCTION + "/drm/card0-DP-1", "rebind", Map.of())),
                arguments("devpath with ..", wedged(SWITCHED_FUNCTION + "/../0000:04:00.0/drm/card0", "rebind", Map.of())),
                arguments("devpath with .", wedged(SWITCHED_FUNCTION + "/./drm/card0", "rebind", Map.of())),
                arguments("devpath outside /devices", wedged("/class/drm/card0", "rebind", Map.of())),
                arguments("card not under a PCI function", wedged("/devices/platform/soc/gpu/drm/card0", "rebind", Map.of())),
                arguments("card01", wedged(SWITCHED_FUNCTION + "/drm/card01", "rebind", Map.of())),
                arguments("card directly under the function", wedged(SWITCHED_FUNCTION + "/card0", "rebind", Map.of())),
                arguments("no SEQNUM: not from the kernel", Fixtures.without(xe, "SEQNUM")),
                arguments("on action add", Fixtures.wire(new Uevent("add", xe.devpath(), onAdd))));
    }

    @ParameterizedTest(name = "WEDGED {0} → suspicious")
    @MethodSource("suspicious")
    void aWedgeThatBreaksTheContractIsSuspicious(String what, Uevent u) {
        assertThat(WedgedEvent.recognise(u)).isInstanceOfSatisfying(WedgedEvent.NotWedged.class, n -> {
            assertThat(n.suspicious()).isTrue();
            assertThat(n.reason()).isNotBlank();
        });
    }

    @Test
    void aDrmEventWithoutWedgedIsNotSuspicious() {
        var u = Fixtures.without(wedged("rebind"), "WEDGED");
        assertThat(WedgedEvent.recognise(u))
                .isInstanceOfSatisfying(WedgedEvent.NotWedged.class, n -> assertThat(n.suspicious()).isFalse());
    }

    @Test
    void aPidWithoutTaskGivesNoTask() {
        var e = recognised(wedged(SWITCHED_FUNCTION + "/drm/card0", "none", Map.of("PID", "1372")));
        assertThat(e.task()).isEmpty();
    }

    @Test
    void aTaskWithoutPidGivesNoTask() {
        var e = recognised(wedged(SWITCHED_FUNCTION + "/drm/card0", "none", Map.of("TASK", "glxgears")));
        assertThat(e.task()).isEmpty();
    }

    @ParameterizedTest(name = "PID=''{0}''")
    @ValueSource(strings = {"", "abc", "-1", "+1372", " 1372", "1372 ", "13 72", "0x55c", "1372.0", "4294967295",
            "99999999999", "１３７２"})
    void aMalformedPidGivesNoTask(String pid) {
        var extra = new LinkedHashMap<String, String>();
        extra.put("PID", pid);
        extra.put("TASK", "glxgears");
        var e = recognised(wedged(SWITCHED_FUNCTION + "/drm/card0", "none", extra));
        assertThat(e.task()).isEmpty();
    }

    @Test
    void aTaskLongerThanTheKernelsCommGivesNoTask() {
        var extra = new LinkedHashMap<String, String>();
        extra.put("PID", "2112");
        extra.put("TASK", "a-sixteen-chars!");
        assertThat(recognised(wedged(SWITCHED_FUNCTION + "/drm/card0", "none", extra)).task()).isEmpty();
        extra.put("TASK", "fifteen-chars!!");
        assertThat(recognised(wedged(SWITCHED_FUNCTION + "/drm/card0", "none", extra)).task())
                .contains(new TaskInfo(2112, "fifteen-chars!!"));
    }

    @Test
    void everyVectorCarryingWedgedIsAWedgeAndNoOtherIs() {
        for (var name : Vectors.names()) {
            var u = Vectors.decoded(name);
            var r = WedgedEvent.recognise(u);
            if (u.get("WEDGED") != null) {
                assertThat(r).as(name).isInstanceOfSatisfying(WedgedEvent.Wedged.class,
                        w -> assertThat(w.event().rawMethods()).isEqualTo(u.get("WEDGED")));
            } else {
                assertThat(r).as(name).isInstanceOf(WedgedEvent.NotWedged.class);
            }
        }
    }
}
