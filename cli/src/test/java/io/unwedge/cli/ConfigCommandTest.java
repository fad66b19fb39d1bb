package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.config.Config;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `config check` and `config show`, run in-process through Main's command line (its exit codes and error handling). */
class ConfigCommandTest {

    @TempDir Path dir;

    record Result(int code, String out, String err) {}

    static Result run(String... args) {
        var out = new StringWriter();
        var err = new StringWriter();
        var cl = Main.commandLine();
        cl.setOut(new PrintWriter(out, true));
        cl.setErr(new PrintWriter(err, true));
        int code = cl.execute(args);
        return new Result(code, out.toString(), err.toString());
    }

    static final String GOOD = """
            # a site's settings
            [daemon]
            retain_days = 30

            [drain]
            grace = "30s"
            mode = "terminate"            # the default, so not a difference

            [drain.device."0000:03:00.0"]
            mode = "wait"
            """;

    static final String BAD = """
            [daemon]
            retain_days = 0

            [drain]
            grase = "10s"

            [timeouts]
            bind = 60
            """;

    @Test
    void checkOnAGoodFileSaysOkAndWhatDiffersFromTheDefaults() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), GOOD);
        var r = run("config", "check", file.toString());
        assertThat(r.code()).as(r.err()).isEqualTo(ExitCode.OK.code).isZero();
        assertThat(r.out()).isEqualTo(file + ": ok\n"
                + "settings that differ from the defaults:\n"
                + "[daemon]\nretain_days = 30\n\n"
                + "[drain]\ngrace = \"30s\"\n\n"
                + "[drain.device.\"0000:03:00.0\"]\nmode = \"wait\"\n");
        assertThat(r.err()).isEmpty();
    }

    @Test
    void checkOnAFileOfDefaultsSaysSo() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), "[drain]\nmode = \"terminate\"\n");
        var r = run("config", "check", file.toString());
        assertThat(r.code()).isZero();
        assertThat(r.out()).isEqualTo(file + ": ok\nevery setting is at its default\n");
    }

    @Test
    void checkOnABadFileListsEveryProblemWithItsLineAndExitsWithTheUsageCode() throws Exception {
        var file = Files.writeString(dir.resolve("bad.toml"), BAD);
        var r = run("config", "check", file.toString());
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code).isEqualTo(2);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).isEqualTo(
                file + ":2: 'retain_days' in [daemon] must be at least 1, not 0 (e.g. retain_days = 90)\n"
                        + file + ":5: unknown key 'grase' in [drain]; did you mean 'grace'?\n"
                        + file + ":8: 'bind' in [timeouts] is a bare number (60): a duration is a string with a unit,"
                        + " units: ms, s, m, h, d (e.g. bind = \"1m\")\n"
                        + "3 problems in " + file + "\n");
    }

    @Test
    void checkJsonGivesTheProblemsOrTheDifferencesAsOneObject() throws Exception {
        var bad = Files.writeString(dir.resolve("bad.toml"), BAD);
        var r = run("config", "check", bad.toString(), "--json");
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        var o = (Map<?, ?>) StrictJson.parse(r.out());
        assertThat(o.get("file")).isEqualTo(bad.toString());
        assertThat(o.get("ok")).isEqualTo(false);
        var problems = (List<?>) o.get("problems");
        assertThat(problems.stream().map(p -> (Object) ((Map<?, ?>) p).get("line")).toList()).containsExactly(2L, 5L, 8L);
        assertThat(((Map<?, ?>) problems.get(1)).get("message")).isEqualTo("unknown key 'grase' in [drain]; did you mean 'grace'?");

        var good = Files.writeString(dir.resolve("good.toml"), GOOD);
        r = run("config", "check", good.toString(), "--json");
        assertThat(r.code()).isZero();
        o = (Map<?, ?>) StrictJson.parse(r.out());
        assertThat(o.get("ok")).isEqualTo(true);
        assertThat(o.get("found")).isEqualTo(true);
        assertThat(o.get("differs")).isEqualTo(Map.of("daemon", Map.of("retain_days", 30L),
                "drain", Map.of("grace", "30s", "device", Map.of("0000:03:00.0", Map.of("mode", "wait")))));
    }

    @Test
    void aNamedFileThatIsMissingIsAUsageError() {
        var r = run("config", "check", dir.resolve("absent.toml").toString());
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.err()).contains(dir.resolve("absent.toml") + ": no such file");
        r = run("config", "show", dir.resolve("absent.toml").toString());
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
    }

    @Test
    void aDirectoryIsNotAConfigFile() {
        var r = run("config", "check", dir.toString());
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.err()).contains(dir + ": cannot read");
    }

    @Test
    void showPrintsEverySettingAsTomlThatReadsBackToTheSameConfig() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), GOOD);
        var r = run("config", "show", file.toString());
        assertThat(r.code()).as(r.err()).isZero();
        assertThat(r.out()).startsWith("# the effective config of " + file + ", defaults filled in\n")
                .contains("[timeouts]\nwrite = \"30s\"\n", "[hooks]\n", "retain_days = 30\n");
        var shown = Config.parse(r.out(), "shown");
        assertThat(shown).isEqualTo(Config.load(file));
        assertThat(shown.drainFor("xe", PciAddress.parse("0000:03:00.0").orElseThrow()))
                .isEqualTo(new DrainPolicy(DrainPolicy.Mode.WAIT, Duration.ofSeconds(30), DrainPolicy.Protection.DEFAULT, false));
        // and what it prints for that is what it read
        var again = Files.writeString(dir.resolve("again.toml"), r.out());
        assertThat(run("config", "show", again.toString()).out()).isEqualTo(r.out().replace(file.toString(), again.toString()));
    }

    @Test
    void showJsonIsOneObjectAMemberPerTable() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), GOOD);
        var r = run("config", "show", file.toString(), "--json");
        assertThat(r.code()).isZero();
        var o = (Map<?, ?>) StrictJson.parse(r.out());
        assertThat(o.keySet().stream().map(Object::toString).toList()).containsExactly("daemon", "timeouts", "drain", "recovery", "safety", "unknown", "none", "hooks");
        var drain = (Map<?, ?>) o.get("drain");
        assertThat(drain.get("grace")).isEqualTo("30s");
        assertThat(drain.get("protect")).isEqualTo(List.of());
        assertThat(drain.get("device")).isEqualTo(Map.of("0000:03:00.0", Map.of("mode", "wait")));
        assertThat(((Map<?, ?>) o.get("recovery")).get("methods")).isEqualTo(List.of("rebind", "bus-reset", "vendor-specific", "cold-reset"));
        assertThat(((Map<?, ?>) o.get("daemon")).get("retain_days")).isEqualTo(30L);
    }

    @Test
    void showOnABadFileListsTheProblemsToo() throws Exception {
        var file = Files.writeString(dir.resolve("bad.toml"), BAD);
        var r = run("config", "show", file.toString());
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.out()).isEmpty();
        assertThat(r.err()).contains(file + ":5: unknown key 'grase'");
    }

    @Test
    void configAloneAsksForItsCommand() {
        var r = run("config");
        assertThat(r.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(r.err()).contains("config needs a command: check or show");
    }
}
