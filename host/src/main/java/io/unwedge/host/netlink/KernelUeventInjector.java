package io.unwedge.host.netlink;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.os.Fd;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Sockets;
import io.unwedge.host.os.Sockets.NetlinkAddress;
import java.io.IOException;
import java.lang.foreign.Arena;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.VarHandle;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Makes the kernel broadcast a uevent, for tests and the simulator.
 *
 * <p>Since v4.18 ("netns: send uevent messages", Christian Brauner) the kernel's uevent socket accepts a
 * netlink request whose payload is uevent text from a sender with CAP_SYS_ADMIN over the network
 * namespace. lib/kobject_uevent.c {@code uevent_net_rcv_skb()} appends {@code SEQNUM=} from the global
 * counter, strips the netlink header and broadcasts the rest to group 1 of the <em>sender's</em> network
 * namespace with port id 0 — exactly what a real event looks like to a listener there. Run it inside a
 * {@link PrivateNetns} so no real udevd sees the events.
 *
 * <p>The kernel handles the request synchronously inside sendto(2): when send() returns the event is
 * already queued on every listener. A refusal is not a sendto error but an NLMSG_ERROR message queued
 * on this socket, which send() reads back at once.
 */
public final class KernelUeventInjector implements UeventSink, AutoCloseable {

    /** struct nlmsghdr, netlink(7). */
    private static final StructLayout NLMSGHDR = MemoryLayout.structLayout(
            JAVA_INT.withName("nlmsg_len"),
            JAVA_SHORT.withName("nlmsg_type"),
            JAVA_SHORT.withName("nlmsg_flags"),
            JAVA_INT.withName("nlmsg_seq"),
            JAVA_INT.withName("nlmsg_pid")).withName("nlmsghdr");
    private static final VarHandle NLMSG_LEN = NLMSGHDR.varHandle(PathElement.groupElement("nlmsg_len"));
    private static final VarHandle NLMSG_TYPE = NLMSGHDR.varHandle(PathElement.groupElement("nlmsg_type"));
    private static final VarHandle NLMSG_FLAGS = NLMSGHDR.varHandle(PathElement.groupElement("nlmsg_flags"));
    private static final VarHandle NLMSG_SEQ = NLMSGHDR.varHandle(PathElement.groupElement("nlmsg_seq"));
    private static final VarHandle NLMSG_PID = NLMSGHDR.varHandle(PathElement.groupElement("nlmsg_pid"));

    /** NLMSG_MIN_TYPE: lower types are netlink control messages, which netlink_rcv_skb() skips. */
    private static final short UEVENT_TYPE = 0x10;
    private static final short NLM_F_REQUEST = 0x1;
    private static final short NLMSG_ERROR = 0x2;

    private static final NetlinkAddress KERNEL = new NetlinkAddress(0, 0);

    private final Fd socket;
    private final AtomicInteger seq = new AtomicInteger();

    private KernelUeventInjector(Fd socket) {
        this.socket = socket;
    }

    public static KernelUeventInjector open() throws OsException {
        // Blocking, no groups: it must not hear its own broadcasts, only the kernel's answers.
        var socket = Sockets.socket(Sockets.AF_NETLINK, Sockets.SOCK_RAW | Sockets.SOCK_CLOEXEC,
                Sockets.NETLINK_KOBJECT_UEVENT, "NETLINK_KOBJECT_UEVENT injector");
        return new KernelUeventInjector(socket);
    }

    @Override
    public void send(Uevent event) throws IOException {
        if (event.seqnum().isPresent()) {
            throw new IllegalArgumentException("SEQNUM is the kernel's to append: " + event);
        }
        byte[] payload = UeventCodec.encode(event);
        int seq = this.seq.incrementAndGet();
        try (var arena = Arena.ofConfined()) {
            // No padding after the payload: the kernel broadcasts the skb as sent, minus the header,
            // so alignment bytes would land between the last field and SEQNUM.
            var message = arena.allocate(NLMSGHDR.byteSize() + payload.length, 4);
            NLMSG_LEN.set(message, 0L, (int) message.byteSize());
            NLMSG_TYPE.set(message, 0L, UEVENT_TYPE);
            NLMSG_FLAGS.set(message, 0L, NLM_F_REQUEST);
            NLMSG_SEQ.set(message, 0L, seq);
            NLMSG_PID.set(message, 0L, 0);
            MemorySegment.copy(payload, 0, message, JAVA_BYTE, NLMSGHDR.byteSize(), payload.length);
            Sockets.sendto(socket, message, KERNEL);
        }
        checkRefusal(seq);
    }

    /**
     * netlink_rcv_skb() answers a failed request with NLMSG_ERROR (e.g. -EPERM without CAP_SYS_ADMIN,
     * -EINVAL when the event plus SEQNUM exceeds UEVENT_BUFFER_SIZE) and a successful one, without
     * NLM_F_ACK, with nothing. It runs inside our sendto, so the answer is already queued or never comes.
     */
    private void checkRefusal(int seq) throws OsException {
        try (var arena = Arena.ofConfined()) {
            var buffer = arena.allocate(1024, 8);
            for (;;) {
                var got = Sockets.recvmsg(socket, buffer, Sockets.MSG_DONTWAIT);
                if (got.isEmpty()) return;
                var d = got.get();
                if (d.length() < NLMSGHDR.byteSize() + JAVA_INT.byteSize()) continue;
                if ((short) NLMSG_TYPE.get(buffer, 0L) != NLMSG_ERROR || (int) NLMSG_SEQ.get(buffer, 0L) != seq) continue;
                int error = buffer.get(JAVA_INT, NLMSGHDR.byteSize());  // struct nlmsgerr.error, -errno
                if (error != 0) throw new OsException("sendto", socket.what(), -error);
            }
        }
    }

    /** Idempotent. */
    @Override
    public void close() {
        socket.close();
    }
}
