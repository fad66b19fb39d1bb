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
 */
public final class EventLog {

    public enum Level { DEBUG, INFO, WARN, ERROR }

    private final PrintStream out;
    private final InstantSource clock;
    private final Level min;

    public EventLog(PrintStream out, InstantSource clock, Level min) {
        this.out = out;
        this.clock = clock;
        this.min = min;
    }

    public boolean enabled(Level level) {
        return level.compareTo(min) >= 0;
    }

    /** {@code fields} are key, value pairs; a trailing odd element is a free-text message. */
    public void log(Level level, String event, Object... fields) {
        if (!enabled(level)) return;
        var b = new StringBuilder(160);
        b.append(DateTimeFormatter.ISO_INSTANT.format(clock.instant().truncatedTo(ChronoUnit.MILLIS)))
                .append(' ').append(String.format(Locale.ROOT, "%-5s", level.name().toLowerCase(Locale.ROOT)))
                .append(' ').append(event);
        int i = 0;
        for (; i + 1 < fields.length; i += 2) {
            if (fields[i + 1] == null) continue;
            b.append(' ').append(fields[i]).append('=').append(quote(String.valueOf(fields[i + 1])));
        }
        if (i < fields.length && fields[i] != null && !fields[i].toString().isEmpty()) b.append(" — ").append(fields[i]);
        synchronized (out) {
            out.println(b);
        }
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
