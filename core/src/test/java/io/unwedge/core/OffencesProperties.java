package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Offences.Act;
import io.unwedge.core.Offences.Action;
import io.unwedge.core.Offences.AlreadyOver;
import io.unwedge.core.Offences.Below;
import io.unwedge.core.Offences.Policy;
import io.unwedge.core.Offences.Verdict;
import java.time.Duration;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;

/**
 * The offence laws on generated histories (fixed seeds): the order of the earlier offences never matters;
 * offences outside the window never count, and those older than the lookback never change the verdict; the
 * count is the plain count of the window; and replayed in time order, a task's actions are at least a window
 * apart, the first offence to reach the threshold acts, and nothing is ever "already over" without an
 * action before it.
 */
class OffencesProperties {

    static final Instant NOW = Instant.parse("2026-11-25T10:00:00Z");

    /** A policy, and offence times in seconds around NOW: some before the lookback, some after now. */
    record Case(Policy policy, List<Long> earlierSeconds, long seed) {
        List<Instant> earlier() {
            return earlierSeconds.stream().map(NOW::plusSeconds).toList();
        }

        long window() {
            return policy.window().toSeconds();
        }
    }

    @Provide
    Arbitrary<Case> cases() {
        var policy = Combinators.combine(Arbitraries.integers().between(1, 6), Arbitraries.longs().between(1, 120),
                Arbitraries.of(Action.class)).as((n, w, a) -> new Policy(n, Duration.ofSeconds(w), a));
        return policy.flatMap(p -> {
            long w = p.window().toSeconds();
            return Combinators.combine(Arbitraries.longs().between(-3 * w, w / 2).list().ofMaxSize(40),
                    Arbitraries.longs()).as((times, seed) -> new Case(p, times, seed));
        });
    }

    @Property(tries = 2000, seed = "4242", edgeCases = EdgeCasesMode.MIXIN)
    void theOrderOfEarlierOffencesNeverMatters(@ForAll("cases") Case c) {
        var shuffled = new ArrayList<>(c.earlier());
        Collections.shuffle(shuffled, new Random(c.seed()));
        assertThat(Offences.judge(shuffled, NOW, c.policy())).isEqualTo(Offences.judge(c.earlier(), NOW, c.policy()));
        assertThat(Offences.judge(c.earlier().reversed(), NOW, c.policy())).isEqualTo(Offences.judge(c.earlier(), NOW, c.policy()));
    }

    @Property(tries = 2000, seed = "4243", edgeCases = EdgeCasesMode.MIXIN)
    void theCountIsTheOffencesInsideTheWindowEndingNowAndNothingElse(@ForAll("cases") Case c) {
        long inside = c.earlierSeconds().stream().filter(s -> s > -c.window() && s <= 0).count();
        var v = Offences.judge(c.earlier(), NOW, c.policy());
        assertThat(v.count()).isEqualTo(inside + 1);
        assertThat(v instanceof Below).isEqualTo(inside + 1 < c.policy().count());
    }

    @Property(tries = 2000, seed = "4244", edgeCases = EdgeCasesMode.MIXIN)
    void offencesOutsideTheWindowNeverCountAndBeyondTheLookbackNeverMatter(@ForAll("cases") Case c) {
        var v = Offences.judge(c.earlier(), NOW, c.policy());
        // more offences at or before the window's start, or after now, change no count
        var outside = new ArrayList<>(c.earlier());
        outside.add(NOW.minus(c.policy().window()));
        outside.add(NOW.minusSeconds(3 * c.window()));
        outside.add(NOW.plusSeconds(1));
        assertThat(Offences.judge(outside, NOW, c.policy()).count()).isEqualTo(v.count());
        // ... and those older than the lookback change nothing at all
        var ancient = new ArrayList<>(c.earlier());
        for (int i = 0; i < 10; i++) ancient.add(NOW.minus(c.policy().lookback()).minusSeconds(i));
        assertThat(Offences.judge(ancient, NOW, c.policy())).isEqualTo(v);
        var trimmed = c.earlier().stream().filter(t -> t.isAfter(NOW.minus(c.policy().lookback()))).toList();
        assertThat(Offences.judge(trimmed, NOW, c.policy())).isEqualTo(v);
    }

    @Property(tries = 1000, seed = "4245", edgeCases = EdgeCasesMode.MIXIN)
    void replayedInTimeOrderActionsComeOncePerCrossingAndAtLeastAWindowApart(@ForAll("cases") Case c) {
        var times = new ArrayList<>(c.earlier());
        times.add(NOW);
        Collections.sort(times);
        var seen = new ArrayList<Instant>();
        Instant lastAct = null;
        boolean everReached = false;
        for (var t : times) {
            Verdict v = Offences.judge(seen, t, c.policy());
            switch (v) {
                case Act a -> {
                    assertThat(a.action()).isEqualTo(c.policy().action());
                    assertThat(a.count()).isGreaterThanOrEqualTo(c.policy().count());
                    if (lastAct != null) assertThat(Duration.between(lastAct, t)).isGreaterThanOrEqualTo(c.policy().window());
                    lastAct = t;
                }
                case AlreadyOver o -> {
                    assertThat(lastAct).as("already over at %s with no action before it", t).isNotNull();
                    assertThat(everReached).isTrue();
                }
                case Below b -> assertThat(b.count()).isLessThan(c.policy().count());
            }
            if (!everReached && !(v instanceof Below)) {
                assertThat(v).as("the first offence to reach the threshold acts").isInstanceOf(Act.class);
            }
            everReached |= !(v instanceof Below);
            seen.add(t);
        }
    }
}
