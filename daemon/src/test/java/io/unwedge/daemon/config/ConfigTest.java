package io.unwedge.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.unwedge.core.Offences;
import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.holders.DrainPolicy.Mode;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Telemetry;
import io.unwedge.daemon.Timeouts;
import io.unwedge.daemon.config.ConfigException.Problem;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The reader: defaults, every key read, and every kind of bad value refused with its line and a way out. */
class ConfigTest {

    static final PciAddress GPU0 = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final PciAddress GPU1 = PciAddress.parse("0000:06:00.0").orElseThrow();

    @TempDir Path dir;

    static Config parse(String text) throws ConfigException {
        return Config.parse(text, "u.toml");
    }

    static List<Problem> problems(String text) {
        var e = catchThrowableOfType(ConfigException.class, () -> parse(text));
        assertThat(e).as("expected problems in:\n" + text).isNotNull();
        return e.problems();
    }

    static Problem only(String text) {
        var p = problems(text);
        assertThat(p).as(p.toString()).hasSize(1);
        return p.getFirst();
    }

    @Test
    void theSafetyMemoryIsTheLongestLookbackOfTheRules() throws Exception {
        // defaults: budget_window 1h, flap_window 10m × flap_count 3 = 30m, offence_window 1h × 2 = 2h
        assertThat(parse("").safetyMemory()).isEqualTo(java.time.Duration.ofHours(2));
        assertThat(parse("[safety]\nbudget_window = \"5h\"\n").safetyMemory()).isEqualTo(java.time.Duration.ofHours(5));
        assertThat(parse("[safety]\nflap_window = \"1h\"\nflap_count = 4\n").safetyMemory()).isEqualTo(java.time.Duration.ofHours(4));
    }

    @Test
    void anEmptyFileIsTheDefaultsAndTheDefaultsAreTheDocumentedOnes() throws Exception {
        assertThat(parse("")).isEqualTo(Config.DEFAULT);
        assertThat(parse("# nothing but a comment\n\n[daemon]\n[drain]\n")).isEqualTo(Config.DEFAULT);
        var d = Config.DEFAULT;
        assertThat(d.daemon()).isEqualTo(new Config.Daemon(Path.of("/var/lib/unwedge"), false, EventLog.Format.TEXT, false, 90, 64));
        assertThat(d.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(30), Duration.ofSeconds(30), Duration.ofSeconds(60),
                Duration.ofSeconds(10), Duration.ofSeconds(30), Duration.ofSeconds(2)));
        assertThat(d.drain().mode()).isEqualTo(Mode.TERMINATE);
        assertThat(d.drain().grace()).isEqualTo(Duration.ofSeconds(10));
        assertThat(d.drain().force()).isFalse();
        assertThat(d.drain().protect()).isEmpty();
        assertThat(d.drain().drivers()).isEmpty();
        assertThat(d.drain().devices()).isEmpty();
        assertThat(d.drainFor("xe", GPU0)).isEqualTo(DrainPolicy.DEFAULT);
        assertThat(d.recovery().methods()).containsExactly(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET,
                RecoveryMethod.VENDOR_SPECIFIC, RecoveryMethod.COLD_RESET);
        assertThat(d.recovery().busReset()).isEqualTo(io.unwedge.core.MethodPolicy.BusReset.RESET);
        assertThat(d.recovery().resetMethod()).isEmpty();
        assertThat(d.recovery().verifyIoctl()).isFalse();
        assertThat(d.recovery().maxConcurrent()).isEqualTo(1);
        assertThat(d.safety()).isEqualTo(new Config.Safety(3, Duration.ofHours(1), 3, Duration.ofMinutes(10), io.unwedge.core.safety.QuarantineMode.UNBOUND));
        assertThat(d.unknown()).isEqualTo(new Config.Unknown(Config.Unknown.Policy.ALERT, Config.Command.NONE));
        assertThat(d.none()).isEqualTo(new Config.None(true, 3, Duration.ofHours(1), Config.None.Action.NOTIFY, Config.Command.NONE));
        assertThat(d.vendors()).isEmpty();
        assertThat(d.vendorCommand("xe")).isEmpty();
        assertThat(d.hooks()).isEqualTo(new Config.Hooks(Config.Command.NONE, Config.Command.NONE, Duration.ofSeconds(30)));
    }

    static final String EVERY_KEY = """
            [daemon]
            state_dir = "/srv/unwedge"
            dry_run = true
            log_format = "json"
            debug = true
            retain_days = 30
            retain_mb = 128
            metrics_listen = "[::1]:19464"
            metrics_allow_remote = true

            [timeouts]
            write = "5s"
            unbind = "250ms"
            bind = "2m"
            settle = "0s"
            reset = "45s"
            power_off = "3s"

            [drain]
            mode = "wait"
            grace = "1m"
            force = true
            protect = ["my-renderer", "Xvnc"]

            [drain.driver.amdgpu]
            mode = "kill"

            [drain.device."0000:06:00.0"]
            grace = "0s"

            [recovery]
            methods = ["rebind", "cold-reset"]
            bus_reset = "remove-rescan"
            reset_method = "flr  bus"
            verify_ioctl = true
            max_concurrent = 2

            [safety]
            budget = 5
            budget_window = "1d"
            flap_count = 4
            flap_window = "30m"
            quarantine = "excluded"

            [unknown]
            policy = "request-reboot"
            command = ["/usr/local/sbin/ask-reboot", "--reason", "gpu"]

            [none]
            devcoredump = false
            offences = 2
            offence_window = "6h"
            action = "hook"
            command = ["/usr/bin/logger", "-t", "unwedge"]

            [vendor.xe]
            command = ["/usr/bin/fwupdmgr", "update"]

            [hooks]
            pre_recovery = ["/usr/local/bin/pre"]
            post_recovery = ["/usr/local/bin/post", "done"]
            timeout = "1h"
            """;

    @Test
    void everyKeyIsRead() throws Exception {
        var c = parse(EVERY_KEY);
        assertThat(c.daemon()).isEqualTo(new Config.Daemon(Path.of("/srv/unwedge"), true, EventLog.Format.JSON, true, 30, 128,
                io.unwedge.daemon.http.ListenAddress.parse("[::1]:19464"), true));
        assertThat(c.timeouts()).isEqualTo(new Timeouts(Duration.ofSeconds(5), Duration.ofMillis(250), Duration.ofMinutes(2),
                Duration.ZERO, Duration.ofSeconds(45), Duration.ofSeconds(3)));
        assertThat(c.drain().mode()).isEqualTo(Mode.WAIT);
        assertThat(c.drain().grace()).isEqualTo(Duration.ofMinutes(1));
        assertThat(c.drain().force()).isTrue();
        assertThat(c.drain().protect()).containsExactly("my-renderer", "Xvnc");
        assertThat(c.recovery()).isEqualTo(new Config.Recovery(Set.of(RecoveryMethod.REBIND, RecoveryMethod.COLD_RESET),
                io.unwedge.core.MethodPolicy.BusReset.REMOVE_RESCAN, List.of("flr", "bus"), true, 2));
        assertThat(c.recovery().allows(RecoveryMethod.BUS_RESET)).isFalse();
        assertThat(c.safety()).isEqualTo(new Config.Safety(5, Duration.ofDays(1), 4, Duration.ofMinutes(30), io.unwedge.core.safety.QuarantineMode.EXCLUDED));
        assertThat(c.unknown()).isEqualTo(new Config.Unknown(Config.Unknown.Policy.REQUEST_REBOOT,
                new Config.Command(List.of("/usr/local/sbin/ask-reboot", "--reason", "gpu"))));
        assertThat(c.none()).isEqualTo(new Config.None(false, 2, Duration.ofHours(6), Config.None.Action.HOOK,
                new Config.Command(List.of("/usr/bin/logger", "-t", "unwedge"))));
        assertThat(c.vendorCommand("xe")).contains(new Config.Command(List.of("/usr/bin/fwupdmgr", "update")));
        assertThat(c.vendorCommand("amdgpu")).isEmpty();
        assertThat(c.hooks()).isEqualTo(new Config.Hooks(new Config.Command(List.of("/usr/local/bin/pre")),
                new Config.Command(List.of("/usr/local/bin/post", "done")), Duration.ofHours(1)));
    }

    @Test
    void noneAndTheHookTimeoutMakeTheTelemetryPolicyAndTheDefaultsAreItsDefaults() throws Exception {
        assertThat(Config.DEFAULT.telemetryPolicy()).isEqualTo(Telemetry.Policy.DEFAULT);
        assertThat(parse(EVERY_KEY).telemetryPolicy()).isEqualTo(new Telemetry.Policy(false, Telemetry.Policy.DEFAULT_MAX_BYTES,
                new Offences.Policy(2, Duration.ofHours(6), Offences.Action.HOOK), List.of("/usr/bin/logger", "-t", "unwedge"), Duration.ofHours(1)));
        var terminate = parse("[none]\naction = \"terminate\"\noffences = 1\noffence_window = \"10m\"\n").telemetryPolicy();
        assertThat(terminate.offences()).isEqualTo(new Offences.Policy(1, Duration.ofMinutes(10), Offences.Action.TERMINATE));
        assertThat(terminate.devcoredump()).isTrue();
        assertThat(terminate.hook()).isEmpty();
        assertThat(terminate.hookTimeout()).isEqualTo(Duration.ofSeconds(30));
    }

    @Test
    void aDeviceTableBeatsADriverTableBeatsDrainAndOnlyTheKeysGivenOverride() throws Exception {
        var c = parse("""
                [drain]
                mode = "wait"
                grace = "20s"
                protect = ["base"]

                [drain.driver.xe]
                mode = "kill"
                force = true

                [drain.device."0000:03:00.0"]
                mode = "notify-only"
                protect = []

                [drain.device."0000:06:00.0"]
                grace = "5s"
                """);
        var withBase = DrainPolicy.Protection.DEFAULT.withComms(Set.of("base"));
        // no table for the driver or the device: [drain]
        assertThat(c.drainFor("amdgpu", PciAddress.parse("0000:09:00.0").orElseThrow()))
                .isEqualTo(new DrainPolicy(Mode.WAIT, Duration.ofSeconds(20), withBase, false));
        // the driver's table: its mode and force; grace and protect from [drain]
        assertThat(c.drainFor("xe", PciAddress.parse("0000:09:00.0").orElseThrow()))
                .isEqualTo(new DrainPolicy(Mode.KILL, Duration.ofSeconds(20), withBase, true));
        // the device's table beats the driver's mode; force still from the driver's, grace from [drain]
        assertThat(c.drainFor("xe", GPU0))
                .isEqualTo(new DrainPolicy(Mode.NOTIFY_ONLY, Duration.ofSeconds(20), DrainPolicy.Protection.DEFAULT, true));
        // another device of another driver: only its grace
        assertThat(c.drainFor("amdgpu", GPU1)).isEqualTo(new DrainPolicy(Mode.WAIT, Duration.ofSeconds(5), withBase, false));
        // an unbound device: no driver table applies, its device table does
        assertThat(c.drainFor(null, GPU1)).isEqualTo(new DrainPolicy(Mode.WAIT, Duration.ofSeconds(5), withBase, false));
    }

    @Test
    void aDeviceTableMayBeWrittenInUpperCaseAndIsTheSameDevice() throws Exception {
        var c = parse("[drain.device.\"0000:0A:00.0\"]\nmode = \"kill\"\n");
        assertThat(c.drainFor("xe", PciAddress.parse("0000:0a:00.0").orElseThrow()).mode()).isEqualTo(Mode.KILL);
        var p = only("[drain.device.\"0000:0A:00.0\"]\nmode = \"kill\"\n[drain.device.\"0000:0a:00.0\"]\nmode = \"wait\"\n");
        assertThat(p).isEqualTo(new Problem(3, "[drain.device.\"0000:0a:00.0\"] is the same device as [drain.device.\"0000:0A:00.0\"] (line 1)"));
    }

    @Test
    void anUnknownKeyIsRefusedWithTheNearestKnownOne() {
        assertThat(only("[daemon]\ndebug = true\n\n# the grace period\n\n[drain]\ngrase = \"10s\"\n"))
                .isEqualTo(new Problem(7, "unknown key 'grase' in [drain]; did you mean 'grace'?"));
        assertThat(only("[daemon]\nstate-dir = \"/x\"\n")).isEqualTo(new Problem(2, "unknown key 'state-dir' in [daemon]; did you mean 'state_dir'?"));
        assertThat(only("[daemon]\ncolour = true\n")).isEqualTo(new Problem(2, "unknown key 'colour' in [daemon]"));
        assertThat(only("[drain.driver.xe]\ngarce = \"1s\"\n")).isEqualTo(new Problem(2, "unknown key 'garce' in [drain.driver.xe]; did you mean 'grace'?"));
    }

    @Test
    void anUnknownTableIsRefusedWithTheNearestKnownOne() {
        assertThat(only("\n[drian]\nmode = \"kill\"\n")).isEqualTo(new Problem(2, "unknown table [drian]; did you mean [drain]?"));
        assertThat(only("[drain.drivers.xe]\n")).isEqualTo(new Problem(1, "unknown table [drain.drivers]; did you mean 'driver'?"));
        assertThat(only("[hooks.extra]\n")).isEqualTo(new Problem(1, "unknown table [hooks.extra]"));
        assertThat(only("[drain.grace]\n")).isEqualTo(new Problem(1, "'grace' in [drain] is a key, not a table: write grace = … under [drain]"));
        assertThat(only("mode = \"kill\"\n")).isEqualTo(new Problem(1, "unknown key 'mode' at the top level: it belongs under [drain]"));
        assertThat(only("command = []\n").message()).isEqualTo("unknown key 'command' at the top level: it belongs under [unknown] or [none]");
        assertThat(only("colour = 1\n").message()).isEqualTo("unknown key 'colour' at the top level: every setting belongs in a table such as [daemon]");
        assertThat(only("drain = 1\n")).isEqualTo(new Problem(1, "'drain' must be a table, [drain], not a value at the top level"));
        assertThat(only("[drain.driver]\nmode = \"kill\"\n").message())
                .isEqualTo("[drain.driver] holds one table per driver, e.g. [drain.driver.xe]; 'mode' belongs in one");
        assertThat(only("[drain]\ndevice = \"0000:03:00.0\"\n").message())
                .isEqualTo("'device' in [drain] must be tables, one per device, e.g. [drain.device.\"0000:03:00.0\"], not a value");
        assertThat(only("[vendor]\ncommand = [\"x\"]\n").message()).isEqualTo("[vendor] holds one table per driver, e.g. [vendor.xe]; 'command' belongs in one");
    }

    @Test
    void aBadChoiceSaysWhatIsAllowedWithAnExample() {
        assertThat(only("[drain]\nmode = \"terminat\"\n")).isEqualTo(new Problem(2,
                "'mode' in [drain] must be one of wait, terminate, kill, notify-only, not \"terminat\"; did you mean 'terminate'? (e.g. mode = \"wait\")"));
        assertThat(only("[daemon]\nlog_format = \"xml\"\n").message()).isEqualTo(
                "'log_format' in [daemon] must be one of text, json, not \"xml\" (e.g. log_format = \"text\")");
        assertThat(only("[recovery]\nbus_reset = \"remove_rescan\"\n").message()).contains("did you mean 'remove-rescan'?");
        assertThat(only("[safety]\nquarantine = 1\n").message()).isEqualTo(
                "'quarantine' in [safety] must be a string, not an integer (e.g. quarantine = \"unbound\")");
        assertThat(only("[unknown]\npolicy = \"reboot\"\n").message()).contains("alert, hook, request-reboot");
        assertThat(only("[none]\naction = \"kill\"\n").message()).contains("notify, terminate, hook");
    }

    @Test
    void retentionMustKeepWhatTheSafetyRulesCount() throws Exception {
        assertThat(only("[daemon]\nretain_days = 1\n\n[safety]\nbudget_window = \"2d\"\n")).isEqualTo(new Problem(2,
                "'retain_days' in [daemon] (1) keeps less history than [safety] budget_window (2d) counts: pruning would make that rule "
                        + "undercount; at least retain_days = 2"));
        assertThat(only("[daemon]\nretain_days = 7\n\n[none]\noffence_window = \"5d\"\n").message())
                .contains("[none] offence_window × 2 (the lookback) (10d)", "at least retain_days = 10");
        assertThat(only("[daemon]\nretain_days = 1\n\n[safety]\nflap_window = \"13h\"\nflap_count = 2\n").message())
                .contains("flap_window × flap_count (26h)", "at least retain_days = 2");
        assertThat(parse("[daemon]\nretain_days = 10\n\n[none]\noffence_window = \"5d\"\n").daemon().retainDays()).as("exactly enough").isEqualTo(10);
    }

    @Test
    void aBadDurationSaysWhy() {
        record Case(String value, String says) {}
        for (var c : List.of(
                new Case("10", "is a bare number (10): a duration is a string with a unit, units: ms, s, m, h, d (e.g. grace = \"10s\")"),
                new Case("\"10\"", "is a bare number (\"10\"): a duration needs a unit, units: ms, s, m, h, d (e.g. grace = \"10s\")"),
                new Case("\"-5s\"", "must not be negative: \"-5s\""),
                new Case("\"10w\"", "has an unknown unit: \"10w\"; units: ms, s, m, h, d"),
                new Case("\"1h30m\"", "is not a duration: \"1h30m\"; a duration is a whole number and a unit"),
                new Case("\"1.5s\"", "is not a duration: \"1.5s\""),
                new Case("\" 10s\"", "is not a duration: \" 10s\""),
                new Case("\"99999999999999999999d\"", "is too long"),
                // fits a Duration, but not the nanoseconds a recovery's worst case adds up: the daemon threw on the first wedge
                new Case("\"200000d\"", "is too long: \"200000d\" (at most \"3650d\")"),
                new Case("\"1000000000000d\"", "is too long"),
                new Case("true", "must be a duration such as \"10s\", not a boolean"))) {
            var p = only("[drain]\n\ngrace = " + c.value + "\n");
            assertThat(p.line()).isEqualTo(3);
            assertThat(p.message()).as(c.value).startsWith("'grace' in [drain] ").contains(c.says);
        }
        assertThat(Config.parseDuration("3650d")).as("the longest").contains(java.time.Duration.ofDays(3650));
        assertThat(Config.parseDuration("3651d")).isEmpty();
        assertThat(only("[timeouts]\nwrite = \"0s\"\n")).isEqualTo(new Problem(2, "'write' in [timeouts] must be more than zero (e.g. write = \"30s\")"));
        assertThat(only("[safety]\nflap_window = \"0ms\"\n").message()).contains("must be more than zero");
        assertThat(only("[hooks]\ntimeout = \"0d\"\n").message()).contains("must be more than zero");
    }

    @Test
    void zeroIsADurationWhereItMeansSomething() throws Exception {
        var c = parse("[timeouts]\nsettle = \"0s\"\n[drain]\ngrace = \"0ms\"\n");
        assertThat(c.timeouts().settle()).isZero();
        assertThat(c.drain().grace()).isZero();
    }

    @Test
    void numbersAreCheckedAgainstTheirRange() {
        assertThat(only("[safety]\nbudget = 0\n")).isEqualTo(new Problem(2, "'budget' in [safety] must be at least 1, not 0 (e.g. budget = 3)"));
        assertThat(only("[safety]\nflap_count = 1\n").message()).contains("must be at least 2, not 1");
        assertThat(only("[recovery]\nmax_concurrent = -1\n").message()).contains("must be at least 1, not -1");
        assertThat(only("[daemon]\nretain_mb = 9999999999\n").message()).contains("is too large: 9999999999");
        assertThat(only("[daemon]\nretain_days = \"90\"\n").message()).isEqualTo(
                "'retain_days' in [daemon] must be a whole number, not a string (e.g. retain_days = 90)");
        assertThat(only("[daemon]\ndry_run = \"yes\"\n").message()).isEqualTo(
                "'dry_run' in [daemon] must be true or false, not a string (e.g. dry_run = true)");
    }

    @Test
    void pathsCommandsAndListsAreChecked() {
        assertThat(only("[daemon]\nstate_dir = \"var/lib/unwedge\"\n").message()).isEqualTo(
                "'state_dir' in [daemon] must be an absolute path, not \"var/lib/unwedge\" (e.g. state_dir = \"/var/lib/unwedge\")");
        assertThat(only("[hooks]\npre_recovery = [\"bin/pre\"]\n").message()).contains(
                "'pre_recovery' in [hooks] is not a command: the program 'bin/pre' must be an absolute path, e.g. '/usr/bin/pre'");
        assertThat(only("[hooks]\npre_recovery = [\"gpu-alert\"]\n").message()).as("no PATH search").contains(
                "the program 'gpu-alert' must be an absolute path, e.g. '/usr/bin/gpu-alert'");
        assertThat(only("[hooks]\npre_recovery = [\"\"]\n").message()).contains("the program (the first element) is empty");
        assertThat(only("[hooks]\npre_recovery = \"/bin/true\"\n").message()).isEqualTo(
                "'pre_recovery' in [hooks] must be an array of strings, not a string (e.g. pre_recovery = [\"/usr/local/bin/gpu-alert\", \"--card\"])");
        var item = only("[drain]\nprotect = [\n  \"Xorg\",\n  42,\n]\n");
        assertThat(item.line()).as("the item's own line").isEqualTo(4);
        assertThat(item.message()).contains("'protect' in [drain] must be an array of strings; it holds an integer (42)");
        assertThat(only("[drain]\nprotect = [\"\"]\n").message()).contains("holds an empty process name");
    }

    @Test
    void recoveryMethodsAndKernelResetMethodsAreTheKernelsWords() {
        assertThat(only("[recovery]\nmethods = [\"rebind\", \"rebnd\"]\n").message()).isEqualTo(
                "'methods' in [recovery]: \"rebnd\" is not a recovery method; allowed: rebind, bus-reset, vendor-specific, cold-reset;"
                        + " did you mean 'rebind'? (e.g. methods = [\"rebind\", \"bus-reset\"])");
        assertThat(only("[recovery]\nmethods = [\"none\"]\n").message()).contains("\"none\" is not a recovery to allow");
        assertThat(only("[recovery]\nmethods = [\"rebind\", \"rebind\"]\n").message()).contains("lists \"rebind\" twice");
        assertThat(only("[recovery]\nreset_method = \"flr buss\"\n").message()).contains(
                "names \"buss\", not a kernel reset method; allowed: flr, pm, bus, cxl_bus, device_specific, acpi", "did you mean 'bus'?");
        assertThat(only("[recovery]\nreset_method = \"bus bus\"\n").message()).contains("names a method twice");
        assertThat(only("[recovery]\nreset_method = [\"bus\"]\n").message()).contains("must be a string, not an array");
    }

    @Test
    void policiesThatRunACommandNeedOne() {
        assertThat(only("[unknown]\npolicy = \"hook\"\n")).isEqualTo(new Problem(2,
                "'policy' in [unknown] is \"hook\", which runs a command: give one as 'command' in [unknown]"
                        + " (e.g. command = [\"/usr/local/bin/gpu-alert\", \"--card\"])"));
        assertThat(only("[unknown]\npolicy = \"request-reboot\"\ncommand = []\n").line()).isEqualTo(2);
        assertThat(only("[none]\naction = \"hook\"\n").message()).contains("'action' in [none] is \"hook\", which runs a command");
        // found by ConfigProperties: a wrong command under such a policy is one problem (the command's), not a crash
        assertThat(only("[unknown]\npolicy = \"hook\"\ncommand = [\"./x\"]\n")).isEqualTo(new Problem(3,
                "'command' in [unknown] is not a command: the program './x' must be an absolute path, e.g. '/usr/bin/x'"
                        + " (e.g. command = [\"/usr/local/bin/gpu-alert\", \"--card\"])"));
        assertThat(only("[none]\naction = \"hook\"\ncommand = 1\n").line()).isEqualTo(3);
    }

    @Test
    void everyProblemInTheFileIsReportedAtOnceInLineOrder() {
        var p = problems("""
                [daemon]
                retain_days = 0
                dry_run = maybe
                [drain]
                grase = "10s"
                mode = "terminat"
                [drain.device."03:00.0"]
                [timeouts]
                bind = 60
                [recovery]
                methods = ["rebind", "teleport"]
                [unknown]
                policy = "hook"
                [bogus]
                """);
        assertThat(p).extracting(Problem::line).containsExactly(2, 3, 5, 6, 7, 9, 11, 13, 14);
        assertThat(p.get(1).message()).contains("a string must be quoted");
        assertThat(p.get(4).message()).contains("\"03:00.0\" is not a PCI address DDDD:BB:DD.F");
        assertThat(p.get(8).message()).isEqualTo("unknown table [bogus]");
    }

    @Test
    void aConfigWithEveryKeySetIsWrittenAndReadBackEqual() throws Exception {
        var c = parse(EVERY_KEY);
        String toml = c.toToml();
        assertThat(parse(toml)).isEqualTo(c);
        assertThat(toml).contains("[drain.driver.amdgpu]\nmode = \"kill\"\n", "[drain.device.\"0000:06:00.0\"]\ngrace = \"0s\"\n",
                "reset_method = \"flr bus\"", "[vendor.xe]\ncommand = [\"/usr/bin/fwupdmgr\", \"update\"]");
        assertThat(parse(Config.DEFAULT.toToml())).isEqualTo(Config.DEFAULT);
    }

    @Test
    void durationsAreWrittenInTheLargestExactUnit() {
        assertThat(Config.formatDuration(Duration.ofMillis(250))).isEqualTo("250ms");
        assertThat(Config.formatDuration(Duration.ofMillis(1500))).isEqualTo("1500ms");
        assertThat(Config.formatDuration(Duration.ofSeconds(90))).isEqualTo("90s");
        assertThat(Config.formatDuration(Duration.ofMinutes(90))).isEqualTo("90m");
        assertThat(Config.formatDuration(Duration.ofHours(48))).isEqualTo("2d");
        assertThat(Config.formatDuration(Duration.ZERO)).isEqualTo("0s");
        assertThat(Config.parseDuration("1d")).contains(Duration.ofDays(1));
        assertThat(Config.parseDuration("1")).isEmpty();
    }

    @Test
    void loadReadsAFileAndNamesItInEveryProblem() throws Exception {
        var file = Files.writeString(dir.resolve("unwedge.toml"), "[drain]\nmode = \"kill\"\n");
        assertThat(Config.load(file).drain().mode()).isEqualTo(Mode.KILL);
        Files.writeString(file, "[drain]\ngrase = \"1s\"\nmode = \"kil\"\n");
        var e = catchThrowableOfType(ConfigException.class, () -> Config.load(file));
        assertThat(e.source()).isEqualTo(file.toString());
        assertThat(e.getMessage()).isEqualTo(file + ":2: unknown key 'grase' in [drain]; did you mean 'grace'?\n"
                + file + ":3: 'mode' in [drain] must be one of wait, terminate, kill, notify-only, not \"kil\"; did you mean 'kill'? (e.g. mode = \"wait\")");
    }

    @Test
    void loadRefusesTextThatIsNotUtf8NamingTheLine() throws Exception {
        var file = dir.resolve("latin1.toml");
        Files.write(file, "[daemon]\n# caf\u00e9\n".getBytes(StandardCharsets.ISO_8859_1));
        var e = catchThrowableOfType(ConfigException.class, () -> Config.load(file));
        assertThat(e.problems()).containsExactly(new Problem(2, "not UTF-8 text: byte 0xe9 at offset 14"));
    }

    @Test
    void loadRefusesAHugeFileWithoutReadingItAll() throws Exception {
        var file = dir.resolve("huge.toml");
        Files.write(file, new byte[Config.MAX_BYTES + 10]);
        var e = catchThrowableOfType(ConfigException.class, () -> Config.load(file));
        assertThat(e.problems()).containsExactly(new Problem(0, "larger than 1 MiB: not a config file"));
    }

    @Test
    void aMissingFileIsAnIoErrorNotAConfigProblem() {
        assertThatThrownBy(() -> Config.load(dir.resolve("absent.toml"))).isInstanceOf(NoSuchFileException.class);
    }

    @Test
    void theRecordsRefuseWhatTheReaderRefuses() {
        assertThatThrownBy(() -> new Config.Daemon(Path.of("rel"), false, EventLog.Format.TEXT, false, 1, 1)).hasMessageContaining("absolute");
        assertThatThrownBy(() -> new Config.Safety(0, Duration.ofHours(1), 3, Duration.ofMinutes(1), io.unwedge.core.safety.QuarantineMode.UNBOUND)).hasMessageContaining("budget");
        assertThatThrownBy(() -> new Config.Unknown(Config.Unknown.Policy.HOOK, Config.Command.NONE)).hasMessageContaining("needs a command");
        assertThatThrownBy(() -> new Config.Command(List.of("./x"))).hasMessageContaining("must be an absolute path");
        assertThatThrownBy(() -> new Config.Recovery(Set.of(RecoveryMethod.NONE), io.unwedge.core.MethodPolicy.BusReset.RESET, List.of(), false, 1))
                .hasMessageContaining("not a disruptive method");
        assertThatThrownBy(() -> new Timeouts(Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ofSeconds(1), Duration.ZERO,
                Duration.ZERO, Duration.ofSeconds(1))).hasMessageContaining("positive");
        assertThatThrownBy(() -> new Config(Config.Daemon.DEFAULT, Timeouts.DEFAULT, Config.Drain.DEFAULT, Config.Recovery.DEFAULT,
                Config.Safety.DEFAULT, Config.Unknown.DEFAULT, Config.None.DEFAULT, Map.of("x/y", new Config.Vendor(Config.Command.NONE)),
                Config.Hooks.DEFAULT)).hasMessageContaining("not a driver name");
        // an override that sets nothing is no override: it does not survive to be written as an empty table
        var d = new Config.Drain(Mode.KILL, Duration.ZERO, false, List.of(), Map.of("xe", Config.DrainOverride.NONE),
                Map.of(GPU0, new Config.DrainOverride(Optional.of(Mode.WAIT), Optional.empty(), Optional.empty(), Optional.empty())));
        assertThat(d.drivers()).isEmpty();
        assertThat(d.devices()).containsOnlyKeys(GPU0);
    }

    @Test
    void worstCaseIsTheColdResetPath() {
        // 6 writes × 30 s + unbind 30 s + power off 2 s + reset 30 s + bind 60 s + settle 10 s
        assertThat(Timeouts.DEFAULT.worstCase()).isEqualTo(Duration.ofSeconds(312));
    }
}
