package io.unwedge.host.netlink;

import io.unwedge.core.Uevent;
import java.util.Objects;

/** What one {@link UeventSource#receive()} gives. */
public sealed interface Delivery {

    /** A trusted kernel uevent; {@code nanoTime} is System.nanoTime() taken as recvmsg returned. */
    record Received(Uevent event, long nanoTime) implements Delivery {
        public Received {
            Objects.requireNonNull(event, "event");
        }
    }

    /** A message that was read and thrown away, and why. Counted, never fatal. */
    record Dropped(Kind kind, String detail) implements Delivery {
        public Dropped {
            Objects.requireNonNull(kind, "kind");
            Objects.requireNonNull(detail, "detail");
        }
    }

    enum Kind {
        /** Not from the kernel: sender port != 0, or no or non-root credentials. */
        SPOOFED,
        /** From the kernel, but UeventCodec rejected it. */
        MALFORMED,
        /** Longer than the receive buffer (MSG_TRUNC). */
        TRUNCATED
    }

    /** The kernel dropped messages for this socket (recv said ENOBUFS): the consumer must resync from sysfs. */
    record Overflow() implements Delivery {}

    /** The source was closed; every later receive says so again. */
    record Closed() implements Delivery {}
}
