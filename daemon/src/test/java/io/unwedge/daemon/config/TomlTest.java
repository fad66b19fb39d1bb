package io.unwedge.daemon.config;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowableOfType;

import io.unwedge.daemon.config.ConfigException.Problem;
import java.util.List;
import org.junit.jupiter.api.Test;

/** The TOML subset: every value kind, every refusal with its line, several problems at once, and writing. */
class TomlTest {

    static Toml.Table parse(String text) throws ConfigException {
        return Toml.parse(text, "t.toml");
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

    static Toml.Table table(Toml.Table t, String... path) {
        for (var k : path) t = (Toml.Table) t.entries().get(k);
        return t;
    }

    @Test
    void everyValueKindIsRead() throws Exception {
        var root = parse("""
                # a comment, then a blank line

                [t]   # after a header
                basic = "a\\"b\\\\c\\nd\\te\\u00e9\\U0001F600\\b\\f\\r"
                literal = 'C:\\no\\escapes "here"'
                int = 1_000_000
                neg = -42
                plus = +7
                zero = 0
                yes = true
                no = false
                empty = []
                list = ["a", 'b', ]
                long = [
                  "x",   # a comment inside
                  # a comment line inside
                  "y",
                ]
                nested = [[1, 2], ["z"]]
                "quoted key" = 1
                'literal key' = 2
                bare-key_2 = 3
                """);
        var t = table(root, "t");
        assertThat(t.line()).isEqualTo(3);
        var e = t.entries();
        assertThat(e.get("basic")).isEqualTo(new Toml.Str("a\"b\\c\nd\teé\uD83D\uDE00\b\f\r", 4));
        assertThat(e.get("literal")).isEqualTo(new Toml.Str("C:\\no\\escapes \"here\"", 5));
        assertThat(e.get("int")).isEqualTo(new Toml.Int(1_000_000, 6));
        assertThat(e.get("neg")).isEqualTo(new Toml.Int(-42, 7));
        assertThat(e.get("plus")).isEqualTo(new Toml.Int(7, 8));
        assertThat(e.get("zero")).isEqualTo(new Toml.Int(0, 9));
        assertThat(e.get("yes")).isEqualTo(new Toml.Bool(true, 10));
        assertThat(e.get("no")).isEqualTo(new Toml.Bool(false, 11));
        assertThat(e.get("empty")).isEqualTo(new Toml.Arr(List.of(), 12));
        assertThat(e.get("list")).isEqualTo(new Toml.Arr(List.of(new Toml.Str("a", 13), new Toml.Str("b", 13)), 13));
        assertThat(e.get("long")).isEqualTo(new Toml.Arr(List.of(new Toml.Str("x", 15), new Toml.Str("y", 17)), 14));
        assertThat(e.get("nested")).isEqualTo(new Toml.Arr(List.of(
                new Toml.Arr(List.of(new Toml.Int(1, 19), new Toml.Int(2, 19)), 19),
                new Toml.Arr(List.of(new Toml.Str("z", 19)), 19)), 19));
        assertThat(e.get("quoted key")).isEqualTo(new Toml.Int(1, 20));
        assertThat(e.get("literal key")).isEqualTo(new Toml.Int(2, 21));
        assertThat(e.get("bare-key_2")).isEqualTo(new Toml.Int(3, 22));
        assertThat(e.keySet()).containsExactly("basic", "literal", "int", "neg", "plus", "zero", "yes", "no", "empty", "list",
                "long", "nested", "quoted key", "literal key", "bare-key_2");
    }

    @Test
    void dottedAndQuotedHeadersMakeNestedTablesAndParentsImplicitly() throws Exception {
        var root = parse("""
                [drain.device."0000:03:00.0"]
                mode = "wait"
                [ drain . driver . 'xe' ]
                force = true
                [drain]
                grace = "1s"
                """);
        var drain = table(root, "drain");
        assertThat(drain.line()).as("the explicit header's line, not the implicit mention's").isEqualTo(5);
        assertThat(drain.entries().keySet()).containsExactly("device", "driver", "grace");
        var dev = table(root, "drain", "device", "0000:03:00.0");
        assertThat(dev.path()).containsExactly("drain", "device", "0000:03:00.0");
        assertThat(dev.header()).isEqualTo("[drain.device.\"0000:03:00.0\"]");
        assertThat(dev.entries()).containsEntry("mode", new Toml.Str("wait", 2));
        assertThat(table(root, "drain", "driver", "xe").entries()).containsEntry("force", new Toml.Bool(true, 4));
    }

    @Test
    void crlfLineEndsAndAByteOrderMarkAreAccepted() throws Exception {
        var root = parse("\uFEFF[a]\r\nk = 1\r\n");
        assertThat(table(root, "a").entries()).containsEntry("k", new Toml.Int(1, 2));
    }

    @Test
    void eachSyntaxErrorSaysWhatAndWhere() {
        record Case(String text, int line, String says) {}
        var cases = List.of(
                new Case("[a]\nk = 1.5\n", 2, "floats are not supported: 1.5"),
                new Case("[a]\nk = 1e3\n", 2, "floats are not supported"),
                new Case("[a]\nk = inf\n", 2, "floats are not supported"),
                new Case("[a]\nk = 0x1f\n", 2, "hexadecimal, octal and binary integers are not supported"),
                new Case("[a]\nk = 1979-05-27\n", 2, "dates and times are not supported"),
                new Case("[a]\nk = 007\n", 2, "an integer cannot start with 0"),
                new Case("[a]\nk = 1__0\n", 2, "'_' must sit between digits"),
                new Case("[a]\nk = 99999999999999999999\n", 2, "integer out of range"),
                new Case("[a]\nk = True\n", 2, "booleans are lower-case: true"),
                new Case("[a]\nmode = terminate\n", 2, "a string must be quoted: \"terminate\""),
                new Case("[a]\nk = \"open\n", 2, "unterminated string"),
                new Case("[a]\nk = 'open\n", 2, "unterminated string"),
                new Case("[a]\nk = \"\"\"multi\"\"\"\n", 2, "multi-line strings"),
                new Case("[a]\nk = \"bad \\q escape\"\n", 2, "invalid escape \\q"),
                new Case("[a]\nk = \"\\u12\"\n", 2, "\\u needs 4 hexadecimal digits"),
                new Case("[a]\nk = \"\\uD800\"\n", 2, "\\uD800 is not a Unicode scalar value"),
                new Case("[a]\nk = \"tab\u0001\"\n", 2, "control character U+0001 in a string"),
                new Case("[a]\nk = { x = 1 }\n", 2, "inline tables ({…}) are not supported"),
                new Case("[[a]]\n", 1, "arrays of tables ([[…]]) are not supported"),
                new Case("[a]\nx.y = 1\n", 2, "dotted keys (a.b = …) are not supported"),
                new Case("[a]\nk\n", 2, "'k' needs '= value' after it"),
                new Case("[a]\nk = \n", 2, "a value is missing after '='"),
                new Case("[a]\n= 1\n", 2, "a key is missing before '='"),
                new Case("[a]\nk = 1 2\n", 2, "expected the end of the line, found '2'"),
                new Case("[a\n", 1, "a table header needs its closing ']'"),
                new Case("[]\n", 1, "expected a table name, found ']'"),
                new Case("[a b]\n", 1, "expected '.' or ']' in a table header, found 'b'"),
                new Case("[a]\nk = [1,,2]\n", 2, "two ',' with no value between them"),
                new Case("[a]\nk = [,]\n", 2, "an array cannot start with ','"),
                new Case("[a]\nk = [1 2]\n", 2, "expected ',' or ']' after a value in an array, found '2'"),
                new Case("[a]\nk = [\n1,\n", 2, "this array has no closing ']' (the file ends first)"),
                new Case("[a]\nk = 1\rj = 2\n", 2, "a carriage return without a line feed"),
                new Case("# bell \u0007\n", 1, "control character U+0007 in a comment"),
                new Case("[a]\nk = 1\nk = 2\n", 3, "duplicate key 'k' in [a] (first at line 2)"),
                new Case("[a]\n[b]\n[a]\n", 3, "table [a] is defined twice (first at line 1)"),
                new Case("[a]\nb = 1\n[a.b]\n", 3, "[a.b]: 'b' in [a] is already a value (line 2), not a table"),
                new Case("[a.b]\n[a]\nb = 1\n", 3, "'b' in [a] is already the table [a.b] (line 1)"));
        for (var c : cases) {
            var p = only(c.text);
            assertThat(p.line()).as(c.text).isEqualTo(c.line);
            assertThat(p.message()).as(c.text).contains(c.says);
        }
    }

    @Test
    void everyProblemInAFileIsReportedNotOnlyTheFirst() {
        var p = problems("""
                [a]
                k = nope
                ok = 1
                list = [
                  "a",
                  2.5,
                  "c",
                ]
                after = 1
                after = 2
                [a]
                x = "\\z"
                """);
        assertThat(p).extracting(Problem::line).containsExactly(2, 6, 10, 11, 12);
        assertThat(p.get(1).message()).contains("floats");
        assertThat(p.get(2).message()).contains("duplicate key 'after'");
    }

    @Test
    void aBinaryFileStopsAfterTheLimitWithASaying() {
        var text = "\u0001\n".repeat(500);
        var p = problems(text);
        assertThat(p).hasSize(Toml.MAX_PROBLEMS + 1);
        assertThat(p.getLast().message()).contains("too many problems");
    }

    @Test
    void theProblemsFormatAsFileLineMessage() {
        var e = catchThrowableOfType(ConfigException.class, () -> Toml.parse("[a]\nk = x\n", "/etc/u.toml"));
        assertThat(e.getMessage()).isEqualTo("/etc/u.toml:2: a string must be quoted: \"x\" (not x)");
        assertThat(new Problem(0, "too big").format("f")).isEqualTo("f: too big");
    }

    @Test
    void writingQuotesWhatMustBeQuotedAndReadsBackTheSame() throws Exception {
        var original = parse("""
                [drain.device."0000:03:00.0"]
                mode = "wait"
                [x]
                s = "quote \\" back \\\\ nl \\n tab \\t bell \\u0007 del \\u007F é"
                n = -3
                b = true
                a = ["a", "b"]
                "key with space" = 1
                """);
        String written = Toml.write(original);
        assertThat(written).contains("[drain.device.\"0000:03:00.0\"]", "\"key with space\" = 1", "\\u0007", "\\u007F", "é");
        assertThat(written).doesNotContain("[drain]\n", "[drain.device]\n");
        var again = parse(written);
        assertThat(Toml.write(again)).isEqualTo(written);
        assertThat(again.minus(original).entries()).isEmpty();
    }

    @Test
    void minusKeepsOnlyWhatDiffers() throws Exception {
        var base = parse("[a]\nx = 1\ny = [\"p\"]\n[b]\nz = true\n");
        var other = parse("[a]\nx = 1\ny = [\"q\"]\n[b]\nz = true\n[c]\nw = 'new'\n");
        assertThat(Toml.write(other.minus(base))).isEqualTo("[a]\ny = [\"q\"]\n\n[c]\nw = \"new\"\n");
    }
}
