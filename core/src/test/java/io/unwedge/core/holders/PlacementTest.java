package io.unwedge.core.holders;

import static org.assertj.core.api.Assertions.assertThat;

import org.junit.jupiter.api.Test;

class PlacementTest {

    static final String ID = "4f3a9c1b2d8e7f6a5b4c3d2e1f0a9b8c7d6e5f4a3b2c1d0e9f8a7b6c5d4e3f2a";

    @Test
    void systemServiceUnit() {
        var p = Placement.parse("0::/system.slice/gdm.service\n");
        assertThat(p.unit()).contains("gdm.service");
        assertThat(p.container()).isEmpty();
        assertThat(p.label()).isEqualTo("gdm.service");
    }

    @Test
    void userSessionScopeInsideAUserService() {
        var p = Placement.parse("0::/user.slice/user-1000.slice/user@1000.service/app.slice/app-gnome-firefox-1234.scope\n");
        assertThat(p.unit()).contains("app-gnome-firefox-1234.scope");
    }

    @Test
    void containersOfEachRuntime() {
        for (var path : new String[] {"/system.slice/docker-" + ID + ".scope", "/docker/" + ID,
                "/kubepods.slice/kubepods-burstable.slice/kubepods-burstable-pod1.slice/cri-containerd-" + ID + ".scope",
                "/machine.slice/libpod-" + ID + ".scope/container", "/kubepods/besteffort/pod1234/" + ID}) {
            var p = Placement.parse("0::" + path + "\n");
            assertThat(p.container()).as(path).contains(ID);
            assertThat(p.label()).isEqualTo("container " + ID.substring(0, 12));
        }
    }

    @Test
    void cgroupV1HostUsesTheSystemdHierarchy() {
        var p = Placement.parse("12:memory:/system.slice/foo.service\n1:name=systemd:/system.slice/foo.service\n0::/\n");
        assertThat(p.unit()).contains("foo.service");
    }

    @Test
    void garbageGivesUnknownOrAPlainPath() {
        assertThat(Placement.parse(null)).isEqualTo(Placement.UNKNOWN);
        assertThat(Placement.parse("")).isEqualTo(Placement.UNKNOWN);
        assertThat(Placement.parse("nonsense")).isEqualTo(Placement.UNKNOWN);
        var p = Placement.parse("0::/\n");
        assertThat(p.unit()).isEmpty();
        assertThat(p.label()).isEqualTo("/");
    }
}
