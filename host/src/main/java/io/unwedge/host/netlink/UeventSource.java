package io.unwedge.host.netlink;

import java.io.IOException;

/** A stream of kernel uevents. */
public interface UeventSource extends AutoCloseable {

    /**
     * Blocks until something happens. After {@link #close()}, from any thread, returns
     * {@link Delivery.Closed} (a blocked receive is woken).
     */
    Delivery receive() throws IOException;

    /** Idempotent; never throws. */
    @Override
    void close();
}
