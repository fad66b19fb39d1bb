package io.unwedge.daemon.http;

import java.math.BigDecimal;
import java.util.regex.Pattern;

/**
 * The Prometheus text exposition format, version 0.0.4
 * (prometheus.io/docs/instrumenting/exposition_formats): per metric family a {@code # HELP} and a
 * {@code # TYPE} line, then one line per sample, {@code name{label="value",…} value}, each ending in
 * {@code \n}. In label values {@code \}, {@code "} and a line feed are escaped; in help text {@code \} and
 * a line feed. Numbers are written exactly: counts as integers, seconds as plain decimals.
 *
 * <p>Not thread-safe: one per scrape.
 */
final class Exposition {

    /** The content type a scraper is told. */
    static final String CONTENT_TYPE = "text/plain; version=0.0.4; charset=utf-8";

    enum Type {
        COUNTER, GAUGE, HISTOGRAM;

        @Override
        public String toString() {
            return name().toLowerCase(java.util.Locale.ROOT);
        }
    }

    private static final Pattern NAME = Pattern.compile("[a-zA-Z_:][a-zA-Z0-9_:]*");
    private static final Pattern LABEL = Pattern.compile("[a-zA-Z_][a-zA-Z0-9_]*");

    private final StringBuilder out = new StringBuilder(4096);

    /** The {@code # HELP} and {@code # TYPE} lines that open a family. */
    Exposition family(String name, Type type, String help) {
        requireName(name);
        out.append("# HELP ").append(name).append(' ').append(escapeHelp(help)).append('\n');
        out.append("# TYPE ").append(name).append(' ').append(type).append('\n');
        return this;
    }

    /** A sample: {@code labels} are name, value pairs, in the order written. */
    Exposition sample(String name, long value, String... labels) {
        return sample(name, Long.toString(value), labels);
    }

    /** A sample whose value is already formatted ({@link #seconds}). */
    Exposition sample(String name, String value, String... labels) {
        requireName(name);
        if (labels.length % 2 != 0) throw new IllegalArgumentException("labels come in name, value pairs: " + labels.length);
        out.append(name);
        if (labels.length > 0) {
            out.append('{');
            for (int i = 0; i < labels.length; i += 2) {
                if (!LABEL.matcher(labels[i]).matches() || labels[i].startsWith("__")) {
                    throw new IllegalArgumentException("not a label name: " + labels[i]);
                }
                if (i > 0) out.append(',');
                out.append(labels[i]).append("=\"").append(escapeLabelValue(labels[i + 1])).append('"');
            }
            out.append('}');
        }
        out.append(' ').append(value).append('\n');
        return this;
    }

    String text() {
        return out.toString();
    }

    /** {@code units} of {@code 10^-digits} s as seconds: (1500, 3) is {@code 1.5}, (500, 6) is {@code 0.0005}, (120000, 3) is {@code 120}. */
    static String seconds(long units, int digits) {
        return BigDecimal.valueOf(units, digits).stripTrailingZeros().toPlainString();
    }

    static String escapeLabelValue(String v) {
        var b = new StringBuilder(v.length());
        for (int i = 0; i < v.length(); i++) {
            char c = v.charAt(i);
            switch (c) {
                case '\\' -> b.append("\\\\");
                case '"' -> b.append("\\\"");
                case '\n' -> b.append("\\n");
                default -> b.append(c);
            }
        }
        return b.toString();
    }

    static String escapeHelp(String h) {
        return h.replace("\\", "\\\\").replace("\n", "\\n");
    }

    private static void requireName(String name) {
        if (!NAME.matcher(name).matches()) throw new IllegalArgumentException("not a metric name: " + name);
    }
}
