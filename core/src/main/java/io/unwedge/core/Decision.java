package io.unwedge.core;

import java.util.List;

/** What unwedge decides to do about one wedge, with the reason, before it touches anything. */
public sealed interface Decision {

    String reason();

    /** Recover with {@code method} by running {@code steps} in order. */
    record Recover(RecoveryMethod method, List<Step> steps, String reason) implements Decision {
        public Recover {
            steps = List.copyOf(steps);
        }
    }

    /** Nothing to recover: the driver said so ({@code none}). */
    record NothingToDo(String reason) implements Decision {}

    /** A recovery is needed but unwedge will not run one; the device stays as it is and the reason is said. */
    record Refuse(String reason) implements Decision {}
}
