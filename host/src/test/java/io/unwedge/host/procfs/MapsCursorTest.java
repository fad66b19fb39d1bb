package io.unwedge.host.procfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.host.os.RawFiles;
import java.nio.charset.StandardCharsets;
import java.util.Optional;
import net.jqwik.api.Arbitraries;
import net.jqwik.api.Arbitrary;
import net.jqwik.api.Combinators;
import net.jqwik.api.ForAll;
import net.jqwik.api.Property;
import net.jqwik.api.Provide;
import org.junit.jupiter.api.Test;

/** The byte-level maps line reader against a plain String-splitting reference (the scan's former parser). */
class MapsCursorTest {

    /** The reference: fields split on spaces, numbers parsed by the JDK. */
    record Reference(String range, String perms, DevNum dev, long ino, String path) {
        static Optional<Reference> parse(String line) {
            String[] f = new String[5];
            int at = 0;
            for (int i = 0; i < 5; i++) {
                while (at < line.length() && line.charAt(at) == ' ') at++;
                int end = line.indexOf(' ', at);
                if (end < 0) end = line.length();
                if (end == at) return Optional.empty();
                f[i] = line.substring(at, end);
                at = end;
            }
            if (!f[4].matches("[0-9]{1,18}") || !f[3].matches("[0-9a-fA-F]{1,8}:[0-9a-fA-F]{1,8}")) return Optional.empty();
            var dev = DevNum.parseHex(f[3]);
            if (dev.isEmpty()) return Optional.empty();
            return Optional.of(new Reference(f[0], f[1], dev.get(), Long.parseLong(f[4]), line.substring(at).strip()));
        }
    }

    static Optional<Reference> cursor(String line) {
        var b = ("garbage\n" + line + "\nmore").getBytes(StandardCharsets.UTF_8);
        int start = 8, end = start + line.getBytes(StandardCharsets.UTF_8).length;
        var c = new MapsCursor();
        if (!c.parse(b, start, end)) return Optional.empty();
        return Optional.of(new Reference(c.range(), c.perms(), new DevNum(RawFiles.major(c.dev()), RawFiles.minor(c.dev())), c.ino(), c.path()));
    }

    @Test
    void aKernelLineGivesItsFields() {
        var r = cursor("7f5093000000-7f5093001000 rw-s 00000000 00:05 1043                       /dev/dri/renderD128");
        assertThat(r).contains(new Reference("7f5093000000-7f5093001000", "rw-s", new DevNum(0, 5), 1043, "/dev/dri/renderD128"));
        assertThat(cursor("7ffd1a2b3000-7ffd1a2d4000 rw-p 00000000 00:00 0                          [stack]"))
                .contains(new Reference("7ffd1a2b3000-7ffd1a2d4000", "rw-p", new DevNum(0, 0), 0, "[stack]"));
        assertThat(cursor("55d0c0a00000-55d0c0a02000 r--p 00000000 103:02 1234 /usr/bin/with space (deleted)"))
                .contains(new Reference("55d0c0a00000-55d0c0a02000", "r--p", new DevNum(0x103, 2), 1234, "/usr/bin/with space (deleted)"));
        assertThat(cursor("7f00-7f01 ---p 00000000 00:00 0")).hasValueSatisfying(l -> assertThat(l.path()).isEmpty());
    }

    @Test
    void junkIsRefused() {
        for (var junk : new String[] {"", "garbage", "- - - - -", "zz-zz rw-s 0 zz:zz notanumber /x", "a b c fe00 12 /x",
                "a b c fe: 12 /x", "a b c :00 12 /x", "a b c fe:00 -1 /x", "a b c fe:00", "a b c 123456789:0 1 /x"}) {
            assertThat(cursor(junk)).as(junk).isEmpty();
        }
    }

    @Property(seed = "20261126", tries = 2000)
    void agreesWithTheReference(@ForAll("lines") String line) {
        assertThat(cursor(line)).isEqualTo(Reference.parse(line));
    }

    @Provide
    Arbitrary<String> lines() {
        var hex = Arbitraries.strings().withChars("0123456789abcdef").ofMinLength(1).ofMaxLength(12);
        var range = Combinators.combine(hex, hex).as((a, b) -> a + "-" + b);
        var perms = Arbitraries.of("rw-s", "r--p", "r-xp", "---p", "rwxs");
        var dev = Combinators.combine(Arbitraries.strings().withChars("0123456789abcdefAF").ofMinLength(1).ofMaxLength(3),
                Arbitraries.strings().withChars("0123456789abcdef").ofMinLength(1).ofMaxLength(3)).as((a, b) -> a + ":" + b);
        var ino = Arbitraries.longs().between(0, 999_999_999_999L).map(String::valueOf);
        var path = Arbitraries.of("", "/dev/dri/card1", "/usr/lib/libc.so.6", "[heap]", "/memfd:x (deleted)", "/a b", "/dmabuf:");
        var gap = Arbitraries.of(" ", "  ", "                     ");
        var good = Combinators.combine(range, perms, dev, ino, gap, path)
                .as((r, p, d, i, g, n) -> r + " " + p + " 00000000 " + d + " " + i + g + n);
        var junk = Arbitraries.strings().withChars("0123456789abcdefz:- /").ofMaxLength(60);
        return Arbitraries.oneOf(good, good, junk);
    }
}
