package io.unwedge.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.Timeouts;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/**
 * What ships beside the code cannot drift from it: packaging/unwedge.toml is every key at its default,
 * docs/configuration.md has a row for every key with its default, and the unit's stop timeout covers the
 * longest recovery.
 */
class ShippedFilesTest {

    /** The checkout: the first directory up from here holding pom.xml and packaging/. */
    static Path top() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("packaging"))) return p;
        }
        throw new AssertionError("no checkout (pom.xml and packaging/) above " + Path.of("").toAbsolutePath());
    }

    @Test
    void theShippedExampleIsEveryKeyAtItsDefault() throws Exception {
        Path example = top().resolve("packaging/unwedge.toml");
        assertThat(Config.load(example)).isEqualTo(Config.DEFAULT);
        // equal values, and every key written out (not left to its default by being absent)
        var tree = Toml.parse(Files.readString(example), example.toString());
        assertThat(keys(tree)).isEqualTo(keys(Config.DEFAULT.toTable()));
    }

    /** Every key of the tree as "[table] key", in order. */
    static List<String> keys(Toml.Table t) {
        var out = new ArrayList<String>();
        t.entries().forEach((k, v) -> {
            if (v instanceof Toml.Table sub) out.addAll(keys(sub));
            else out.add(t.header() + " " + k);
        });
        return out;
    }

    /** A default in the docs may be written another way ("60s" for "1m"): durations compare as durations. */
    static boolean sameDefault(String documented, Toml.Value value) {
        if (documented.equals(Toml.write(value))) return true;
        if (!(value instanceof Toml.Str s) || !documented.startsWith("\"") || !documented.endsWith("\"")) return false;
        var a = Config.parseDuration(documented.substring(1, documented.length() - 1));
        return a.isPresent() && a.equals(Config.parseDuration(s.value()));
    }

    @Test
    void everyKeyTheReaderKnowsIsOneTheWriterWrites() {
        var full = fullConfig().toTable();
        for (var e : ConfigReader.KEYS.entrySet()) {
            if (e.getKey().equals("vendor")) continue;
            var t = (Toml.Table) full.entries().get(e.getKey());
            assertThat(t.entries().entrySet().stream().filter(x -> x.getValue() instanceof Toml.Value).map(Map.Entry::getKey).toList())
                    .as(t.header()).containsExactlyElementsOf(e.getValue());
        }
    }

    /** Every table, override and vendor ones included, with every key given. */
    static Config fullConfig() {
        var all = new Config.DrainOverride(Optional.of(DrainPolicy.Mode.KILL), Optional.of(Duration.ofSeconds(1)), Optional.of(true),
                Optional.of(List.of("x")));
        var drain = new Config.Drain(DrainPolicy.Mode.TERMINATE, Duration.ofSeconds(10), false, List.of(), Map.of("xe", all),
                Map.of(PciAddress.parse("0000:03:00.0").orElseThrow(), all));
        return Config.DEFAULT.withDrain(drain);
    }

    @Test
    void theDocumentationHasARowForEveryKeyWithItsDefault() throws Exception {
        String doc = Files.readString(top().resolve("docs/configuration.md"));
        var defaults = Config.DEFAULT.toTable();
        var missing = new ArrayList<String>();
        for (var table : defaults.entries().values()) {
            var t = (Toml.Table) table;
            String section = section(doc, "## " + t.header());
            t.entries().forEach((key, value) -> {
                // | `key` | `default` | meaning |
                var cells = row(section, key).map(r -> r.split("\\|")).filter(c -> c.length > 3).map(c -> c[2].trim());
                boolean ok = cells.isPresent() && cells.get().startsWith("`") && cells.get().endsWith("`")
                        && sameDefault(cells.get().substring(1, cells.get().length() - 1), (Toml.Value) value);
                if (!ok) missing.add(t.header() + " " + key + " = " + Toml.write((Toml.Value) value));
            });
        }
        String overrides = section(doc, "## [drain.driver.<name>] and [drain.device.\"<BDF>\"]");
        for (var key : ConfigReader.DRAIN_KEYS) if (row(overrides, key).isEmpty()) missing.add("[drain.driver/device] " + key);
        String vendor = section(doc, "## [vendor.<driver>]");
        for (var key : ConfigReader.VENDOR_KEYS) if (row(vendor, key).filter(r -> r.contains("`[]`")).isEmpty()) missing.add("[vendor] " + key);
        assertThat(missing).as("keys docs/configuration.md has no row for, with their default").isEmpty();
    }

    private static String section(String doc, String heading) {
        int at = doc.indexOf("\n" + heading + "\n");
        assertThat(at).as("docs/configuration.md has a section " + heading).isNotNegative();
        int end = doc.indexOf("\n## ", at + 1);
        return doc.substring(at, end < 0 ? doc.length() : end);
    }

    private static Optional<String> row(String section, String key) {
        var m = Pattern.compile("(?m)^\\| `" + Pattern.quote(key) + "` \\|.*$").matcher(section);
        return m.find() ? Optional.of(m.group()) : Optional.empty();
    }

    @Test
    void theUnitWaitsLongerThanTheLongestRecovery() throws Exception {
        String unit = Files.readString(top().resolve("packaging/unwedge.service"));
        var m = Pattern.compile("(?m)^TimeoutStopSec=(\\d+)$").matcher(unit);
        assertThat(m.find()).isTrue();
        // the supervisor waits worstCase + 1 s for recoveries in flight
        assertThat(Duration.ofSeconds(Long.parseLong(m.group(1)))).isGreaterThan(Timeouts.DEFAULT.worstCase().plusSeconds(1));
    }
}
