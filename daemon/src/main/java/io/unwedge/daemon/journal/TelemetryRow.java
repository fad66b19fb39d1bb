package io.unwedge.daemon.journal;

import io.unwedge.core.PciAddress;
import java.nio.file.Path;
import java.time.Instant;
import java.util.List;
import java.util.Objects;
import java.util.Optional;

/**
 * What was collected about one wedge ({@link Journal#recordTelemetry}): the task the driver named, its
 * executable when it could be read, and the devcoredumps saved. A row with a task is an offence of that task.
 *
 * @param devcoredumps the files the dumps were saved to
 * @param bytes        their total size
 * @param note         what else was seen (a dump that vanished, one not freed, …); may be empty
 */
public record TelemetryRow(long id, long eventId, Instant at, PciAddress bdf, String card, Optional<Integer> pid,
                           Optional<String> task, Optional<String> exe, List<Path> devcoredumps, long bytes, String note) {

    public TelemetryRow {
        Objects.requireNonNull(at);
        Objects.requireNonNull(bdf);
        Objects.requireNonNull(card);
        devcoredumps = List.copyOf(devcoredumps);
        Objects.requireNonNull(note);
    }
}
