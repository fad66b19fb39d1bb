package io.unwedge.daemon;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import java.util.Optional;

/** What a device actor's mailbox carries. */
sealed interface ActorMessage {
    /**
     * the device was declared wedged; {@code receivedNanos} is when the kernel's message was read; with
     * {@code continues}, the wedge's recovery goes on up the ladder from an attempt a restart ended
     */
    record Wedge(WedgedEvent event, long receivedNanos, Optional<Continues> continues) implements ActorMessage {
        Wedge(WedgedEvent event, long receivedNanos) {
            this(event, receivedNanos, Optional.empty());
        }
    }

    /**
     * An attempt a restart found failed: {@code recovery}, the attempt of {@code method} for the wedge journaled
     * as {@code eventId} (a resumed one that wedged again while settling, one whose step had failed, or the one an
     * untouched escalation followed). What follows is its escalation, as a running daemon's: the next method,
     * journaled as escalated from {@code recovery}.
     */
    record Continues(long recovery, long eventId, RecoveryMethod method) {}

    /** any other uevent about the device (remove, unbind, add, bind): a reason to look at sysfs again */
    record Observed(Uevent event) implements ActorMessage {}

    /** events may have been lost: look at sysfs again */
    record Resync() implements ActorMessage {}

    /** the journal holds a recovery of this device the daemon never ended (it died): reconcile it with sysfs */
    record Resume(io.unwedge.daemon.journal.RecoveryRow recovery) implements ActorMessage {}

    /** finish what you are doing, then end */
    record Stop() implements ActorMessage {}
}
