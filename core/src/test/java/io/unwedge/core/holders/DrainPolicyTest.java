package io.unwedge.core.holders;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.holders.DrainPolicy.Action;
import io.unwedge.core.holders.DrainPolicy.Mode;
import io.unwedge.core.holders.DrainPolicy.Protection;
import io.unwedge.core.holders.DrainPolicy.Seen;
import io.unwedge.core.holders.DrainPolicy.Verdict;
import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.OptionalInt;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

class DrainPolicyTest {

    static Holder holder(int pid, String comm) {
        return holder(pid, comm, Placement.UNKNOWN, 1000);
    }

    static Holder holder(int pid, String comm, Placement placement, int uid) {
        return new Holder(pid, comm, List.of(comm), OptionalInt.of(uid), placement,
                List.of(new Holder.HeldFd(3, "/dev/dri/card0", Optional.empty(), Optional.empty())), List.of());
    }

    static final Duration G = Duration.ofSeconds(10);

    static DrainPolicy policy(Mode mode) {
        return new DrainPolicy(mode, G, Protection.DEFAULT, false);
    }

    static Duration s(double seconds) {
        return Duration.ofMillis((long) (seconds * 1000));
    }

    /** mode, elapsed → what one ordinary holder gets, and when to look again. */
    static Stream<Arguments> oneHolder() {
        return Stream.of(
                Arguments.of(Mode.TERMINATE, s(0), "Send SIGTERM", s(10)),
                Arguments.of(Mode.TERMINATE, s(4), "Send SIGTERM", s(6)),
                Arguments.of(Mode.TERMINATE, s(10), "Send SIGKILL", s(5)),
                Arguments.of(Mode.TERMINATE, s(14), "Send SIGKILL", s(1)),
                Arguments.of(Mode.TERMINATE, s(15), "GiveUp", null),
                Arguments.of(Mode.KILL, s(0), "Send SIGKILL", s(5)),
                Arguments.of(Mode.KILL, s(5), "GiveUp", null),
                Arguments.of(Mode.WAIT, s(0), "Wait", s(10)),
                Arguments.of(Mode.WAIT, s(9.5), "Wait", s(0.5)),
                Arguments.of(Mode.WAIT, s(10), "GiveUp", null),
                Arguments.of(Mode.NOTIFY_ONLY, s(0), "Notify", null));
    }

    @ParameterizedTest(name = "{0} at {1}: {2}")
    @MethodSource
    void oneHolder(Mode mode, Duration elapsed, String expected, Duration lookAgain) {
        var h = holder(4242, "glxgears");
        var a = policy(mode).action(new Seen(h, elapsed));
        String got = switch (a) {
            case Action.Send send -> "Send " + send.signal();
            default -> a.getClass().getSimpleName();
        };
        assertThat(got).isEqualTo(expected);
        var v = policy(mode).decide(List.of(new Seen(h, elapsed)));
        if (lookAgain == null) {
            assertThat(v).isInstanceOf(Verdict.Stop.class);
            assertThat(((Verdict.Stop) v).why()).startsWith("4242 glxgears (");
        } else {
            assertThat(v).isInstanceOfSatisfying(Verdict.Drain.class, d -> assertThat(d.lookAgain()).isEqualTo(lookAgain));
        }
    }

    /** comm, unit, uid → protected or not, under the defaults plus uid 42. */
    static Stream<Arguments> protection() {
        return Stream.of(
                Arguments.of("Xwayland", "", 1000, "protected comm Xwayland"),
                Arguments.of("Xorg", "", 0, "protected comm Xorg"),
                Arguments.of("gnome-shell", "", 1000, "protected comm gnome-shell"),
                Arguments.of("kwin_wayland", "", 1000, "protected comm kwin_wayland"),
                Arguments.of("sddm", "", 0, "protected comm sddm"),
                Arguments.of("gdm", "", 0, "protected comm gdm"),
                Arguments.of("gdm-session-wor", "/system.slice/gdm.service", 0, "protected unit gdm.service"),
                Arguments.of("Xorg", "/system.slice/display-manager.service", 0, "protected comm Xorg"),
                Arguments.of("compute", "", 42, "protected uid 42"),
                Arguments.of("xwayland", "", 1000, null),
                Arguments.of("glxgears", "/user.slice/user-1000.slice/app.scope", 1000, null),
                Arguments.of("python3", "/system.slice/ollama.service", 998, null));
    }

    @ParameterizedTest(name = "{0} {1} uid {2}: {3}")
    @MethodSource
    void protection(String comm, String cgroup, int uid, String why) {
        var p = new Protection(Protection.DEFAULT.comms(), Protection.DEFAULT.units(), Set.of(42));
        var h = holder(7, comm, cgroup.isEmpty() ? Placement.UNKNOWN : Placement.of(cgroup), uid);
        assertThat(p.why(h)).isEqualTo(Optional.ofNullable(why));
    }

    @Test
    void aLongProtectedNameMatchesTheKernelsCutComm() {
        var p = new Protection(Set.of("gnome-session-binary"), Set.of(), Set.of());
        assertThat(p.why(holder(7, "gnome-session-b"))).contains("protected comm gnome-session-binary");
        assertThat(p.why(holder(7, "gnome-session"))).isEmpty();
    }

    @Test
    void noHoldersIsFree() {
        assertThat(DrainPolicy.DEFAULT.decide(new Holders(List.of(), List.of()), Duration.ZERO)).isInstanceOf(Verdict.Free.class);
    }

    @Test
    void aProtectedHolderStopsTheDrainBeforeAnyoneIsSignalled() {
        var v = policy(Mode.TERMINATE).decide(new Holders(List.of(holder(10, "glxgears"), holder(11, "Xwayland")), List.of()), Duration.ZERO);
        assertThat(v).isInstanceOfSatisfying(Verdict.Stop.class, st -> {
            assertThat(st.actions()).singleElement().isInstanceOf(Action.Spare.class);
            assertThat(st.why()).isEqualTo("11 Xwayland (protected comm Xwayland)");
        });
    }

    @Test
    void withForceTheOthersAreStillDrainedAndTheProtectedSpared() {
        var p = new DrainPolicy(Mode.TERMINATE, G, Protection.DEFAULT, true);
        var v = p.decide(new Holders(List.of(holder(10, "glxgears"), holder(11, "Xwayland")), List.of()), Duration.ZERO);
        assertThat(v).isInstanceOfSatisfying(Verdict.Drain.class, d -> {
            assertThat(d.actions()).hasSize(2);
            assertThat(d.actions().get(0)).isInstanceOf(Action.Send.class);
            assertThat(d.actions().get(1)).isInstanceOf(Action.Spare.class);
            assertThat(d.lookAgain()).isEqualTo(G);
        });
        // once only the protected one is left, force stops waiting: the daemon proceeds
        var after = p.decide(new Holders(List.of(holder(11, "Xwayland")), List.of()), s(1));
        assertThat(after).isInstanceOf(Verdict.Stop.class);
    }

    @Test
    void notifyOnlyStopsAtOnceWithEveryHolderListed() {
        var v = policy(Mode.NOTIFY_ONLY).decide(new Holders(List.of(holder(10, "a"), holder(12, "b")), List.of()), Duration.ZERO);
        assertThat(v).isInstanceOfSatisfying(Verdict.Stop.class, st -> assertThat(st.why()).isEqualTo("10 a (notify-only), 12 b (notify-only)"));
    }

    @Test
    void aNewOpenerGetsItsOwnGraceAndTheEarliestDeadlineWins() {
        var v = policy(Mode.TERMINATE).decide(List.of(new Seen(holder(10, "old"), s(10)), new Seen(holder(20, "new"), s(0))));
        assertThat(v).isInstanceOfSatisfying(Verdict.Drain.class, d -> {
            assertThat(d.actions()).extracting(a -> ((Action.Send) a).signal())
                    .containsExactly(DrainPolicy.Signal.KILL, DrainPolicy.Signal.TERM);
            assertThat(d.lookAgain()).isEqualTo(s(5));
        });
    }

    @Test
    void modesParseAsTheCommandLineSpellsThem() {
        for (var m : Mode.values()) assertThat(Mode.parse(m.toString())).contains(m);
        assertThat(Mode.parse("notify-only")).contains(Mode.NOTIFY_ONLY);
        assertThat(Mode.parse("TERMINATE")).isEmpty();
    }
}
