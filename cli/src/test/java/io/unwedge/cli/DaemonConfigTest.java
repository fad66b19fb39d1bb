package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.config.Config;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import picocli.CommandLine;

/** `daemon --config FILE`: the file's settings, each overridden by its option when one is given. */
class DaemonConfigTest {

    @TempDir Path dir;

    static DaemonCommand parse(String... args) {
        var cmd = new DaemonCommand();
        new CommandLine(cmd).parseArgs(args);
        return cmd;
    }

    Path file(String text) throws Exception {
        return Files.writeString(dir.resolve("unwedge.toml"), text);
    }

    static final String SITE = """
            [daemon]
            state_dir = "/srv/unwedge"
            dry_run = true
            log_format = "json"
            retain_days = 30
            [timeouts]
            bind = "2m"
            settle = "5s"
            reset = "45s"
            [drain]
            mode = "wait"
            grace = "20s"
            protect = ["from-file"]
            [drain.driver.xe]
            mode = "notify-only"
            """;

    @Test
    void theFileAloneGivesEverySetting() throws Exception {
        var c = parse("--config", file(SITE).toString()).effectiveConfig();
        assertThat(c).isEqualTo(Config.load(file(SITE)));
        assertThat(c.daemon().stateDir()).isEqualTo(Path.of("/srv/unwedge"));
        assertThat(c.daemon().dryRun()).isTrue();
        assertThat(c.daemon().logFormat()).isEqualTo(EventLog.Format.JSON);
        assertThat(c.timeouts().bind()).isEqualTo(Duration.ofMinutes(2));
        assertThat(c.drain().policy()).isEqualTo(new DrainPolicy(DrainPolicy.Mode.WAIT, Duration.ofSeconds(20),
                DrainPolicy.Protection.DEFAULT.withComms(java.util.Set.of("from-file")), false));
    }

    @Test
    void optionsGivenOverrideTheFileKeyByKeyAndOnlyThose() throws Exception {
        var c = parse("--config", file(SITE).toString(), "--state-dir", dir.resolve("st").toString(), "--no-dry-run", "--debug",
                "--log-format", "text", "--retain-mb", "8", "--bind-timeout-ms", "5000", "--drain", "kill", "--protect", "cli-one",
                "--force").effectiveConfig();
        assertThat(c.daemon()).isEqualTo(new Config.Daemon(dir.resolve("st"), false, EventLog.Format.TEXT, true, 30, 8));
        // bind from the option, settle and reset from the file, write and unbind defaults
        assertThat(c.timeouts().bind()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.timeouts().settle()).isEqualTo(Duration.ofSeconds(5));
        assertThat(c.timeouts().reset()).isEqualTo(Duration.ofSeconds(45));
        assertThat(c.timeouts().write()).isEqualTo(Duration.ofSeconds(30));
        // mode from the option, grace from the file, --protect replacing the file's list
        assertThat(c.drain().policy()).isEqualTo(new DrainPolicy(DrainPolicy.Mode.KILL, Duration.ofSeconds(20),
                DrainPolicy.Protection.DEFAULT.withComms(java.util.Set.of("cli-one")), true));
        // the file's per-driver table survives the options, for drainFor
        var bdf = PciAddress.parse("0000:03:00.0").orElseThrow();
        assertThat(c.drainFor("xe", bdf).mode()).isEqualTo(DrainPolicy.Mode.NOTIFY_ONLY);
        assertThat(c.drainFor("amdgpu", bdf).mode()).isEqualTo(DrainPolicy.Mode.KILL);
    }

    @Test
    void withoutAFileTheOptionsAndDefaultsAreWhatTheyWereBefore() throws Exception {
        var sys = dir.resolve("lab/sys");
        var c = parse("--sysfs", sys.toString()).effectiveConfig();
        assertThat(c.daemon().stateDir()).as("a virtual host's journal lives beside its tree").isEqualTo(dir.resolve("lab/state"));
        assertThat(c.withDaemon(Config.DEFAULT.daemon())).isEqualTo(Config.DEFAULT);
        var d = parse("--sysfs", sys.toString(), "--settle-ms", "300", "--drain-grace-ms", "0").effectiveConfig();
        assertThat(d.timeouts().settle()).isEqualTo(Duration.ofMillis(300));
        assertThat(d.drain().grace()).isZero();
    }

    @Test
    void aVirtualHostTakesTheFilesStateDirOnlyWhenTheFileSetsOne() throws Exception {
        var sys = dir.resolve("lab/sys");
        assertThat(parse("--sysfs", sys.toString(), "--config", file("[daemon]\nstate_dir = \"/srv/x\"\n").toString())
                .effectiveConfig().daemon().stateDir()).isEqualTo(Path.of("/srv/x"));
        assertThat(parse("--sysfs", sys.toString(), "--config", file("[daemon]\ndebug = true\n").toString())
                .effectiveConfig().daemon().stateDir()).isEqualTo(dir.resolve("lab/state"));
    }

    @Test
    void aNamedFileThatIsMissingOrBadStopsTheDaemonWithEveryProblem() throws Exception {
        assertThatThrownBy(() -> parse("--config", dir.resolve("absent.toml").toString()).effectiveConfig())
                .isInstanceOf(Main.UsageError.class).hasMessage("--config " + dir.resolve("absent.toml") + ": no such file");
        var bad = file("[drain]\nmode = \"nice\"\n\n[daemon]\nretain_mb = 0\n");
        assertThatThrownBy(() -> parse("--config", bad.toString()).effectiveConfig())
                .isInstanceOf(Main.UsageError.class)
                .hasMessageContaining(bad + ": 2 problems")
                .hasMessageContaining(bad + ":2: 'mode' in [drain] must be one of")
                .hasMessageContaining(bad + ":5: 'retain_mb' in [daemon] must be at least 1, not 0");
    }

    @Test
    void badOptionsAreStillUsageErrorsNamingTheOption() {
        assertThatThrownBy(() -> parse("--sysfs", "/x/sys", "--drain", "nice").effectiveConfig()).hasMessageContaining("--drain must be");
        assertThatThrownBy(() -> parse("--sysfs", "/x/sys", "--retain-days", "0").effectiveConfig()).hasMessageContaining("--retain-days must be at least 1");
        assertThatThrownBy(() -> parse("--sysfs", "/x/sys", "--log-format", "xml").effectiveConfig()).hasMessageContaining("--log-format must be");
        assertThatThrownBy(() -> parse("--sysfs", "/x/sys", "--drain-grace-ms", "-1").effectiveConfig()).hasMessageContaining("must not be negative");
        assertThatThrownBy(() -> parse("--sysfs", "/x/sys", "--protect", "").effectiveConfig()).hasMessageContaining("--protect: an empty process name");
    }
}
