package io.unwedge.core.safety;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.safety.Safety.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.constraints.IntRange;
import org.junit.jupiter.api.Test;

class SafetyTest {

    private static final Instant NOW = Instant.parse("2026-11-26T12:00:00Z");
    private static final SafetyPolicy POLICY = SafetyPolicy.DEFAULT; // 3 per 1h, flapping at 3 within 10m

    /** A wedge {@code ago} before now whose one attempt took a second and ended as {@code recovered} says. */
    private static PastRecovery wedge(long eventId, Duration ago, boolean recovered) {
        var start = NOW.minus(ago);
        return new PastRecovery(eventId, start, Optional.of(start.plusSeconds(1)), true, recovered);
    }

    @Test
    void aDeviceWithNoHistoryIsAllowed() {
        assertThat(Safety.check(NOW, List.of(), Optional.empty(), POLICY)).isInstanceOfSatisfying(Verdict.Allow.class,
                a -> assertThat(a.reason()).contains("0 of 3"));
    }

    @Test
    void theBudgetCountsWedgesInsideTheWindowOnly() {
        var history = List.of(wedge(1, Duration.ofMinutes(90), true), wedge(2, Duration.ofMinutes(50), false),
                wedge(3, Duration.ofMinutes(40), false));
        assertThat(Safety.check(NOW, history, Optional.empty(), POLICY)).isInstanceOf(Verdict.Allow.class);

        var spent = new ArrayList<>(history);
        spent.add(wedge(4, Duration.ofMinutes(30), false));
        assertThat(Safety.check(NOW, spent, Optional.empty(), POLICY)).isInstanceOfSatisfying(Verdict.Deny.class, d -> {
            assertThat(d.quarantine()).isTrue();
            assertThat(d.reason()).contains("budget spent: 3 recoveries in the last 1h (budget 3)");
        });
    }

    @Test
    void anEscalationCountsOnceAgainstTheBudget() {
        var start = NOW.minus(Duration.ofMinutes(30));
        var history = new ArrayList<PastRecovery>();
        for (long event = 1; event <= 2; event++) {
            var s = start.plusSeconds(event * 60);
            history.add(new PastRecovery(event, s, Optional.of(s.plusSeconds(5)), true, false)); // rebind failed
            history.add(new PastRecovery(event, s.plusSeconds(6), Optional.of(s.plusSeconds(9)), true, false)); // bus-reset failed
        }
        assertThat(Safety.check(NOW, history, Optional.empty(), POLICY)).isInstanceOfSatisfying(Verdict.Allow.class,
                a -> assertThat(a.reason()).startsWith("2 of 3"));
    }

    @Test
    void refusedAndDryRunWedgesCostNothing() {
        var history = new ArrayList<PastRecovery>();
        for (long e = 1; e <= 5; e++) history.add(new PastRecovery(e, NOW.minusSeconds(60 * e), Optional.of(NOW.minusSeconds(60 * e - 1)), false, false));
        assertThat(Safety.check(NOW, history, Optional.empty(), POLICY)).isInstanceOf(Verdict.Allow.class);
    }

    @Test
    void reWedgingSoonAfterEachRecoveryIsFlapping() {
        var flappy = new SafetyPolicy(10, Duration.ofHours(1), 3, Duration.ofMinutes(10), QuarantineMode.UNBOUND, 1);
        // each wedge came 4 minutes after the previous recovery ended
        var history = List.of(wedge(1, Duration.ofMinutes(21), true), wedge(2, Duration.ofMinutes(16), true),
                wedge(3, Duration.ofMinutes(11), true), wedge(4, Duration.ofMinutes(6), true));
        // now is 6 minutes after the last recovery: four re-wedges in a row, this one included
        assertThat(Safety.check(NOW, history, Optional.empty(), flappy)).isInstanceOfSatisfying(Verdict.Deny.class, d -> {
            assertThat(d.quarantine()).isTrue();
            assertThat(d.reason()).contains("flapping").contains("within 10m").contains("4 times in a row");
        });
    }

    @Test
    void aLongQuietSpellOrAFailedRecoveryBreaksTheStreak() {
        var flappy = new SafetyPolicy(10, Duration.ofHours(1), 3, Duration.ofMinutes(10), QuarantineMode.UNBOUND, 1);
        var quiet = List.of(wedge(1, Duration.ofMinutes(50), true), wedge(2, Duration.ofMinutes(45), true),
                wedge(3, Duration.ofMinutes(20), true)); // 24 min between 2's end and 3
        assertThat(Safety.check(NOW.minus(Duration.ofMinutes(15)), quiet, Optional.empty(), flappy)).isInstanceOf(Verdict.Allow.class);
        var failed = List.of(wedge(1, Duration.ofMinutes(12), true), wedge(2, Duration.ofMinutes(8), false),
                wedge(3, Duration.ofMinutes(4), true));
        assertThat(Safety.check(NOW, failed, Optional.empty(), flappy)).isInstanceOfSatisfying(Verdict.Allow.class,
                a -> assertThat(a.reason()).contains("re-wedged 1 time(s)"));
    }

    @Test
    void aQuarantinedDeviceIsDeniedWithoutANewQuarantine() {
        var bdf = new PciAddress(0, 3, 0, 0);
        var q = new Quarantine(bdf, NOW.minusSeconds(600), "budget spent", QuarantineMode.UNBOUND);
        assertThat(Safety.check(NOW, List.of(), Optional.of(q), POLICY)).isInstanceOfSatisfying(Verdict.Deny.class, d -> {
            assertThat(d.quarantine()).isFalse();
            assertThat(d.reason()).contains("quarantined since").contains("unwedge release 0000:03:00.0");
        });
    }

    @Property(seed = "20261126")
    void theOrderOfTheHistoryNeverMatters(@ForAll @IntRange(min = 0, max = 8) int n, @ForAll @IntRange(min = 1, max = 30) int gapMinutes,
                                          @ForAll long shuffleSeed) {
        var history = new ArrayList<PastRecovery>();
        for (int i = 0; i < n; i++) history.add(wedge(i, Duration.ofMinutes((long) gapMinutes * (i + 1)), i % 3 != 2));
        var expected = Safety.check(NOW, history, Optional.empty(), POLICY);
        Collections.shuffle(history, new java.util.Random(shuffleSeed));
        assertThat(Safety.check(NOW, history, Optional.empty(), POLICY)).isEqualTo(expected);
    }

    @Test
    void durationsAreSaidInTheirLargestEvenUnit() {
        assertThat(Safety.format(Duration.ofHours(1))).isEqualTo("1h");
        assertThat(Safety.format(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(Safety.format(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(Safety.format(Duration.ofDays(2))).isEqualTo("2d");
    }
}
