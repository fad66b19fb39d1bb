package io.unwedge.daemon.journal;

import java.util.List;

/** A recovery and its steps, in the order they ran. */
public record RecoveryDetail(RecoveryRow recovery, List<StepRow> steps) {
    public RecoveryDetail {
        steps = List.copyOf(steps);
    }
}
