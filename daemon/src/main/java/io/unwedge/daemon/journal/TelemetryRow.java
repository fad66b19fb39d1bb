package io.unwedge.daemon.journal;

import io.unwedge.core.PciAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * What was collected about one wedge ({@link Journal#recordTelemetry}): the task the driver named, its
 * executable when it could be read, and the devcoredumps saved. A row with a task is an offence of that task.
 *
 * @param devcoredumps the files the dumps were saved to (also for rows journaled before schema v5)
 * @param dumps        each dump saved, with its size and hash; empty for rows journaled before schema v5
 * @param bytes        their total size
 * @param note         what else was seen (a dump that vanished, one not freed, …); may be empty
 */
public record TelemetryRow(long id, long eventId, Instant at, PciAddress bdf, String card, Optional<Integer> pid,
                           Optional<String> task, Optional<String> exe, List<Path> devcoredumps, List<Devcoredump> dumps, long bytes,
                           String note) {

    public TelemetryRow {
        Objects.requireNonNull(at);
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(card);
        devcoredumps = List.copyOf(devcoredumps);
        dumps = List.copyOf(dumps);
        Objects.requireNonNull(note);
    }

    private static final Pattern SHA256 = Pattern.compile("[0-9a-f]{64}");

    /**
     * One devcoredump as saved: the copy, its size, the SHA-256 (lower-case hex) of exactly those bytes, and
     * whether it was cut at the size limit. The hash lets a copy handed on later be checked against the journal.
     */
    public record Devcoredump(Path file, long bytes, String sha256, boolean truncated) {
        public Devcoredump {
            Objects.requireNonNull(file, "file");
            Objects.requireNonNull(sha256, "sha256");
            String name = file.toString();
            // the telemetry row keeps the files one per line: a name with a line break would read back as two
            if (name.indexOf('\n') >= 0 || name.indexOf('\r') >= 0) {
                throw new IllegalArgumentException("a devcoredump file name with a line break: " + name.replace("\n", "\\n").replace("\r", "\\r"));
            }
            if (bytes < 0) throw new IllegalArgumentException("a devcoredump's bytes must not be negative: " + bytes + " (" + file + ")");
            if (!SHA256.matcher(sha256).matches()) {
                throw new IllegalArgumentException("a devcoredump's sha256 is 64 lower-case hex digits, not '" + sha256 + "' (" + file + ")");
            }
        }
    }
}
