package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Offences.Act;
import io.unwedge.core.Offences.Action;
import io.unwedge.core.Offences.AlreadyOver;
import io.unwedge.core.Offences.Below;
import io.unwedge.core.Offences.Policy;
import io.unwedge.core.Offences.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/** Repeat-offence verdicts, table by table: times are minutes after T0, the policy 3 in 60 minutes. */
class OffencesTest {

    static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");
    static final Policy THREE_AN_HOUR = new Policy(3, Duration.ofMinutes(60), Action.TERMINATE);

    static Instant m(long minutes) {
        return T0.plus(Duration.ofMinutes(minutes));
    }

    static List<Instant> ms(long... minutes) {
        return Arrays.stream(minutes).mapToObj(OffencesTest::m).toList();
    }

    static Stream<Arguments> table() {
        return Stream.of(
                Arguments.of("a first offence", ms(), 0, new Below(1)),
                Arguments.of("a second", ms(0), 10, new Below(2)),
                Arguments.of("the third within the hour acts", ms(0, 10), 20, new Act(Action.TERMINATE, 3)),
                Arguments.of("the fourth does not act again", ms(0, 10, 20), 30, new AlreadyOver(4)),
                Arguments.of("order of the earlier ones is irrelevant", ms(20, 0, 10), 30, new AlreadyOver(4)),
                Arguments.of("one exactly a window ago is outside", ms(0, 30), 60, new Below(2)),
                Arguments.of("one a moment less than a window ago is inside", ms(1, 30), 60, new Act(Action.TERMINATE, 3)),
                Arguments.of("old offences never count", ms(-500, -400, -300, -200), 0, new Below(1)),
                Arguments.of("one stamped after now (clock stepped back) is outside", ms(0, 90), 10, new Below(2)),
                // steady at the rate: acted at 50, and 75 and 100 are the same run
                Arguments.of("a steady offender: the crossing", ms(0, 25), 50, new Act(Action.TERMINATE, 3)),
                Arguments.of("a steady offender: still over", ms(0, 25, 50), 75, new AlreadyOver(3)),
                Arguments.of("a steady offender: still over later", ms(0, 25, 50, 75), 100, new AlreadyOver(3)),
                // 50 reached the threshold at its own time and lies inside 90's window: the action was taken then
                Arguments.of("over within the window blocks", ms(0, 25, 50, 80), 90, new AlreadyOver(3)),
                // calmed down: nothing over in the window ending now, so a new crossing acts
                Arguments.of("after a calm window a new crossing acts", ms(0, 10, 20, 100, 110), 115, new Act(Action.TERMINATE, 3)),
                Arguments.of("two at the same instant are two offences", ms(5, 5), 5, new Act(Action.TERMINATE, 3)),
                Arguments.of("a tie with an earlier over one does not act", ms(5, 5, 5), 5, new AlreadyOver(4)));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("table")
    void verdicts(String what, List<Instant> earlier, long now, Verdict expected) {
        assertThat(Offences.judge(earlier, m(now), THREE_AN_HOUR)).isEqualTo(expected);
    }

    @Test
    void aThresholdOfOneActsOnceAWindowAtMost() {
        var once = new Policy(1, Duration.ofMinutes(60), Action.NOTIFY);
        assertThat(Offences.judge(ms(), m(0), once)).isEqualTo(new Act(Action.NOTIFY, 1));
        assertThat(Offences.judge(ms(0), m(30), once)).isEqualTo(new AlreadyOver(2));
        assertThat(Offences.judge(ms(0, 30), m(89), once)).isEqualTo(new AlreadyOver(2));
        assertThat(Offences.judge(ms(0, 30), m(91), once)).isEqualTo(new Act(Action.NOTIFY, 1));
    }

    @Test
    void aStormOfOffencesIsJudgedQuicklyAndActedOnOnce() {
        var p = new Policy(5, Duration.ofHours(24), Action.HOOK);
        var earlier = new ArrayList<Instant>();
        int acts = 0;
        long started = System.nanoTime();
        for (int s = 0; s < 3_000; s++) {
            var v = Offences.judge(earlier, T0.plusSeconds(s), p);
            if (v instanceof Act) acts++;
            if (s == 4) assertThat(v).isEqualTo(new Act(Action.HOOK, 5));
            earlier.add(T0.plusSeconds(s));
        }
        assertThat(acts).isEqualTo(1);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("n log n per verdict, not n squared").isLessThan(Duration.ofSeconds(20));
    }

    @Test
    void aPolicyIsValidatedAndParsed() {
        assertThatThrownBy(() -> new Policy(0, Duration.ofHours(1), Action.NOTIFY)).hasMessageContaining("at least 1: 0");
        assertThatThrownBy(() -> new Policy(3, Duration.ZERO, Action.NOTIFY)).hasMessageContaining("window must be positive");
        assertThatThrownBy(() -> new Policy(3, Duration.ofHours(1), null)).hasMessageContaining("action");
        assertThat(THREE_AN_HOUR.lookback()).isEqualTo(Duration.ofHours(2));
        assertThat(Action.parse("terminate")).contains(Action.TERMINATE);
        assertThat(Action.parse("hook")).contains(Action.HOOK);
        assertThat(Action.parse("notify")).contains(Action.NOTIFY);
        assertThat(Action.parse("NOTIFY")).isEmpty();
        assertThat(Action.parse("kill")).isEmpty();
    }
}
