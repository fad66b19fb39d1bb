package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.regex.Pattern;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;
import picocli.CommandLine;

/** handle-uevent's reading of udev's environment and of its options, and the rule that runs it. */
class HandleUeventCommandTest {

    static Path shared() {
        var env = System.getenv("UNWEDGE_SHARED");
        return env != null && !env.isBlank() ? Path.of(env) : Path.of("../../shared");
    }

    /** The wedges among the shared vectors (raw kernel messages). */
    static Stream<String> wedgeVectors() throws Exception {
        try (var files = Files.list(shared().resolve("vectors/uevents"))) {
            return files.map(p -> p.getFileName().toString()).filter(n -> n.endsWith(".uevent")).sorted()
                    .filter(n -> WedgedEvent.recognise(vector(n)) instanceof WedgedEvent.Wedged).toList().stream();
        }
    }

    static Uevent vector(String file) {
        try {
            return (Uevent) UeventCodec.decode(Files.readAllBytes(shared().resolve("vectors/uevents").resolve(file)));
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
    }

    /** What udev gives a RUN program for {@code u}: its properties in no order, DEVNAME under /dev, and udev's own. */
    static Map<String, String> udevEnvironment(Uevent u) {
        var env = new HashMap<String, String>(u.fields());
        env.computeIfPresent("DEVNAME", (k, v) -> "/dev/" + v);
        env.put("USEC_INITIALIZED", "5208123");
        env.put("ID_PATH", "pci-0000:03:00.0");
        env.put("ID_FOR_SEAT", "drm-pci-0000_03_00_0");
        env.put("TAGS", ":seat:master-of-seat:uaccess:");
        env.put("CURRENT_TAGS", ":seat:master-of-seat:uaccess:");
        env.put("PATH", "/usr/bin");
        return env;
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("wedgeVectors")
    void udevsEnvironmentGivesBackTheKernelsMessageByteForByte(String file) throws Exception {
        var kernel = vector(file);
        var fromEnv = HandleUeventCommand.uevent(udevEnvironment(kernel));
        assertThat(fromEnv).isEqualTo(kernel);
        assertThat(UeventCodec.encode(fromEnv)).isEqualTo(Files.readAllBytes(shared().resolve("vectors/uevents").resolve(file)));
    }

    @Test
    void anEmptyValueIsUnsetAsSystemdRunPassesAnUnsetVariable() {
        var env = new HashMap<String, String>();
        env.put("ACTION", "change");
        env.put("DEVPATH", "/devices/pci0000:00/0000:00:01.0/0000:03:00.0/drm/card0");
        env.put("SUBSYSTEM", "drm");
        env.put("WEDGED", "rebind,bus-reset");
        env.put("PID", "");
        env.put("TASK", "");
        env.put("SEQNUM", "5208");
        var u = HandleUeventCommand.uevent(env);
        assertThat(u.fields().keySet()).containsExactly("ACTION", "DEVPATH", "SUBSYSTEM", "WEDGED", "SEQNUM");
        assertThat(((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event().task()).isEmpty();
    }

    @Test
    void noActionOrDevpathIsAUsageErrorNamingWhatIsMissing() {
        assertThatThrownBy(() -> HandleUeventCommand.uevent(Map.of("ACTION", "change", "WEDGED", "rebind")))
                .isInstanceOf(Main.UsageError.class).hasMessageStartingWith("no uevent in the environment: DEVPATH is not set");
        assertThatThrownBy(() -> HandleUeventCommand.uevent(Map.of("DEVPATH", "/devices/x", "ACTION", "")))
                .isInstanceOf(Main.UsageError.class).hasMessageStartingWith("no uevent in the environment: ACTION is not set");
        assertThatThrownBy(() -> HandleUeventCommand.uevent(Map.of("PATH", "/usr/bin")))
                .isInstanceOf(Main.UsageError.class).hasMessageStartingWith("no uevent in the environment: ACTION and DEVPATH are not set");
        assertThatThrownBy(() -> HandleUeventCommand.uevent(Map.of("ACTION", "change", "DEVPATH", "devices/x")))
                .isInstanceOf(Main.UsageError.class).hasMessage("the environment is not a uevent: bad devpath: devices/x");
        assertThatThrownBy(() -> HandleUeventCommand.uevent(Map.of("ACTION", "change", "DEVPATH", "/devices/x", "SEQNUM", "12a")))
                .isInstanceOf(Main.UsageError.class).hasMessage("the environment is not a uevent: SEQNUM not an unsigned decimal: 12a");
    }

    /** The options read without picocli are read as picocli reads them; anything else is left to picocli. */
    @Test
    void thePlainOptionsAreReadAsPicocliReadsThem() {
        for (var args : List.of(new String[] {}, new String[] {"--sysfs", "/tmp/lab/sys"},
                new String[] {"--sysfs=/tmp/lab/sys", "--state-dir", "/tmp/s", "--config=/etc/u.toml", "--socket", "rel/u.sock"},
                new String[] {"--socket", "/run/x.sock", "--config", "c.toml"})) {
            var plain = HandleUeventCommand.parse(args).orElseThrow();
            var picocli = new HandleUeventCommand();
            new CommandLine(picocli).parseArgs(args);
            assertThat(List.of(String.valueOf(plain.sysfs), String.valueOf(plain.stateDir), String.valueOf(plain.configFile), String.valueOf(plain.socket)))
                    .as(String.join(" ", args))
                    .isEqualTo(List.of(String.valueOf(picocli.sysfs), String.valueOf(picocli.stateDir), String.valueOf(picocli.configFile),
                            String.valueOf(picocli.socket)));
        }
        for (var args : List.of(new String[] {"--help"}, new String[] {"-h"}, new String[] {"--version"}, new String[] {"--sysfs"},
                new String[] {"--sysfs", "/a", "--sysfs", "/b"}, new String[] {"--bogus", "x"}, new String[] {"--sysfs="}, new String[] {"card1"}, new String[] {"--sysfs", "--socket", "/s"})) {
            assertThat(HandleUeventCommand.parse(args)).as(String.join(" ", args)).isEmpty();
        }
    }

    // ---- packaging/99-unwedge.rules ----

    static Path top() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("packaging"))) return p;
        }
        throw new AssertionError("no checkout (pom.xml and packaging/) above " + Path.of("").toAbsolutePath());
    }

    record Key(String name, String op, String value) {}

    /** The rule's keys, as udev splits them: NAME{attr} OP "value", comma separated. */
    static List<Key> rule() throws Exception {
        var lines = Files.readAllLines(top().resolve("packaging/99-unwedge.rules")).stream()
                .filter(l -> !l.isBlank() && !l.startsWith("#")).toList();
        assertThat(lines).as("one rule").hasSize(1);
        var keys = new ArrayList<Key>();
        var m = Pattern.compile("\\s*([A-Z]+(?:\\{[^}]*\\})?)\\s*(==|!=|\\+=|:=|=)\\s*\"([^\"]*)\"\\s*(,|$)").matcher(lines.getFirst());
        int at = 0;
        while (at < lines.getFirst().length()) {
            assertThat(m.find(at) && m.start() == at).as("a key at %d of %s", at, lines.getFirst()).isTrue();
            keys.add(new Key(m.group(1), m.group(2), m.group(3)));
            at = m.end();
        }
        return keys;
    }

    /** udev's match: fnmatch(3) globs, alternatives split by '|'. */
    static boolean matches(String glob, String value) {
        if (value == null) return false;
        for (var alt : glob.split("\\|", -1)) {
            var re = new StringBuilder();
            for (int i = 0; i < alt.length(); i++) {
                char c = alt.charAt(i);
                switch (c) {
                    case '*' -> re.append(".*");
                    case '?' -> re.append('.');
                    case '[' -> {
                        int end = alt.indexOf(']', i);
                        re.append(alt, i, end + 1);
                        i = end;
                    }
                    default -> re.append(Pattern.quote(String.valueOf(c)));
                }
            }
            if (value.matches(re.toString())) return true;
        }
        return false;
    }

    /** Whether the rule's matches all hold for a device of kernel name {@code kernel} and properties {@code env}. */
    static boolean ruleMatches(List<Key> rule, String kernel, Map<String, String> env) {
        for (var k : rule) {
            if (!k.op().equals("==")) continue;
            String value = switch (k.name()) {
                case "ACTION" -> env.get("ACTION");
                case "SUBSYSTEM" -> env.get("SUBSYSTEM");
                case "KERNEL" -> kernel;
                default -> {
                    assertThat(k.name()).startsWith("ENV{");
                    yield env.get(k.name().substring(4, k.name().length() - 1));
                }
            };
            if (!matches(k.value(), value)) return false;
        }
        return true;
    }

    static Map<String, String> event(String action, String devtype, String wedged) {
        var env = new LinkedHashMap<String, String>();
        env.put("ACTION", action);
        env.put("SUBSYSTEM", "drm");
        if (devtype != null) env.put("DEVTYPE", devtype);
        if (wedged != null) env.put("WEDGED", wedged);
        return env;
    }

    @Test
    void theShippedRuleMatchesWedgesOfPrimaryMinorsOnly() throws Exception {
        var rule = rule();
        assertThat(ruleMatches(rule, "card0", event("change", "drm_minor", "rebind,bus-reset"))).isTrue();
        assertThat(ruleMatches(rule, "card12", event("change", "drm_minor", "none"))).as("beyond card9").isTrue();
        assertThat(ruleMatches(rule, "card0", event("change", "drm_minor", null))).as("a hotplug change").isFalse();
        assertThat(ruleMatches(rule, "card0", event("change", "drm_minor", ""))).as("WEDGED= empty").isFalse();
        assertThat(ruleMatches(rule, "card0", event("add", "drm_minor", "rebind"))).isFalse();
        assertThat(ruleMatches(rule, "card0-DP-1", event("change", "drm_connector", "rebind"))).as("a connector").isFalse();
        assertThat(ruleMatches(rule, "renderD128", event("change", "drm_minor", "rebind"))).as("a render node").isFalse();
        var other = event("change", "drm_minor", "rebind");
        other.put("SUBSYSTEM", "accel");
        assertThat(ruleMatches(rule, "card0", other)).isFalse();
    }

    @Test
    void theShippedRulePassesEveryKeyHandleUeventReadsThroughSystemdRun() throws Exception {
        var run = rule().stream().filter(k -> k.name().equals("RUN")).toList();
        assertThat(run).hasSize(1);
        assertThat(run.getFirst().op()).isEqualTo("+=");
        var argv = List.of(run.getFirst().value().split(" "));
        assertThat(argv.getFirst()).isEqualTo("/usr/bin/systemd-run");
        assertThat(argv).contains("--no-block", "--collect", "--unit=unwedge-uevent-$env{SEQNUM}");
        assertThat(argv.subList(argv.size() - 2, argv.size())).containsExactly("/usr/bin/unwedge", "handle-uevent");
        var passed = argv.stream().filter(a -> a.startsWith("--setenv=")).map(a -> a.substring("--setenv=".length())).toList();
        assertThat(passed).as("NAME alone: udev's value, through systemd-run").allMatch(n -> !n.contains("="));
        assertThat(passed).containsExactlyInAnyOrderElementsOf(HandleUeventCommand.KEYS);
    }
}
