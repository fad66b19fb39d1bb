package io.unwedge.daemon;

import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;

/** What a device actor's mailbox carries. */
sealed interface ActorMessage {
    /** the device was declared wedged; {@code receivedNanos} is when the kernel's message was read */
    record Wedge(WedgedEvent event, long receivedNanos) implements ActorMessage {}

    /** any other uevent about the device (remove, unbind, add, bind): a reason to look at sysfs again */
    record Observed(Uevent event) implements ActorMessage {}

    /** events may have been lost: look at sysfs again */
    record Resync() implements ActorMessage {}

    /** the journal holds a recovery of this device the daemon never ended (it died): reconcile it with sysfs */
    record Resume(io.unwedge.daemon.journal.RecoveryRow recovery) implements ActorMessage {}

    /** finish what you are doing, then end */
    record Stop() implements ActorMessage {}
}
