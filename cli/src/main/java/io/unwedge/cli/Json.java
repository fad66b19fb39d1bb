package io.unwedge.cli;

import io.unwedge.daemon.JsonText;

import java.time.Instant;
import java.time.temporal.ChronoUnit;
import java.util.List;
import java.util.Optional;

/**
 * Just enough JSON for the commands' {@code --json}: objects from key/value pairs, arrays, strings escaped
 * per RFC 8259 (quote, backslash, and every control character). Not worth a dependency.
 */
final class Json {

    private Json() {}

    /** {@code kv} are key, value pairs; values as {@link #value}. */
    static String object(Object... kv) {
        if (kv.length % 2 != 0) throw new IllegalArgumentException("odd number of key/value elements");
        var b = new StringBuilder("{");
        for (int i = 0; i < kv.length; i += 2) {
            if (i > 0) b.append(", ");
            b.append(quote((String) kv[i])).append(": ").append(value(kv[i + 1]));
        }
        return b.append('}').toString();
    }

    static String array(List<?> items) {
        var b = new StringBuilder("[");
        for (int i = 0; i < items.size(); i++) {
            if (i > 0) b.append(",\n ");
            b.append(value(items.get(i)));
        }
        return b.append(']').toString();
    }

    /** Already JSON: nested objects and arrays. */
    record Raw(String json) {}

    /** null and empty Optionals are null; instants are ISO-8601 strings (microseconds, UTC). */
    static String value(Object v) {
        return switch (v) {
            case null -> "null";
            case Optional<?> o -> o.isEmpty() ? "null" : value(o.get());
            case Raw r -> r.json();
            case Boolean bool -> bool.toString();
            case Integer n -> n.toString();
            case Long n -> n.toString();
            case Instant t -> quote(t.truncatedTo(ChronoUnit.MICROS).toString());
            case List<?> l -> array(l);
            default -> quote(v.toString());
        };
    }

    static String quote(String s) {
        return JsonText.quote(s);
    }
}
