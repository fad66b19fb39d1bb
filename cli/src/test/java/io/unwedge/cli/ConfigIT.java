package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The packaged command and a config file, as an administrator meets them. */
class ConfigIT {

    @TempDir Path dir;

    @Test
    void checkSaysOkForAGoodFileAndExitsZero() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), "[drain]\ngrace = \"30s\"\n");
        var r = Commands.run(30, "config", "check", file.toString());
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).isEqualTo(file + ": ok\nsettings that differ from the defaults:\n[drain]\ngrace = \"30s\"\n");
    }

    @Test
    void checkListsEveryProblemOfABadFileByLineAndExitsTwo() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), """
                [daemon]
                log_format = "xml"
                [drain]
                grase = "10s"
                [drain.device."0000:03:00"]
                """);
        var r = Commands.run(30, "config", "check", file.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(2);
        assertThat(r.out()).isEqualTo(
                file + ":2: 'log_format' in [daemon] must be one of text, json, not \"xml\" (e.g. log_format = \"text\")\n"
                        + file + ":4: unknown key 'grase' in [drain]; did you mean 'grace'?\n"
                        + file + ":5: [drain.device.\"0000:03:00\"]: \"0000:03:00\" is not a PCI address DDDD:BB:DD.F,"
                        + " e.g. [drain.device.\"0000:03:00.0\"]\n"
                        + "3 problems in " + file + "\n");
    }

    @Test
    void theDaemonRefusesToStartOnABadFileBeforeTouchingAnything() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), "[timeouts]\nbind = 60\n");
        var state = dir.resolve("state");
        var r = Commands.run(30, "daemon", "--config", file.toString(), "--sysfs", dir.resolve("lab/sys").toString(), "--state-dir", state.toString());
        assertThat(r.code()).as(r.out()).isEqualTo(2);
        assertThat(r.out()).contains(file + ": 1 problem", file + ":2: 'bind' in [timeouts] is a bare number (60)");
        assertThat(state).doesNotExist();
    }

    @Test
    void theShippedExampleChecksOk() throws Exception {
        Path example = Path.of(System.getProperty("user.dir")).getParent().resolve("packaging/unwedge.toml");
        var r = Commands.run(30, "config", "check", example.toString());
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).isEqualTo(example + ": ok\nevery setting is at its default\n");
    }
}
