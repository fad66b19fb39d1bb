package io.unwedge.host.netlink;

import static java.lang.foreign.ValueLayout.JAVA_BYTE;

import io.unwedge.core.Rejected;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.netlink.Delivery.Closed;
import io.unwedge.host.netlink.Delivery.Dropped;
import io.unwedge.host.netlink.Delivery.Kind;
import io.unwedge.host.netlink.Delivery.Overflow;
import io.unwedge.host.netlink.Delivery.Received;
import io.unwedge.host.os.Errno;
import io.unwedge.host.os.Fd;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Sockets;
import io.unwedge.host.os.Sockets.Datagram;
import io.unwedge.host.os.Sockets.NetlinkAddress;
import io.unwedge.host.os.Wakeup;
import java.lang.System.Logger.Level;
import java.lang.foreign.Arena;
import java.util.concurrent.atomic.LongAdder;

/**
 * Kernel uevents from a NETLINK_KOBJECT_UEVENT socket bound to multicast group 1, the raw kernel
 * broadcast (group 2 is udevd's rebroadcast, which we do not trust or need).
 *
 * <h2>Trust</h2>
 * Any process may unicast to this socket, and a root process may even send to the group. Like systemd's
 * sd-device monitor (src/libsystemd/sd-device/device-monitor.c) a message is accepted only if the kernel
 * sent it: sender port 0 and SCM_CREDENTIALS with uid 0. See {@link #verify}.
 *
 * <h2>Overflow</h2>
 * The kernel drops broadcasts for a full receive queue silently and reports ENOBUFS once, on the next
 * recvmsg; until the queue has been read empty it drops everything else too. The consumer sees
 * {@link Overflow} and must re-discover state from sysfs.
 *
 * <h2>Threads</h2>
 * receive() blocks in poll(2) on the socket and an eventfd; close() from any thread wakes it. receive()
 * blocks a carrier thread in native code, so call it from a platform thread.
 */
public final class NetlinkUeventSource implements UeventSource {

    private static final System.Logger LOG = System.getLogger(NetlinkUeventSource.class.getName());

    /** The multicast group the kernel broadcasts uevents to (lib/kobject_uevent.c). */
    static final int KERNEL_GROUP = 1;

    /** Big enough for a boot-time coldplug storm or a burst of hotplug (udevd uses 128 MiB). */
    public static final int DEFAULT_RECEIVE_BUFFER = 8 * 1024 * 1024;

    private final Fd socket;
    private final Wakeup wakeup;
    private final int portId;
    private final int receiveBufferBytes;
    private final boolean forcedBuffer;

    private final LongAdder received = new LongAdder();
    private final LongAdder spoofed = new LongAdder();
    private final LongAdder malformed = new LongAdder();
    private final LongAdder truncated = new LongAdder();
    private final LongAdder overflows = new LongAdder();

    private NetlinkUeventSource(Fd socket, Wakeup wakeup, int portId, int receiveBufferBytes, boolean forcedBuffer) {
        this.socket = socket;
        this.wakeup = wakeup;
        this.portId = portId;
        this.receiveBufferBytes = receiveBufferBytes;
        this.forcedBuffer = forcedBuffer;
    }

    public static NetlinkUeventSource open() throws OsException {
        return open(DEFAULT_RECEIVE_BUFFER);
    }

    /**
     * Opens and binds the socket. {@code receiveBufferBytes} is what is asked of SO_RCVBUFFORCE (the kernel
     * doubles it for bookkeeping); without CAP_NET_ADMIN it falls back to SO_RCVBUF, capped by
     * net.core.rmem_max.
     */
    public static NetlinkUeventSource open(int receiveBufferBytes) throws OsException {
        if (receiveBufferBytes <= 0) throw new IllegalArgumentException("receive buffer " + receiveBufferBytes);
        // Everything is set up on locals; they are handed to the object only once all of it worked.
        var socket = Sockets.socket(Sockets.AF_NETLINK,
                Sockets.SOCK_RAW | Sockets.SOCK_CLOEXEC | Sockets.SOCK_NONBLOCK,
                Sockets.NETLINK_KOBJECT_UEVENT, "NETLINK_KOBJECT_UEVENT");
        Wakeup wakeup = null;
        try {
            boolean forced = true;
            try {
                Sockets.setIntOption(socket, Sockets.SOL_SOCKET, Sockets.SO_RCVBUFFORCE, receiveBufferBytes);
            } catch (OsException e) {
                if (e.errno() != Errno.EPERM) throw e;
                forced = false;
                Sockets.setIntOption(socket, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF, receiveBufferBytes);
            }
            // Before bind, as systemd does: no window in which the socket hears the group but asks for no credentials.
            Sockets.setIntOption(socket, Sockets.SOL_SOCKET, Sockets.SO_PASSCRED, 1);
            Sockets.bind(socket, new NetlinkAddress(0, KERNEL_GROUP));
            int port = Sockets.localAddress(socket).portId();
            int actual = Sockets.intOption(socket, Sockets.SOL_SOCKET, Sockets.SO_RCVBUF);
            wakeup = Wakeup.open();
            var source = new NetlinkUeventSource(socket, wakeup, port, actual, forced);
            socket = null;
            wakeup = null;
            return source;
        } finally {
            if (wakeup != null) wakeup.close();
            if (socket != null) socket.close();
        }
    }

    @Override
    public Delivery receive() throws OsException {
        try (var arena = Arena.ofConfined()) {
            var buffer = arena.allocate(UeventCodec.MAX_SIZE);
            for (;;) {
                if (!wakeup.await(socket)) return new Closed();
                Datagram datagram;
                try {
                    var got = Sockets.recvmsg(socket, buffer, 0);
                    if (got.isEmpty()) continue;  // readable, but someone else took it
                    datagram = got.get();
                } catch (OsException e) {
                    if (e.errno() == Errno.ENOBUFS) {
                        overflows.increment();
                        LOG.log(Level.DEBUG, "uevent receive queue overflowed, events were lost");
                        return new Overflow();
                    }
                    if (wakeup.isWoken()) return new Closed();  // closed under us: EBADF
                    throw e;
                }
                long now = System.nanoTime();
                return verify(datagram, buffer.asSlice(0, datagram.length()).toArray(JAVA_BYTE), now);
            }
        }
    }

    /**
     * The trust checks, cheapest first, each an early return. A rejected message is counted and
     * dropped; nothing a sender does can make receive() fail.
     */
    private Delivery verify(Datagram datagram, byte[] payload, long now) {
        if (datagram.truncated()) {
            return drop(truncated, Kind.TRUNCATED, "message longer than " + UeventCodec.MAX_SIZE + " bytes");
        }
        if (datagram.sender().isEmpty()) {
            return drop(spoofed, Kind.SPOOFED, "no sender address");
        }
        // CVE-2009-1185: udev acted on a message a local user unicast to its socket. Only the kernel
        // has port id 0; a user socket, root's included, always has a non-zero one.
        int port = datagram.sender().get().portId();
        if (port != 0) {
            return drop(spoofed, Kind.SPOOFED, "sender port " + Integer.toUnsignedString(port) + " is not the kernel");
        }
        // Port 0 cannot be forged from user space, but keep systemd's second line: the kernel's
        // messages always carry root credentials (SO_PASSCRED was set before bind).
        if (datagram.credentials().isEmpty()) {
            return drop(spoofed, Kind.SPOOFED, "no SCM_CREDENTIALS");
        }
        int uid = datagram.credentials().get().uid();
        if (uid != 0) {
            return drop(spoofed, Kind.SPOOFED, "sender uid " + Integer.toUnsignedString(uid) + " is not root");
        }
        return switch (UeventCodec.decode(payload)) {
            case Rejected r -> drop(malformed, Kind.MALFORMED, r.toString());
            case Uevent event -> {
                received.increment();
                yield new Received(event, now);
            }
        };
    }

    private static Dropped drop(LongAdder counter, Kind kind, String detail) {
        counter.increment();
        LOG.log(Level.DEBUG, "uevent {0}: {1}, ignoring message.", kind, detail);
        return new Dropped(kind, detail);
    }

    public Counters counters() {
        return new Counters(received.sum(), spoofed.sum(), malformed.sum(), truncated.sum(), overflows.sum());
    }

    /** SO_RCVBUF as the kernel reports it (twice what was asked, for its skb bookkeeping). */
    public int receiveBufferBytes() {
        return receiveBufferBytes;
    }

    /** Whether SO_RCVBUFFORCE worked; false means SO_RCVBUF, capped by net.core.rmem_max. */
    public boolean forcedBuffer() {
        return forcedBuffer;
    }

    /** The port id the kernel assigned at bind: what a spoofer unicasts to. */
    int portId() {
        return portId;
    }

    /** Idempotent. A thread blocked in receive() wakes and gets {@link Closed}. */
    @Override
    public void close() {
        wakeup.wake();
        socket.close();
        wakeup.close();
    }

    @Override
    public String toString() {
        return "NetlinkUeventSource[port " + Integer.toUnsignedString(portId) + ", rcvbuf " + receiveBufferBytes + "]";
    }
}
