package io.unwedge.daemon;

import java.util.Locale;

/** JSON strings, written one way for every JSON unwedge prints: the daemon's log lines and the CLI's output. */
public final class JsonText {

    private JsonText() {}

    /** RFC 8259 §7: quote, backslash and the control characters escaped; everything else as is (UTF-8 out). */
    public static void append(StringBuilder b, String s) {
        b.append('"');
        for (int k = 0; k < s.length(); k++) {
            char c = s.charAt(k);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\n' -> b.append("\\n");
                case '\r' -> b.append("\\r");
                case '\t' -> b.append("\\t");
                default -> {
                    // U+2028/9 are valid JSON but end a line for JavaScript readers; escape them as well
                    if (c < 0x20 || c == 0x7f || c == 0x2028 || c == 0x2029) b.append(String.format(Locale.ROOT, "\\u%04x", (int) c));
                    else b.append(c);
                }
            }
        }
        b.append('"');
    }

    public static String quote(String s) {
        var b = new StringBuilder(s.length() + 2);
        append(b, s);
        return b.toString();
    }
}
