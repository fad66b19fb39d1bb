package io.unwedge.core;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

/**
 * The shared uevent test vectors ({@code shared/vectors/uevents}): {@code <name>.uevent} is the raw netlink
 * payload, {@code <name>.txt} the readable form ('#' comment lines, the header, then KEY=VALUE lines).
 * Found through {@code UNWEDGE_SHARED} (set by surefire), else {@code ../../shared} from the module directory.
 */
final class Vectors {

    private Vectors() {}

    static Path dir() {
        var env = System.getenv("UNWEDGE_SHARED");
        var shared = env != null && !env.isBlank() ? Path.of(env) : Path.of("../../shared");
        var dir = shared.resolve("vectors/uevents");
        if (!Files.isDirectory(dir)) throw new IllegalStateException("no uevent vectors at " + dir.toAbsolutePath() + " (set UNWEDGE_SHARED)");
        return dir;
    }

    /** Every vector's name (file name without {@code .uevent}), sorted; never empty. */
    static List<String> names() {
        try (Stream<Path> files = Files.list(dir())) {
            var names = files.map(p -> p.getFileName().toString())
                    .filter(n -> n.endsWith(".uevent"))
                    .map(n -> n.substring(0, n.length() - ".uevent".length()))
                    .sorted()
                    .toList();
            if (names.isEmpty()) throw new IllegalStateException("no *.uevent in " + dir());
            return names;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static byte[] bytes(String name) {
        try {
            return Files.readAllBytes(dir().resolve(name + ".uevent"));
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static List<byte[]> allBytes() {
        return names().stream().map(Vectors::bytes).toList();
    }

    static Uevent decoded(String name) {
        var d = UeventCodec.decode(bytes(name));
        assertThat(d).as(name).isInstanceOf(Uevent.class);
        return (Uevent) d;
    }

    /** The readable form: the header line and the fields in file order. */
    record Text(String header, List<Map.Entry<String, String>> fields) {}

    static Text text(String name) {
        try {
            var lines = Files.readAllLines(dir().resolve(name + ".txt")).stream()
                    .filter(l -> !l.startsWith("#"))
                    .toList();
            var fields = new ArrayList<Map.Entry<String, String>>();
            for (var l : lines.subList(1, lines.size())) {
                int eq = l.indexOf('=');
                if (eq <= 0) throw new IllegalStateException(name + ".txt: not a KEY=VALUE line: '" + l + "'");
                fields.add(Map.entry(l.substring(0, eq), l.substring(eq + 1)));
            }
            return new Text(lines.getFirst(), fields);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
