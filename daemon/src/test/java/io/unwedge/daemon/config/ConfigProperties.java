package io.unwedge.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Timeouts;
import java.nio.file.Path;
import java.time.Duration;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.EdgeCasesMode;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import net.jqwik.api.Tuple;
import net.jqwik.api.statistics.StatisticsReport;
import net.jqwik.api.statistics.StatisticsReport.StatisticsReportMode;

/**
 * The reader's laws, with fixed seeds: any text is a {@link Config} or a {@link ConfigException} (never
 * another exception), each problem on a line the text has; and every config written as TOML reads back
 * equal.
 */
class ConfigProperties {

    @Property(tries = 2000, seed = "7331", edgeCases = EdgeCasesMode.MIXIN)
    @StatisticsReport(StatisticsReportMode.OFF)
    void anyTextIsAConfigOrAConfigExceptionAndNothingElse(@ForAll("texts") String text) {
        try {
            var c = Config.parse(text, "f.toml");
            assertThat(Config.parse(c.toToml(), "again")).isEqualTo(c);
        } catch (ConfigException e) {
            long lines = text.chars().filter(ch -> ch == '\n').count() + 1;
            assertThat(e.problems()).isNotEmpty().allSatisfy(p -> {
                assertThat(p.line()).isBetween(0, (int) lines);
                assertThat(p.message()).isNotBlank();
            });
        }
    }

    @Property(tries = 500, seed = "1729", edgeCases = EdgeCasesMode.NONE)
    void everyConfigWrittenAsTomlReadsBackEqual(@ForAll("configs") Config c) throws ConfigException {
        assertThat(Config.parse(c.toToml(), "written")).isEqualTo(c);
    }

    // generators --------------------------------------------------------------------------------------------

    @Provide
    Arbitrary<String> texts() {
        return Arbitraries.frequencyOf(
                Tuple.of(40, soup()),
                Tuple.of(30, mutated()),
                Tuple.of(20, Arbitraries.strings().ofMaxLength(200)),
                Tuple.of(10, Arbitraries.strings().withChars("[]\"'=#.,\n\r\t \\{}-_0123456789abcdemsuxU").ofMaxLength(120)));
    }

    /** Lines made of the words the config is written in: tables, keys, values, and the pieces of each. */
    static Arbitrary<String> soup() {
        var words = Arbitraries.of("[", "]", "[[", "[drain]", "[daemon]", "[timeouts]", "[recovery]", "[unknown]", "[none]",
                "[hooks]", "[safety]", "[vendor.xe]", "[drain.driver.xe]", "[drain.device.\"0000:03:00.0\"]", "[drain.device.\"x\"]",
                "mode", "grace", "force", "protect", "state_dir", "methods", "reset_method", "policy", "command", "action", "budget",
                "write", "settle", "=", " = ", "\"", "'", "\"10s\"", "\"0s\"", "\"-1s\"", "10", "-1", "0", "1_0", "99999999999999999999",
                "true", "false", "[\"rebind\"]", "[\"/bin/x\"]", "[]", ",", "#", "\n", "\r\n", "\\", "\\u00e9", "\\uD800", "{", ".",
                "\"hook\"", "\"terminate\"", "\"bus flr\"", "\u0000", "\u0007", "é", "🎮");
        return words.list().ofMaxSize(40).map(ws -> String.join("", ws));
    }

    record Edit(int kind, int at, char c) {}

    /** A valid file with a few characters changed, inserted or removed. */
    static Arbitrary<String> mutated() {
        var edit = Combinators.combine(Arbitraries.integers().between(0, 2), Arbitraries.integers().greaterOrEqual(0),
                Arbitraries.chars().with("[]\"'=#.,\n \\0a-{")).as(Edit::new);
        return edit.list().ofMinSize(1).ofMaxSize(5).map(edits -> {
            var b = new StringBuilder(ConfigTest.EVERY_KEY);
            for (var e : edits) {
                int at = Math.floorMod(e.at(), b.length());
                switch (e.kind()) {
                    case 0 -> b.setCharAt(at, e.c());
                    case 1 -> b.insert(at, e.c());
                    default -> b.deleteCharAt(at);
                }
            }
            return b.toString();
        });
    }

    static Arbitrary<Duration> durations(boolean zero) {
        var ms = Arbitraries.longs().between(zero ? 0 : 1, 10_000_000L).map(Duration::ofMillis);
        var units = Arbitraries.of(Duration.ofSeconds(1), Duration.ofMinutes(1), Duration.ofHours(1), Duration.ofDays(1));
        var whole = Combinators.combine(Arbitraries.longs().between(zero ? 0 : 1, 400), units).as((n, u) -> u.multipliedBy(n));
        return Arbitraries.oneOf(ms, whole);
    }

    /** Strings as a person might write them, quotes, backslashes, controls and non-ASCII included. */
    static Arbitrary<String> words() {
        return Arbitraries.strings().withCharRange(' ', '~').withChars("\t\u0001\u007féü🎮".toCharArray()).ofMinLength(1).ofMaxLength(12);
    }

    /** Process names: anything but control characters. */
    static Arbitrary<String> comms() {
        return Arbitraries.strings().withCharRange(' ', '~').withChars("éü🎮".toCharArray()).ofMinLength(1).ofMaxLength(16);
    }

    static Arbitrary<Config.Command> commands() {
        var program = Arbitraries.strings().alpha().ofMinLength(1).ofMaxLength(8).map(s -> "/usr/bin/" + s);
        return Combinators.combine(program, words().list().ofMaxSize(3)).as((p, args) -> {
            var argv = new java.util.ArrayList<String>();
            argv.add(p);
            argv.addAll(args);
            return new Config.Command(argv);
        }).injectNull(0.3).map(c -> c == null ? Config.Command.NONE : c);
    }

    static Arbitrary<Config.DrainOverride> overrides() {
        return Combinators.combine(Arbitraries.of(DrainPolicy.Mode.class).optional(0.5), durations(true).optional(0.5),
                Arbitraries.of(true, false).optional(0.5), comms().list().ofMaxSize(3).optional(0.5)).as(Config.DrainOverride::new);
    }

    @Provide
    Arbitrary<Config> configs() {
        var daemon = Combinators.combine(Arbitraries.strings().withCharRange('a', 'z').ofMinLength(1).ofMaxLength(10).map(s -> Path.of("/var", s)),
                Arbitraries.of(true, false), Arbitraries.of(EventLog.Format.class), Arbitraries.of(true, false),
                Arbitraries.integers().between(1, 10_000), Arbitraries.integers().between(1, 1 << 20)).as(Config.Daemon::new);
        var timeouts = Combinators.combine(durations(false), durations(false), durations(false), durations(true), durations(false),
                durations(false)).as(Timeouts::new);
        var bdfs = Combinators.combine(Arbitraries.integers().between(0, 0xffff), Arbitraries.integers().between(0, 0xff),
                Arbitraries.integers().between(0, 0x1f), Arbitraries.integers().between(0, 7)).as(PciAddress::new);
        var drivers = Arbitraries.strings().withChars("abcdefghijklmnopqrstuvwxyz0123456789_-").ofMinLength(1).ofMaxLength(10);
        var drain = Combinators.combine(Arbitraries.of(DrainPolicy.Mode.class), durations(true), Arbitraries.of(true, false),
                comms().list().ofMaxSize(4), Arbitraries.maps(drivers, overrides()).ofMaxSize(3),
                Arbitraries.maps(bdfs, overrides()).ofMaxSize(3)).as(Config.Drain::new);
        var recovery = Combinators.combine(Arbitraries.subsetOf(Config.DISRUPTIVE), Arbitraries.of(io.unwedge.core.MethodPolicy.BusReset.class),
                Arbitraries.shuffle(Config.RESET_METHODS).flatMap(all -> Arbitraries.integers().between(0, all.size()).map(n -> all.subList(0, n))),
                Arbitraries.of(true, false), Arbitraries.integers().between(1, 64)).as(Config.Recovery::new);
        var safety = Combinators.combine(Arbitraries.integers().between(1, 100), durations(false), Arbitraries.integers().between(2, 100),
                durations(false), Arbitraries.of(io.unwedge.core.safety.QuarantineMode.class)).as(Config.Safety::new);
        var unknown = Combinators.combine(Arbitraries.of(Config.Unknown.Policy.class), commands())
                .filter((p, c) -> p == Config.Unknown.Policy.ALERT || !c.isEmpty()).as(Config.Unknown::new);
        var none = Combinators.combine(Arbitraries.of(true, false), Arbitraries.integers().between(1, 100), durations(false),
                Arbitraries.of(Config.None.Action.class), commands())
                .filter((d, o, w, a, c) -> a != Config.None.Action.HOOK || !c.isEmpty()).as(Config.None::new);
        var vendors = Arbitraries.maps(drivers, commands().map(Config.Vendor::new)).ofMaxSize(2);
        var hooks = Combinators.combine(commands(), commands(), durations(false)).as(Config.Hooks::new);
        return Combinators.combine(daemon, timeouts, drain, recovery, safety, unknown, none, vendors)
                .flatAs((d, t, dr, r, s, u, n, v) -> hooks.map(h -> new Config(covering(d, s, n), t, dr, r, s, u, n, v, h)));
    }

    /** {@code d} keeping at least the history the safety rules count: a config that keeps less is refused. */
    static Config.Daemon covering(Config.Daemon d, Config.Safety s, Config.None n) {
        long hours = Config.safetyLookbacks(s, n).values().stream().mapToLong(java.time.Duration::toHours).max().orElse(0) + 1;
        int days = (int) Math.max(d.retainDays(), (hours + 23) / 24);
        return new Config.Daemon(d.stateDir(), d.dryRun(), d.logFormat(), d.debug(), days, d.retainMb(), d.metricsListen(), d.metricsAllowRemote());
    }
}
