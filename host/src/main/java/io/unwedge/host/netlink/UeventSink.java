package io.unwedge.host.netlink;

import io.unwedge.core.Uevent;
import java.io.IOException;

/** Where test and simulation code sends uevents as if the kernel had. */
public interface UeventSink {

    /**
     * Sends {@code event}, which must not carry SEQNUM: the transport appends it, as the kernel does.
     *
     * @throws IllegalArgumentException if the event already has SEQNUM
     */
    void send(Uevent event) throws IOException;
}
