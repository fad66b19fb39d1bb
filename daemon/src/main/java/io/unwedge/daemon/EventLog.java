package io.unwedge.daemon;

import java.io.PrintStream;
import java.time.InstantSource;
import java.time.format.DateTimeFormatter;
import java.time.temporal.ChronoUnit;
import java.util.Locale;

/**
 * One line per event, human-readable and greppable: time, level, what happened, then key=value fields
 * (card, bdf, method, step, outcome, ms, …). Values with spaces are quoted. Thread-safe: a line is
 * written whole.
 *
 * <p>{@link Format#JSON}: one object per line with the same keys, plus {@code time}, {@code level},
 * {@code event} and {@code msg} (the free text). A field named like one of those four is written with a
 * leading underscore rather than as a duplicate key. Numbers and booleans stay JSON numbers and booleans.
 *
 * <p>When stdout is the journal (systemd.exec(5): {@code $JOURNAL_STREAM} names its device and inode), each
 * line starts with the sd-daemon(3) priority prefix ({@code <3>} error, {@code <4>} warning, {@code <6>}
 * info, {@code <7>} debug); journald takes it off and files the line at that priority. A text line then has
 * no time stamp of its own: the journal stamps every entry, and a second one only widens the line.
 */
public final class EventLog {

    public enum Level {
        DEBUG(7), INFO(6), WARN(4), ERROR(3);

        /** The syslog priority, as sd-daemon.h's SD_DEBUG, SD_INFO, SD_WARNING, SD_ERR. */
        public final int priority;

        Level(int priority) {
            this.priority = priority;
        }
    }

    public enum Format {
        TEXT, JSON;

        public static java.util.Optional<Format> parse(String s) {
            return switch (s) {
                case "text" -> java.util.Optional.of(TEXT);
                case "json" -> java.util.Optional.of(JSON);
                default -> java.util.Optional.empty();
            };
        }
    }

    /** Told of every event logged, by level and name, whether or not its line is written (the metrics count some). */
    @FunctionalInterface
    public interface Listener {
        void logged(Level level, String event);
    }

    private static final java.util.Set<String> RESERVED = java.util.Set.of("time", "level", "event", "msg");

    private final PrintStream out;
    private final InstantSource clock;
    private final Level min;
    private final Format format;
    private final boolean priorityPrefix;
    private final java.util.List<Listener> listeners = new java.util.concurrent.CopyOnWriteArrayList<>();

    public EventLog(PrintStream out, InstantSource clock, Level min) {
        this(out, clock, min, Format.TEXT, false);
    }

    /** @param priorityPrefix start each line with {@code <N>}: only when the output is the journal */
    public EventLog(PrintStream out, InstantSource clock, Level min, Format format, boolean priorityPrefix) {
        this.out = out;
        this.clock = clock;
        this.min = min;
        this.format = java.util.Objects.requireNonNull(format);
        this.priorityPrefix = priorityPrefix;
    }

    /** From now on, {@code listener} hears of every event; it must be quick and must not throw (it runs on the logging thread). */
    public void listen(Listener listener) {
        listeners.add(java.util.Objects.requireNonNull(listener));
    }

    public boolean enabled(Level level) {
        return level.compareTo(min) >= 0;
    }

    /** {@code fields} are key, value pairs; a trailing odd element is a free-text message. */
    public void log(Level level, String event, Object... fields) {
        for (var l : listeners) l.logged(level, event);
        if (!enabled(level)) return;
        var b = new StringBuilder(160);
        if (priorityPrefix) b.append('<').append(level.priority).append('>');
        if (format == Format.JSON) {
            json(b, level, event, fields);
        } else {
            text(b, level, event, fields);
        }
        synchronized (out) {
            out.println(b);
        }
    }

    private void text(StringBuilder b, Level level, String event, Object... fields) {
        if (!priorityPrefix) b.append(DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.MILLIS))).append(' ');
        b.append(String.format(Locale.ROOT, "%-5s", level.name().toLowerCase(Locale.ROOT)))
                .append(' ').append(event);
        int i = 0;
        for (; i + 1 < fields.length; i += 2) {
            if (fields[i + 1] == null) continue;
            b.append(' ').append(fields[i]).append('=').append(quote(String.valueOf(fields[i + 1])));
        }
        if (i < fields.length && fields[i] != null && !fields[i].toString().isEmpty()) b.append(" — ").append(fields[i]);
    }

    private void json(StringBuilder b, Level level, String event, Object... fields) {
        b.append("{\"time\":");
        JsonText.append(b, DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.MILLIS)));
        b.append(",\"level\":");
        JsonText.append(b, level.name().toLowerCase(Locale.ROOT));
        b.append(",\"event\":");
        JsonText.append(b, event);
        int i = 0;
        for (; i + 1 < fields.length; i += 2) {
            var v = fields[i + 1];
            if (v == null) continue;
            String key = String.valueOf(fields[i]);
            b.append(',');
            JsonText.append(b, RESERVED.contains(key) ? "_" + key : key);
            b.append(':');
            if (v instanceof Boolean || v instanceof Integer || v instanceof Long || v instanceof Short || v instanceof Byte) {
                b.append(v);
            } else {
                JsonText.append(b, String.valueOf(v));
            }
        }
        if (i < fields.length) {
            b.append(",\"msg\":");
            JsonText.append(b, String.valueOf(fields[i]));
        }
        b.append('}');
    }


    public void debug(String event, Object... fields) {
        log(Level.DEBUG, event, fields);
    }

    public void info(String event, Object... fields) {
        log(Level.INFO, event, fields);
    }

    public void warn(String event, Object... fields) {
        log(Level.WARN, event, fields);
    }

    public void error(String event, Object... fields) {
        log(Level.ERROR, event, fields);
    }

    private static String quote(String v) {
        if (!v.isEmpty() && v.chars().noneMatch(c -> c == ' ' || c == '"' || c == '=' || c < 0x20)) return v;
        var b = new StringBuilder("\"");
        for (char c : v.toCharArray()) {
            if (c == '"' || c == '\\') b.append('\\').append(c);
            else if (c < 0x20) b.append(String.format(Locale.ROOT, "\\x%02x", (int) c));
            else b.append(c);
        }
        return b.append('"').toString();
    }
}
