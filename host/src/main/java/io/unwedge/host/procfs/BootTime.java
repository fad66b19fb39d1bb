package io.unwedge.host.procfs;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.util.Optional;

/** When the running kernel booted: {@code btime} of {@code /proc/stat}, seconds since the epoch on today's clock. */
public final class BootTime {

    private BootTime() {}

    /** Empty when {@code <proc>/stat} cannot be read or has no usable {@code btime} line (a fixture tree, say). */
    public static Optional<Instant> of(Path proc) {
        try (var lines = Files.lines(proc.resolve("stat"))) {
            return lines.filter(l -> l.startsWith("btime ")).findFirst().flatMap(BootTime::parse);
        } catch (IOException | java.io.UncheckedIOException e) {
            return Optional.empty();
        }
    }

    static Optional<Instant> parse(String line) {
        try {
            long s = Long.parseLong(line.substring("btime ".length()).strip());
            return s > 0 ? Optional.of(Instant.ofEpochSecond(s)) : Optional.empty();
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }
}
