package io.unwedge.core;

import static io.unwedge.core.Fixtures.SWITCHED_FUNCTION;
import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import org.junit.jupiter.params.provider.NullSource;
import org.junit.jupiter.params.provider.ValueSource;

class DevpathTest {

    static java.util.List<String> vectors() {
        return Vectors.names();
    }

    @ParameterizedTest
    @MethodSource("vectors")
    void everyVectorsDevpathPasses(String name) {
        var path = Vectors.decoded(name).devpath();
        assertThat(Devpath.check(path)).isInstanceOfSatisfying(Devpath.Checked.Ok.class, ok -> {
            assertThat(ok.devpath().path()).isEqualTo(path);
            assertThat(String.join("/", ok.devpath().components())).isEqualTo(path.substring(1));
        });
    }

    @ParameterizedTest(name = "''{0}''")
    @NullSource
    @ValueSource(strings = {
            "", "/", "devices/pci0000:00/0000:03:00.0", "/devices", "/sys/devices/pci0000:00", "/class/drm/card0",
            "/devices/", "/devices/pci0000:00/", "/devices//pci0000:00", "/devices/pci0000:00//0000:03:00.0",
            "/devices/./pci0000:00", "/devices/pci0000:00/..", "/devices/../devices/pci0000:00",
            "/devices/pci0000:00/0000:03:00.0/drm/card0/..",
            "/devices/pci 0000:00", "/devices/pci0000:00\n", "/devices/a\tb", "/devices/a\\b", "/devices/a*b",
            "/devices/a;b", "/devices/$(reboot)", "/devices/a`b`", "/devices/a'b", "/devices/a\"b", "/devices/a?b",
            "/devices/grafikkärte", "/devices/显卡", "/devices/a\u0000b", "/devices/a\u007fb"})
    void rejects(String path) {
        assertThat(Devpath.check(path)).isInstanceOfSatisfying(Devpath.Checked.Bad.class,
                bad -> assertThat(bad.reason()).isNotBlank());
    }

    @Test
    void rejectsOverlongComponentsAndPaths() {
        assertThat(Devpath.check("/devices/" + "a".repeat(255))).isInstanceOf(Devpath.Checked.Ok.class);
        assertThat(Devpath.check("/devices/" + "a".repeat(256))).isInstanceOf(Devpath.Checked.Bad.class);
        var deep = "/devices" + "/abcdefghi".repeat(409); // 4098 characters
        assertThat(Devpath.check(deep)).isInstanceOf(Devpath.Checked.Bad.class);
        assertThat(Devpath.check(deep.substring(0, 4090))).isInstanceOf(Devpath.Checked.Ok.class);
    }

    @ParameterizedTest
    @ValueSource(strings = {"card0", "card1", "card9", "card10", "card63"})
    void primaryMinorNames(String name) {
        assertThat(Devpath.isPrimaryMinorName(name)).isTrue();
    }

    @ParameterizedTest
    @ValueSource(strings = {"card", "card01", "card00", "card0-DP-1", "card1-HDMI-A-1", "card0-eDP-1", "cardX", "card-1",
            "card 0", "Card0", "renderD128", "controlD64", "accel0", "card0 ", "card１", "xcard0", "version"})
    void notPrimaryMinorNames(String name) {
        assertThat(Devpath.isPrimaryMinorName(name)).isFalse();
    }

    @Test
    void findsTheFunctionOfAPrimaryMinorBehindASwitch() {
        var d = ok(SWITCHED_FUNCTION + "/drm/card0");
        assertThat(d.primaryMinorFunction()).contains(Fixtures.BDF);
        assertThat(d.nearestFunction()).contains(Fixtures.BDF);
        assertThat(d.last()).isEqualTo("card0");
        assertThat(d).hasToString(SWITCHED_FUNCTION + "/drm/card0");
    }

    @Test
    void onlyAPrimaryMinorHasAPrimaryMinorFunction() {
        assertThat(ok(SWITCHED_FUNCTION + "/drm/renderD128").primaryMinorFunction()).isEmpty();
        assertThat(ok(SWITCHED_FUNCTION + "/drm/card0-DP-1").primaryMinorFunction()).isEmpty();
        assertThat(ok(SWITCHED_FUNCTION + "/DRM/card0").primaryMinorFunction()).isEmpty();
        assertThat(ok(SWITCHED_FUNCTION + "/card0").primaryMinorFunction()).isEmpty();
        assertThat(ok("/devices/platform/gpu/drm/card0").primaryMinorFunction()).isEmpty();
        assertThat(ok("/devices/0000:03:00.0/drm/card0").primaryMinorFunction()).contains(Fixtures.BDF);
        assertThat(ok(SWITCHED_FUNCTION).primaryMinorFunction()).isEmpty();
    }

    @Test
    void theNearestFunctionIsTheOneClosestToTheLeaf() {
        assertThat(ok(SWITCHED_FUNCTION).nearestFunction()).contains(Fixtures.BDF);
        assertThat(ok(SWITCHED_FUNCTION + "/drm/card0-DP-1").nearestFunction()).contains(Fixtures.BDF);
        assertThat(ok("/devices/pci0000:00/0000:00:01.0/0000:01:00.0").nearestFunction())
                .contains(new PciAddress(0, 1, 0, 0));
        assertThat(ok("/devices/platform/gpu/drm/card0").nearestFunction()).isEmpty();
    }

    private static Devpath ok(String path) {
        var c = Devpath.check(path);
        assertThat(c).isInstanceOf(Devpath.Checked.Ok.class);
        return ((Devpath.Checked.Ok) c).devpath();
    }
}
