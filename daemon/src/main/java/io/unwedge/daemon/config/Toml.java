package io.unwedge.daemon.config;

import java.util.ArrayList;
import java.util.Collections;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.regex.Pattern;

/**
 * The subset of TOML v1.0.0 (https://toml.io/en/v1.0.0) unwedge's config is written in, read strictly and
 * written back. Our own, not a library's, for the error messages: each names its 1-based line and what was
 * wrong, and a file with several mistakes gets them all at once.
 *
 * <h2>What is read</h2>
 * Comments, blank lines; {@code [table]} headers with bare or quoted, dotted parts
 * ({@code [drain.device."0000:03:00.0"]}); {@code key = value} with a bare or quoted key; values: basic
 * strings {@code "…"} (escapes {@code \b \t \n \f \r \" \\}, and a backslash, u or U, and 4 or 8 hex digits), literal
 * strings {@code '…'}, decimal integers (with {@code _} between digits), {@code true}/{@code false}, and
 * arrays (which may span lines, hold comments, and end with a comma).
 *
 * <h2>What is refused, by name</h2>
 * Floats, dates, hexadecimal/octal/binary integers, multi-line strings, inline tables, arrays of tables and
 * dotted keys: each is an error saying it is not supported, rather than a generic "unexpected character".
 * A duplicate key, or a table defined twice, is an error naming the line of the first.
 *
 * <h2>Recovering from an error</h2>
 * An error ends the statement it is in: the rest of its line is skipped (and, inside an array, every line up
 * to the array's end), and reading goes on with the next statement, so later mistakes are found too. After
 * {@link #MAX_PROBLEMS} it stops: a binary file would otherwise yield one error per line.
 */
public final class Toml {

    /** Past this many problems the rest of the file is not read. */
    public static final int MAX_PROBLEMS = 100;

    private Toml() {}

    /** A key's value or a table. */
    public sealed interface Node permits Value, Table {}

    /** A value; {@code line} is where it starts (0 for a value not read from a file). */
    public sealed interface Value extends Node permits Str, Int, Bool, Arr {
        int line();

        /** What kind of value it is, for messages: "a string", "an integer", … */
        String kind();
    }

    public record Str(String value, int line) implements Value {
        public Str {
            Objects.requireNonNull(value);
        }

        @Override
        public String kind() {
            return "a string";
        }
    }

    public record Int(long value, int line) implements Value {
        @Override
        public String kind() {
            return "an integer";
        }
    }

    public record Bool(boolean value, int line) implements Value {
        @Override
        public String kind() {
            return "a boolean";
        }
    }

    public record Arr(List<Value> items, int line) implements Value {
        public Arr {
            items = List.copyOf(items);
        }

        @Override
        public String kind() {
            return "an array";
        }
    }

    /**
     * A table: its path from the top ({@code []} for the top level), the line of its header (or of the
     * header that first named it, for {@code drain} in a file with only {@code [drain.driver.xe]}), and its
     * keys and sub-tables in the order written.
     */
    public record Table(List<String> path, int line, Map<String, Node> entries) implements Node {
        public Table {
            path = List.copyOf(path);
            entries = Collections.unmodifiableMap(new LinkedHashMap<>(entries));
        }

        /** {@code [drain.device."0000:03:00.0"]}, or "the top level". */
        public String header() {
            return path.isEmpty() ? "the top level" : "[" + dotted(path) + "]";
        }

        /** The same table with only what differs from {@code base} (values compared without lines). */
        public Table minus(Table base) {
            var out = new LinkedHashMap<String, Node>();
            entries.forEach((k, v) -> {
                Node b = base.entries.get(k);
                if (v instanceof Table t) {
                    var d = b instanceof Table bt ? t.minus(bt) : t;
                    if (!d.entries.isEmpty() || !(b instanceof Table)) out.put(k, d);
                } else if (b == null || !sameValue((Value) v, b)) {
                    out.put(k, v);
                }
            });
            return new Table(path, line, out);
        }
    }

    static boolean sameValue(Value a, Node b) {
        return switch (a) {
            case Str s -> b instanceof Str o && s.value.equals(o.value);
            case Int i -> b instanceof Int o && i.value == o.value;
            case Bool x -> b instanceof Bool o && x.value == o.value;
            case Arr arr -> {
                if (!(b instanceof Arr o) || arr.items.size() != o.items.size()) yield false;
                for (int i = 0; i < arr.items.size(); i++) if (!sameValue(arr.items.get(i), o.items.get(i))) yield false;
                yield true;
            }
        };
    }

    /** The tree of {@code text}, or every problem in it. Total: any text gives one or the other. */
    public static Table parse(String text, String source) throws ConfigException {
        var parsed = read(text);
        if (!parsed.problems().isEmpty()) throw new ConfigException(source, parsed.problems());
        return parsed.root();
    }

    /** What could be read, and the problems; the config reader adds its own to these. */
    record Parsed(Table root, List<ConfigException.Problem> problems) {}

    static Parsed read(String text) {
        var p = new Parser(text);
        p.document();
        return new Parsed(p.root.freeze(), List.copyOf(p.problems));
    }

    // ---------------------------------------------------------------------------------------- writing

    private static final Pattern BARE_KEY = Pattern.compile("[A-Za-z0-9_-]+");

    /** A key as TOML writes it: bare when it can be, else a basic string. */
    public static String key(String k) {
        return BARE_KEY.matcher(k).matches() ? k : quote(k);
    }

    static String dotted(List<String> path) {
        return String.join(".", path.stream().map(Toml::key).toList());
    }

    /** A basic string: quotes, backslashes and control characters escaped, the rest as it is. */
    public static String quote(String s) {
        var b = new StringBuilder(s.length() + 2).append('"');
        for (int i = 0; i < s.length(); i++) {
            char c = s.charAt(i);
            switch (c) {
                case '"' -> b.append("\\\"");
                case '\\' -> b.append("\\\\");
                case '\b' -> b.append("\\b");
                case '\t' -> b.append("\\t");
                case '\n' -> b.append("\\n");
                case '\f' -> b.append("\\f");
                case '\r' -> b.append("\\r");
                default -> {
                    if (c < 0x20 || c == 0x7f) b.append(String.format("\\u%04X", (int) c));
                    else b.append(c);
                }
            }
        }
        return b.append('"').toString();
    }

    /** One value as TOML writes it. */
    public static String write(Value v) {
        return switch (v) {
            case Str s -> quote(s.value);
            case Int i -> Long.toString(i.value);
            case Bool x -> Boolean.toString(x.value);
            case Arr a -> "[" + String.join(", ", a.items.stream().map(Toml::write).toList()) + "]";
        };
    }

    /**
     * The tree as a document: each table with values gets its header and its values, then its sub-tables;
     * tables holding only sub-tables get no header of their own (TOML defines them implicitly). A blank
     * line between tables.
     */
    public static String write(Table root) {
        var b = new StringBuilder();
        writeTable(root, b);
        return b.toString();
    }

    private static void writeTable(Table t, StringBuilder b) {
        boolean hasValues = t.entries.values().stream().anyMatch(n -> n instanceof Value);
        boolean hasTables = t.entries.values().stream().anyMatch(n -> n instanceof Table);
        if (!t.path.isEmpty() && (hasValues || !hasTables)) {
            if (!b.isEmpty()) b.append('\n');
            b.append('[').append(dotted(t.path)).append("]\n");
        }
        t.entries.forEach((k, v) -> {
            if (v instanceof Value value) b.append(key(k)).append(" = ").append(write(value)).append('\n');
        });
        t.entries.forEach((k, v) -> {
            if (v instanceof Table sub) writeTable(sub, b);
        });
    }

    // ---------------------------------------------------------------------------------------- reading

    /** A syntax error: ends the statement. */
    private static final class Syntax extends Exception {
        final int line;

        Syntax(int line, String message) {
            super(message, null, false, false);
            this.line = line;
        }
    }

    /** A table while it is being read. */
    private static final class Building {
        final List<String> path;
        int line;
        /** defined by its own header (a second header for it is a duplicate) */
        boolean explicit;
        final LinkedHashMap<String, Object> entries = new LinkedHashMap<>(); // Value or Building
        final Map<String, Integer> lines = new LinkedHashMap<>();

        Building(List<String> path, int line) {
            this.path = path;
            this.line = line;
        }

        Table freeze() {
            var out = new LinkedHashMap<String, Node>();
            entries.forEach((k, v) -> out.put(k, v instanceof Building sub ? sub.freeze() : (Value) v));
            return new Table(path, line, out);
        }

        String header() {
            return path.isEmpty() ? "the top level" : "[" + dotted(path) + "]";
        }
    }

    private static final Pattern INTEGER = Pattern.compile("[+-]?(0|[1-9](_?[0-9])*)");
    private static final Pattern DATE_LIKE = Pattern.compile("[0-9]{4}-[0-9]{2}.*|[0-9]{2}:[0-9]{2}.*");

    private static final class Parser {
        final String s;
        int pos;
        int line = 1;
        int arrayDepth;
        final Building root = new Building(List.of(), 0);
        Building current = root;
        final List<ConfigException.Problem> problems = new ArrayList<>();

        Parser(String text) {
            // a byte-order mark some editors write is not content
            this.s = text;
            if (text.startsWith("\uFEFF")) pos = 1;
        }

        void document() {
            while (pos < s.length()) {
                if (problems.size() >= MAX_PROBLEMS) {
                    problems.add(new ConfigException.Problem(line, "too many problems; the rest of the file was not read"));
                    return;
                }
                try {
                    skipBlank();
                    if (pos >= s.length()) return;
                    char c = s.charAt(pos);
                    if (isNewline(c)) {
                        newline();
                        continue;
                    }
                    if (c == '#') {
                        comment();
                    } else if (c == '[') {
                        header();
                    } else {
                        keyValue();
                    }
                    endOfLine();
                } catch (Syntax e) {
                    problems.add(new ConfigException.Problem(e.line, e.getMessage()));
                    resync();
                }
            }
        }

        // ------------------------------------------------------------------ statements

        void header() throws Syntax {
            int at = line;
            pos++; // '['
            if (peek() == '[') throw new Syntax(at, "arrays of tables ([[…]]) are not supported; use one [table] per item");
            var path = new ArrayList<String>();
            while (true) {
                skipBlank();
                if (pos >= s.length() || isNewline(s.charAt(pos))) throw new Syntax(at, "a table header needs its closing ']'");
                path.add(key("a table name"));
                skipBlank();
                char c = peek();
                if (c == '.') {
                    pos++;
                    continue;
                }
                if (c == ']') {
                    pos++;
                    break;
                }
                if (c == EOF || isNewline(c)) throw new Syntax(at, "a table header needs its closing ']'");
                throw new Syntax(at, "expected '.' or ']' in a table header, found " + describe(c));
            }
            define(path, at);
        }

        void define(List<String> path, int at) throws Syntax {
            var t = root;
            for (int i = 0; i < path.size(); i++) {
                String k = path.get(i);
                Object o = t.entries.get(k);
                boolean last = i == path.size() - 1;
                if (o == null) {
                    var sub = new Building(List.copyOf(path.subList(0, i + 1)), at);
                    sub.explicit = last;
                    t.entries.put(k, sub);
                    t.lines.put(k, at);
                    t = sub;
                } else if (o instanceof Building sub) {
                    if (last) {
                        if (sub.explicit) {
                            // the keys that follow go nowhere: they would only repeat the duplicate
                            problem(at, "table " + sub.header() + " is defined twice (first at line " + sub.line + ")");
                            current = new Building(sub.path, at);
                            return;
                        }
                        sub.explicit = true;
                        sub.line = at;
                    }
                    t = sub;
                } else {
                    throw new Syntax(at, "[" + dotted(path) + "]: '" + k + "' in " + t.header() + " is already a value (line "
                            + t.lines.get(k) + "), not a table");
                }
            }
            current = t;
        }

        void keyValue() throws Syntax {
            int at = line;
            String k = key("a key");
            skipBlank();
            char c = peek();
            if (c == '.') throw new Syntax(at, "dotted keys (a.b = …) are not supported; put '" + k + "' under a [table] header");
            if (c != '=') {
                throw new Syntax(at, c == EOF || isNewline(c) ? "'" + k + "' needs '= value' after it"
                        : "expected '=' after the key '" + k + "', found " + describe(c));
            }
            pos++;
            skipBlank();
            Value v = value();
            Object old = current.entries.get(k);
            if (old instanceof Building sub) {
                problem(at, "'" + k + "' in " + current.header() + " is already the table " + sub.header() + " (line " + sub.line + ")");
            } else if (old != null) {
                problem(at, "duplicate key '" + k + "' in " + current.header() + " (first at line " + current.lines.get(k) + ")");
            } else {
                current.entries.put(k, v);
                current.lines.put(k, at);
            }
        }

        /** A bare or quoted key; {@code what} names it in the error. */
        String key(String what) throws Syntax {
            char c = peek();
            if (c == '"') {
                if (s.startsWith("\"\"\"", pos)) throw new Syntax(line, "a multi-line string cannot be " + what);
                return basicString();
            }
            if (c == '\'') {
                if (s.startsWith("'''", pos)) throw new Syntax(line, "a multi-line string cannot be " + what);
                return literalString();
            }
            int start = pos;
            while (pos < s.length() && isBareKeyChar(s.charAt(pos))) pos++;
            if (pos == start) {
                throw new Syntax(line, c == '=' ? "a key is missing before '='" : "expected " + what + ", found " + describe(c));
            }
            return s.substring(start, pos);
        }

        /** After a statement: blanks, maybe a comment, then the end of the line. */
        void endOfLine() throws Syntax {
            skipBlank();
            char c = peek();
            if (c == '#') {
                comment();
                c = peek();
            }
            if (c == EOF) return;
            if (!isNewline(c)) throw new Syntax(line, "expected the end of the line, found " + describe(c));
            newline();
        }

        void comment() throws Syntax {
            pos++; // '#'
            while (pos < s.length() && !isNewline(s.charAt(pos))) {
                char c = s.charAt(pos);
                if (isControl(c)) throw new Syntax(line, "control character " + codePoint(c) + " in a comment");
                pos++;
            }
        }

        // ------------------------------------------------------------------ values

        Value value() throws Syntax {
            int at = line;
            char c = peek();
            switch (c) {
                case '"' -> {
                    if (s.startsWith("\"\"\"", pos)) throw new Syntax(at, "multi-line strings (\"\"\"…\"\"\") are not supported; use \\n in a \"…\" string");
                    return new Str(basicString(), at);
                }
                case '\'' -> {
                    if (s.startsWith("'''", pos)) throw new Syntax(at, "multi-line strings ('''…''') are not supported");
                    return new Str(literalString(), at);
                }
                case '[' -> {
                    return array();
                }
                case '{' -> throw new Syntax(at, "inline tables ({…}) are not supported; use a [table] header");
                default -> {
                }
            }
            if (c == EOF || isNewline(c) || c == '#') throw new Syntax(at, "a value is missing after '='");
            int start = pos;
            while (pos < s.length() && isTokenChar(s.charAt(pos))) pos++;
            if (pos == start) throw new Syntax(at, "expected a value, found " + describe(c));
            return scalar(s.substring(start, pos), at);
        }

        /** An unquoted value: an integer, true or false, or a named mistake. */
        Value scalar(String t, int at) throws Syntax {
            if (t.equals("true")) return new Bool(true, at);
            if (t.equals("false")) return new Bool(false, at);
            if (INTEGER.matcher(t).matches()) {
                try {
                    return new Int(Long.parseLong(t.replace("_", "")), at);
                } catch (NumberFormatException e) {
                    throw new Syntax(at, "integer out of range: " + t);
                }
            }
            String bare = t.startsWith("+") || t.startsWith("-") ? t.substring(1) : t;
            if (t.equalsIgnoreCase("true") || t.equalsIgnoreCase("false")) {
                throw new Syntax(at, "booleans are lower-case: " + t.toLowerCase(java.util.Locale.ROOT));
            }
            if (bare.equals("inf") || bare.equals("nan")) throw new Syntax(at, "floats are not supported: " + t);
            if (bare.matches("0[xob].*")) throw new Syntax(at, "hexadecimal, octal and binary integers are not supported; write " + t + " in decimal");
            if (DATE_LIKE.matcher(bare).matches()) throw new Syntax(at, "dates and times are not supported: " + t + " (quote it if it is text)");
            if (!bare.isEmpty() && Character.isDigit(bare.charAt(0))) {
                if (bare.matches("[0-9_]*[.eE].*")) throw new Syntax(at, "floats are not supported: " + t);
                if (bare.matches("0[0-9_]+")) throw new Syntax(at, "an integer cannot start with 0: " + t);
                if (bare.matches("[0-9_]+")) throw new Syntax(at, "'_' must sit between digits in an integer: " + t);
                throw new Syntax(at, "not a number: " + t + " (a string must be quoted: " + quote(t) + ")");
            }
            throw new Syntax(at, "a string must be quoted: " + quote(t) + " (not " + t + ")");
        }

        Arr array() throws Syntax {
            int at = line;
            pos++; // '['
            arrayDepth++;
            var items = new ArrayList<Value>();
            while (true) {
                skipSpaceInArray();
                char c = peek();
                if (c == EOF) throw new Syntax(at, "this array has no closing ']' (the file ends first)");
                if (c == ']') {
                    pos++;
                    break;
                }
                if (c == ',') throw new Syntax(line, items.isEmpty() ? "an array cannot start with ','" : "two ',' with no value between them in an array");
                items.add(value());
                skipSpaceInArray();
                c = peek();
                if (c == ',') {
                    pos++;
                } else if (c == ']') {
                    pos++;
                    break;
                } else if (c == EOF) {
                    throw new Syntax(at, "this array has no closing ']' (the file ends first)");
                } else {
                    throw new Syntax(line, "expected ',' or ']' after a value in an array, found " + describe(c));
                }
            }
            arrayDepth--;
            return new Arr(items, at);
        }

        /** Inside an array: blanks, newlines and comments. */
        void skipSpaceInArray() throws Syntax {
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == ' ' || c == '\t') {
                    pos++;
                } else if (isNewline(c)) {
                    newline();
                } else if (c == '#') {
                    comment();
                } else {
                    return;
                }
            }
        }

        String basicString() throws Syntax {
            int at = line;
            pos++; // '"'
            var b = new StringBuilder();
            while (true) {
                if (pos >= s.length() || isNewline(s.charAt(pos))) throw new Syntax(at, "unterminated string: a \"…\" string ends on its own line");
                char c = s.charAt(pos++);
                if (c == '"') return b.toString();
                if (c == '\\') {
                    escape(b);
                } else if (isControl(c)) {
                    throw new Syntax(at, "control character " + codePoint(c) + " in a string; write it as an escape");
                } else {
                    b.append(c);
                }
            }
        }

        void escape(StringBuilder b) throws Syntax {
            if (pos >= s.length() || isNewline(s.charAt(pos))) throw new Syntax(line, "unterminated string: it ends in a lone '\\'");
            char e = s.charAt(pos++);
            switch (e) {
                case 'b' -> b.append('\b');
                case 't' -> b.append('\t');
                case 'n' -> b.append('\n');
                case 'f' -> b.append('\f');
                case 'r' -> b.append('\r');
                case '"' -> b.append('"');
                case '\\' -> b.append('\\');
                case 'u' -> b.appendCodePoint(unicode(4));
                case 'U' -> b.appendCodePoint(unicode(8));
                default -> throw new Syntax(line, "invalid escape \\" + (isControl(e) ? codePoint(e) : String.valueOf(e))
                        + " in a string; allowed: \\b \\t \\n \\f \\r \\\" \\\\ \\uXXXX \\UXXXXXXXX");
            }
        }

        int unicode(int digits) throws Syntax {
            char u = s.charAt(pos - 1);
            int v = 0;
            for (int i = 0; i < digits; i++) {
                char c = pos < s.length() ? s.charAt(pos) : EOF;
                int d = Character.digit(c, 16);
                if (d < 0 || c > 'f') throw new Syntax(line, "\\" + u + " needs " + digits + " hexadecimal digits");
                v = v * 16 + d;
                pos++;
            }
            if (v > 0x10FFFF || v >= 0xD800 && v <= 0xDFFF) {
                throw new Syntax(line, "\\" + u + String.format("%0" + digits + "X", v) + " is not a Unicode scalar value");
            }
            return v;
        }

        String literalString() throws Syntax {
            int at = line;
            int start = ++pos;
            while (true) {
                if (pos >= s.length() || isNewline(s.charAt(pos))) throw new Syntax(at, "unterminated string: a '…' string ends on its own line");
                char c = s.charAt(pos);
                if (c == '\'') {
                    pos++;
                    return s.substring(start, pos - 1);
                }
                if (isControl(c)) throw new Syntax(at, "control character " + codePoint(c) + " in a string");
                pos++;
            }
        }

        // ------------------------------------------------------------------ characters and lines

        static final char EOF = '\uFFFF';

        char peek() {
            return pos < s.length() ? s.charAt(pos) : EOF;
        }

        void skipBlank() {
            while (pos < s.length() && (s.charAt(pos) == ' ' || s.charAt(pos) == '\t')) pos++;
        }

        static boolean isNewline(char c) {
            return c == '\n' || c == '\r';
        }

        /** At a newline: consume it. A CR must be followed by LF. */
        void newline() throws Syntax {
            if (s.charAt(pos) == '\r') {
                if (pos + 1 >= s.length() || s.charAt(pos + 1) != '\n') {
                    pos++;
                    throw new Syntax(line, "a carriage return without a line feed");
                }
                pos++;
            }
            pos++;
            line++;
        }

        static boolean isBareKeyChar(char c) {
            return c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '_' || c == '-';
        }

        /** What an unquoted value is made of, so that a mistake is quoted whole in its message. */
        static boolean isTokenChar(char c) {
            return isBareKeyChar(c) || c == '.' || c == '+' || c == ':';
        }

        static boolean isControl(char c) {
            return c < 0x20 && c != '\t' || c == 0x7f;
        }

        static String codePoint(char c) {
            return String.format("U+%04X", (int) c);
        }

        static String describe(char c) {
            if (c == EOF) return "the end of the file";
            if (isNewline(c)) return "the end of the line";
            if (isControl(c) || Character.isSurrogate(c)) return codePoint(c);
            return "'" + c + "'";
        }

        void problem(int at, String message) {
            problems.add(new ConfigException.Problem(at, message));
        }

        /**
         * After an error: skip the rest of the statement. Inside an array that is up to the array's closing
         * bracket, which may be lines away (strings and comments on the way are skipped, so a ']' in them
         * does not count); otherwise the rest of the line.
         */
        void resync() {
            int depth = arrayDepth;
            arrayDepth = 0;
            while (pos < s.length()) {
                char c = s.charAt(pos);
                if (c == '\n') {
                    pos++;
                    line++;
                    if (depth <= 0) return;
                } else if (c == '"' || c == '\'') {
                    pos++;
                    while (pos < s.length() && s.charAt(pos) != c && s.charAt(pos) != '\n') {
                        if (c == '"' && s.charAt(pos) == '\\' && pos + 1 < s.length() && s.charAt(pos + 1) != '\n') pos++;
                        pos++;
                    }
                    if (pos < s.length() && s.charAt(pos) == c) pos++;
                } else if (c == '#') {
                    while (pos < s.length() && s.charAt(pos) != '\n') pos++;
                } else {
                    if (c == '[') depth++;
                    if (c == ']') depth--;
                    pos++;
                }
            }
        }
    }
}
