package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.within;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.TreeMap;

/**
 * A scrape read back as a scraper reads it (the text format 0.0.4), so tests assert families, series and
 * values rather than how the client spaces and spells them. Strict: a sample outside its family, a family
 * without HELP and TYPE, a bad escape or a line that is not a sample fails the test.
 *
 * <p>A series is named canonically: {@code name{a="x",b="y"}}, labels sorted by name with {@code le} last,
 * {@code le} as a plain decimal ({@code 0.0005}, {@code 1}, {@code +Inf}) whichever way the writer spelt it.
 */
record Exposed(List<Family> families) {

    /** How the client orders families: by name, a counter's without its {@code _total}. */
    static final java.util.Comparator<String> CLIENT_ORDER = java.util.Comparator.comparing(n -> n.replaceFirst("_total$", ""));

    record Family(String name, String type, String help, Map<String, Double> samples) {}

    static Exposed parse(String text) {
        assertThat(text).as("a scrape ends with a line feed").endsWith("\n");
        var families = new ArrayList<Family>();
        String help = null, helpOf = null;
        Family current = null;
        for (String line : text.split("\n", -1)) {
            if (line.isEmpty()) continue;
            if (line.startsWith("# HELP ")) {
                int sp = line.indexOf(' ', 7);
                helpOf = line.substring(7, sp);
                help = unescapeHelp(line.substring(sp + 1));
            } else if (line.startsWith("# TYPE ")) {
                String[] f = line.substring(7).split(" ");
                assertThat(f).as(line).hasSize(2);
                assertThat(helpOf).as("HELP before " + line).isEqualTo(f[0]);
                current = new Family(f[0], f[1], help, new LinkedHashMap<>());
                families.add(current);
            } else {
                assertThat(line).as("no other comment").doesNotStartWith("#");
                assertThat(current).as("a family declared before " + line).isNotNull();
                var s = sample(line);
                String base = s.name();
                assertThat(s.name().equals(current.name()) || current.type().equals("histogram")
                        && List.of(current.name() + "_bucket", current.name() + "_sum", current.name() + "_count").contains(base))
                        .as(line + " in family " + current.name()).isTrue();
                assertThat(current.samples().put(s.series(), s.value())).as("repeated " + s.series()).isNull();
            }
        }
        return new Exposed(List.copyOf(families));
    }

    record Sample(String name, String series, double value) {}

    /** {@code name{label="value",…} value}; label values unescaped, then named canonically. */
    static Sample sample(String line) {
        int brace = line.indexOf('{');
        int sp = line.lastIndexOf(' ');
        String name = brace < 0 ? line.substring(0, sp) : line.substring(0, brace);
        assertThat(name).as(line).matches("[a-zA-Z_:][a-zA-Z0-9_:]*");
        var labels = new TreeMap<String, String>();
        if (brace >= 0) {
            int i = brace + 1;
            while (line.charAt(i) != '}') {
                int eq = line.indexOf("=\"", i);
                String label = line.substring(i, eq);
                assertThat(label).as(line).matches("[a-zA-Z_][a-zA-Z0-9_]*");
                var v = new StringBuilder();
                int j = eq + 2;
                for (; line.charAt(j) != '"'; j++) {
                    char c = line.charAt(j);
                    if (c == '\\') {
                        char e = line.charAt(++j);
                        v.append(switch (e) {
                            case '\\' -> '\\';
                            case '"' -> '"';
                            case 'n' -> '\n';
                            default -> throw new AssertionError("bad escape \\" + e + " in " + line);
                        });
                    } else {
                        v.append(c);
                    }
                }
                labels.put(label, v.toString());
                i = j + 1;
                if (line.charAt(i) == ',') i++;
            }
            assertThat(line.charAt(i + 1)).as(line).isEqualTo(' ');
            sp = i + 1;
        }
        String value = line.substring(sp + 1);
        return new Sample(name, series(name, labels), Double.parseDouble(value.replace("+Inf", "Infinity")));
    }

    private static String series(String name, TreeMap<String, String> labels) {
        String le = labels.remove("le");
        var b = new StringBuilder(name);
        if (!labels.isEmpty() || le != null) {
            b.append('{');
            labels.forEach((k, v) -> b.append(k).append("=\"").append(v).append("\","));
            if (le != null) b.append("le=\"").append(le.equals("+Inf") ? le : plain(Double.parseDouble(le))).append("\",");
            b.setCharAt(b.length() - 1, '}');
        }
        return b.toString();
    }

    private static String plain(double d) {
        return new BigDecimal(Double.toString(d)).stripTrailingZeros().toPlainString();
    }

    private static String unescapeHelp(String h) {
        var b = new StringBuilder();
        for (int i = 0; i < h.length(); i++) {
            char c = h.charAt(i);
            if (c == '\\' && i + 1 < h.length()) {
                char e = h.charAt(++i);
                b.append(switch (e) {
                    case '\\' -> '\\';
                    case 'n' -> '\n';
                    default -> throw new AssertionError("bad escape in help: " + h);
                });
            } else {
                b.append(c);
            }
        }
        return b.toString();
    }

    List<String> names() {
        return families.stream().map(Family::name).toList();
    }

    Family family(String name) {
        return families.stream().filter(f -> f.name().equals(name)).findFirst()
                .orElseThrow(() -> new AssertionError("no family " + name + " in " + names()));
    }

    boolean has(String family) {
        return names().contains(family);
    }

    /** Every series of every family, canonically named. */
    Map<String, Double> samples() {
        var all = new LinkedHashMap<String, Double>();
        families.forEach(f -> all.putAll(f.samples()));
        return all;
    }

    /** The value of {@code series} (written in any label order). */
    double value(String series) {
        String canonical = sample(series + " 0").series();
        var v = samples().get(canonical);
        assertThat(v).as(canonical + " in\n" + samples().keySet()).isNotNull();
        return v;
    }

    /** Exactly these series with these values (sums within 1e-9 s: the client adds doubles). */
    static void assertSeries(Map<String, Double> actual, Map<String, Double> expected) {
        var canonical = new LinkedHashMap<String, Double>();
        expected.forEach((k, v) -> canonical.put(sample(k + " 0").series(), v));
        assertThat(actual.keySet()).containsExactlyInAnyOrderElementsOf(canonical.keySet());
        canonical.forEach((k, v) -> assertThat(actual.get(k)).as(k).isCloseTo(v, within(1e-9)));
    }
}
