package io.unwedge.host.os;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;
import static java.lang.foreign.ValueLayout.JAVA_SHORT;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemoryLayout.PathElement;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.util.Optional;

/**
 * Socket calls, as far as unwedge needs them: netlink datagram sockets with credentials passing, and the
 * AF_UNIX stream socket the daemon takes udev's uevents on (listen, accept, connect, SO_PEERCRED).
 * Constants are the Linux uapi values (include/linux/socket.h, include/uapi/linux/netlink.h,
 * include/uapi/asm-generic/socket.h).
 */
public final class Sockets {

    public static final int AF_UNIX = 1;
    public static final int AF_NETLINK = 16;
    public static final int SOCK_STREAM = 1;
    public static final int SOCK_DGRAM = 2;
    public static final int SOCK_RAW = 3;
    public static final int SOCK_NONBLOCK = 0x800;     // O_NONBLOCK
    public static final int SOCK_CLOEXEC = 0x80000;    // O_CLOEXEC
    public static final int NETLINK_KOBJECT_UEVENT = 15;

    public static final int SOL_SOCKET = 1;
    public static final int SO_RCVBUF = 8;
    public static final int SO_PASSCRED = 16;
    public static final int SO_PEERCRED = 17;
    public static final int SO_RCVBUFFORCE = 33;
    public static final int SCM_CREDENTIALS = 2;

    public static final int MSG_CTRUNC = 0x08;
    public static final int MSG_TRUNC = 0x20;
    public static final int MSG_DONTWAIT = 0x40;
    public static final int MSG_NOSIGNAL = 0x4000;
    public static final int MSG_CMSG_CLOEXEC = 0x40000000;

    /** struct sockaddr_nl, netlink(7). */
    public static final StructLayout SOCKADDR_NL = MemoryLayout.structLayout(
            JAVA_SHORT.withName("nl_family"),
            JAVA_SHORT.withName("nl_pad"),
            JAVA_INT.withName("nl_pid"),
            JAVA_INT.withName("nl_groups")).withName("sockaddr_nl");
    private static final VarHandle NL_FAMILY = SOCKADDR_NL.varHandle(PathElement.groupElement("nl_family"));
    private static final VarHandle NL_PID = SOCKADDR_NL.varHandle(PathElement.groupElement("nl_pid"));
    private static final VarHandle NL_GROUPS = SOCKADDR_NL.varHandle(PathElement.groupElement("nl_groups"));

    /** struct iovec, readv(2). */
    private static final StructLayout IOVEC = MemoryLayout.structLayout(
            ADDRESS.withName("iov_base"),
            JAVA_LONG.withName("iov_len")).withName("iovec");
    private static final VarHandle IOV_BASE = IOVEC.varHandle(PathElement.groupElement("iov_base"));
    private static final VarHandle IOV_LEN = IOVEC.varHandle(PathElement.groupElement("iov_len"));

    /** struct msghdr, recvmsg(2). */
    private static final StructLayout MSGHDR = MemoryLayout.structLayout(
            ADDRESS.withName("msg_name"),
            JAVA_INT.withName("msg_namelen"),
            MemoryLayout.paddingLayout(4),
            ADDRESS.withName("msg_iov"),
            JAVA_LONG.withName("msg_iovlen"),
            ADDRESS.withName("msg_control"),
            JAVA_LONG.withName("msg_controllen"),
            JAVA_INT.withName("msg_flags"),
            MemoryLayout.paddingLayout(4)).withName("msghdr");
    private static final VarHandle MSG_NAME = MSGHDR.varHandle(PathElement.groupElement("msg_name"));
    private static final VarHandle MSG_NAMELEN = MSGHDR.varHandle(PathElement.groupElement("msg_namelen"));
    private static final VarHandle MSG_IOV = MSGHDR.varHandle(PathElement.groupElement("msg_iov"));
    private static final VarHandle MSG_IOVLEN = MSGHDR.varHandle(PathElement.groupElement("msg_iovlen"));
    private static final VarHandle MSG_CONTROL = MSGHDR.varHandle(PathElement.groupElement("msg_control"));
    private static final VarHandle MSG_CONTROLLEN = MSGHDR.varHandle(PathElement.groupElement("msg_controllen"));
    private static final VarHandle MSG_FLAGS = MSGHDR.varHandle(PathElement.groupElement("msg_flags"));

    /** struct cmsghdr, cmsg(3): the data follows at CMSG_ALIGN(sizeof(struct cmsghdr)) = 16. */
    private static final StructLayout CMSGHDR = MemoryLayout.structLayout(
            JAVA_LONG.withName("cmsg_len"),
            JAVA_INT.withName("cmsg_level"),
            JAVA_INT.withName("cmsg_type")).withName("cmsghdr");
    private static final VarHandle CMSG_LEN = CMSGHDR.varHandle(PathElement.groupElement("cmsg_len"));
    private static final VarHandle CMSG_LEVEL = CMSGHDR.varHandle(PathElement.groupElement("cmsg_level"));
    private static final VarHandle CMSG_TYPE = CMSGHDR.varHandle(PathElement.groupElement("cmsg_type"));

    /** struct ucred, unix(7): what SCM_CREDENTIALS carries. */
    private static final StructLayout UCRED = MemoryLayout.structLayout(
            JAVA_INT.withName("pid"),
            JAVA_INT.withName("uid"),
            JAVA_INT.withName("gid")).withName("ucred");
    private static final VarHandle UCRED_PID = UCRED.varHandle(PathElement.groupElement("pid"));
    private static final VarHandle UCRED_UID = UCRED.varHandle(PathElement.groupElement("uid"));
    private static final VarHandle UCRED_GID = UCRED.varHandle(PathElement.groupElement("gid"));

    /** struct sockaddr_un, unix(7): a family and 108 bytes of path. */
    private static final long SUN_PATH_MAX = 108;
    private static final long SOCKADDR_UN_SIZE = 2 + SUN_PATH_MAX;

    /** CMSG_SPACE(sizeof(struct ucred)): room for exactly the one control message we ask for. */
    private static final long CONTROL_SPACE = align(CMSGHDR.byteSize()) + align(UCRED.byteSize());

    private static final MethodHandle SOCKET = Libc.function("socket",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle BIND = Libc.function("bind",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKNAME = Libc.function("getsockname",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SETSOCKOPT = Libc.function("setsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle GETSOCKOPT = Libc.function("getsockopt",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT, JAVA_INT, ADDRESS, ADDRESS));
    private static final MethodHandle SENDTO = Libc.function("sendto",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle RECV = Libc.function("recv",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle RECVMSG = Libc.function("recvmsg",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle LISTEN = Libc.function("listen",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_INT));
    private static final MethodHandle ACCEPT4 = Libc.function("accept4",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, ADDRESS, JAVA_INT));
    private static final MethodHandle CONNECT = Libc.function("connect",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_INT));
    private static final MethodHandle SEND = Libc.function("send",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle GETEUID = Libc.function("geteuid", FunctionDescriptor.of(JAVA_INT));

    private Sockets() {}

    /** A netlink address: port id (0 is the kernel) and multicast group mask. */
    public record NetlinkAddress(int portId, int groups) {}

    /** SCM_CREDENTIALS as the kernel stamped them, translated into the receiver's namespaces. */
    public record Credentials(int pid, int uid, int gid) {}

    /**
     * One datagram: {@code length} bytes were stored in the caller's buffer; {@code flags} is msg_flags
     * (MSG_TRUNC: the datagram was longer than the buffer; MSG_CTRUNC: control data was cut).
     */
    public record Datagram(int length, int flags, Optional<NetlinkAddress> sender, Optional<Credentials> credentials) {
        public boolean truncated() {
            return (flags & MSG_TRUNC) != 0;
        }
    }

    /**
     * An AF_UNIX address, unix(7): a filesystem path, or a name in the abstract namespace (written
     * {@code @name}, as systemd writes {@code $NOTIFY_SOCKET}; on the wire a leading NUL and no terminator).
     */
    public record UnixAddress(String name, boolean isAbstract) {
        public UnixAddress {
            if (name.isEmpty()) throw new IllegalArgumentException("an empty AF_UNIX address");
            if (name.indexOf('\0') >= 0) throw new IllegalArgumentException("a NUL in an AF_UNIX address");
            // a path needs its terminating NUL; an abstract name its leading one
            if (name.getBytes(java.nio.charset.StandardCharsets.UTF_8).length + 1 > SUN_PATH_MAX) {
                throw new IllegalArgumentException("an AF_UNIX address longer than 107 bytes: " + name);
            }
        }

        /** {@code @name} is abstract, anything else a path. */
        public static UnixAddress parse(String s) {
            return s.startsWith("@") ? new UnixAddress(s.substring(1), true) : new UnixAddress(s, false);
        }

        @Override
        public String toString() {
            return isAbstract ? "@" + name : name;
        }
    }

    /** socket(2); {@code what} names it in messages, e.g. "NETLINK_KOBJECT_UEVENT". */
    public static Fd socket(int domain, int type, int protocol, String what) throws OsException {
        try (var arena = Arena.ofConfined()) {
            int fd = (int) Libc.retrying(arena, s -> (int) SOCKET.invokeExact(s, domain, type, protocol));
            if (fd < 0) throw new OsException("socket", what, -fd);
            return new Fd(fd, what);
        }
    }

    public static void setIntOption(Fd fd, int level, int option, int value) throws OsException {
        int n = fd.acquireOrThrow("setsockopt");
        try (var arena = Arena.ofConfined()) {
            var v = arena.allocateFrom(JAVA_INT, value);
            int r = (int) Libc.retrying(arena, s -> (int) SETSOCKOPT.invokeExact(s, n, level, option, v, (int) JAVA_INT.byteSize()));
            if (r < 0) throw new OsException("setsockopt", fd.what(), -r);
        } finally {
            fd.release();
        }
    }

    public static int intOption(Fd fd, int level, int option) throws OsException {
        int n = fd.acquireOrThrow("getsockopt");
        try (var arena = Arena.ofConfined()) {
            var v = arena.allocate(JAVA_INT);
            var len = arena.allocateFrom(JAVA_INT, (int) JAVA_INT.byteSize());
            int r = (int) Libc.retrying(arena, s -> (int) GETSOCKOPT.invokeExact(s, n, level, option, v, len));
            if (r < 0) throw new OsException("getsockopt", fd.what(), -r);
            return v.get(JAVA_INT, 0);
        } finally {
            fd.release();
        }
    }

    /** bind(2) to a netlink address; port id 0 lets the kernel pick one. */
    public static void bind(Fd fd, NetlinkAddress address) throws OsException {
        int n = fd.acquireOrThrow("bind");
        try (var arena = Arena.ofConfined()) {
            var sa = netlinkAddress(arena, address);
            int r = (int) Libc.retrying(arena, s -> (int) BIND.invokeExact(s, n, sa, (int) SOCKADDR_NL.byteSize()));
            if (r < 0) throw new OsException("bind", fd.what(), -r);
        } finally {
            fd.release();
        }
    }

    /** getsockname(2): the port id the kernel assigned and the groups joined at bind time. */
    public static NetlinkAddress localAddress(Fd fd) throws OsException {
        int n = fd.acquireOrThrow("getsockname");
        try (var arena = Arena.ofConfined()) {
            var sa = arena.allocate(SOCKADDR_NL);
            var len = arena.allocateFrom(JAVA_INT, (int) SOCKADDR_NL.byteSize());
            int r = (int) Libc.retrying(arena, s -> (int) GETSOCKNAME.invokeExact(s, n, sa, len));
            if (r < 0) throw new OsException("getsockname", fd.what(), -r);
            return new NetlinkAddress((int) NL_PID.get(sa, 0L), (int) NL_GROUPS.get(sa, 0L));
        } finally {
            fd.release();
        }
    }

    /** sendto(2) one datagram to a netlink address; the bytes sent. */
    public static long sendto(Fd fd, MemorySegment data, NetlinkAddress to) throws OsException {
        int n = fd.acquireOrThrow("sendto");
        try (var arena = Arena.ofConfined()) {
            var sa = netlinkAddress(arena, to);
            long r = Libc.retrying(arena, s -> (long) SENDTO.invokeExact(s, n, data, data.byteSize(), 0, sa, (int) SOCKADDR_NL.byteSize()));
            if (r < 0) throw new OsException("sendto", fd.what(), (int) -r);
            return r;
        } finally {
            fd.release();
        }
    }

    /** bind(2) to an AF_UNIX address. */
    public static void bind(Fd fd, UnixAddress address) throws OsException {
        int n = fd.acquireOrThrow("bind");
        try (var arena = Arena.ofConfined()) {
            var sa = arena.allocate(SOCKADDR_UN_SIZE, 2);
            int len = unixAddress(sa, address);
            int r = (int) Libc.retrying(arena, s -> (int) BIND.invokeExact(s, n, sa, len));
            if (r < 0) throw new OsException("bind", fd.what() + " " + address, -r);
        } finally {
            fd.release();
        }
    }

    /** sendto(2) one datagram to an AF_UNIX address; the bytes sent. */
    public static long sendto(Fd fd, MemorySegment data, UnixAddress to) throws OsException {
        int n = fd.acquireOrThrow("sendto");
        try (var arena = Arena.ofConfined()) {
            var sa = arena.allocate(SOCKADDR_UN_SIZE, 2);
            int len = unixAddress(sa, to);
            long r = Libc.retrying(arena, s -> (long) SENDTO.invokeExact(s, n, data, data.byteSize(), 0, sa, len));
            if (r < 0) throw new OsException("sendto", fd.what() + " " + to, (int) -r);
            return r;
        } finally {
            fd.release();
        }
    }

    /** recv(2) of one datagram into {@code buffer}: its length, or empty when nothing is queued (EAGAIN). */
    public static java.util.OptionalLong recv(Fd fd, MemorySegment buffer, int flags) throws OsException {
        int n = fd.acquireOrThrow("recv");
        try (var arena = Arena.ofConfined()) {
            long r = Libc.retrying(arena, s -> (long) RECV.invokeExact(s, n, buffer, buffer.byteSize(), flags));
            if (r == -Errno.EAGAIN) return java.util.OptionalLong.empty();
            if (r < 0) throw new OsException("recv", fd.what(), (int) -r);
            return java.util.OptionalLong.of(r);
        } finally {
            fd.release();
        }
    }

    /** listen(2) on a bound stream or sequenced-packet socket. */
    public static void listen(Fd fd, int backlog) throws OsException {
        int n = fd.acquireOrThrow("listen");
        try (var arena = Arena.ofConfined()) {
            int r = (int) Libc.retrying(arena, s -> (int) LISTEN.invokeExact(s, n, backlog));
            if (r < 0) throw new OsException("listen", fd.what(), -r);
        } finally {
            fd.release();
        }
    }

    /**
     * accept4(2) of one connection, with {@code flags} (SOCK_CLOEXEC, SOCK_NONBLOCK); empty when none is
     * waiting (EAGAIN) or it was aborted before we took it (ECONNABORTED): both mean "wait again".
     */
    public static Optional<Fd> accept(Fd fd, int flags, String what) throws OsException {
        int n = fd.acquireOrThrow("accept4");
        try (var arena = Arena.ofConfined()) {
            int r = (int) Libc.retrying(arena, s -> (int) ACCEPT4.invokeExact(s, n, MemorySegment.NULL, MemorySegment.NULL, flags));
            if (r == -Errno.EAGAIN || r == -Errno.ECONNABORTED) return Optional.empty();
            if (r < 0) throw new OsException("accept4", fd.what(), -r);
            return Optional.of(new Fd(r, what));
        } finally {
            fd.release();
        }
    }

    /**
     * connect(2) to an AF_UNIX address. ENOENT (no such file) and ECONNREFUSED (nobody listening) are
     * thrown like any errno: for a caller looking for a daemon they are the ordinary "not running".
     */
    public static void connect(Fd fd, UnixAddress to) throws OsException {
        int n = fd.acquireOrThrow("connect");
        try (var arena = Arena.ofConfined()) {
            var sa = arena.allocate(SOCKADDR_UN_SIZE, 2);
            int len = unixAddress(sa, to);
            int r = (int) Libc.retrying(arena, s -> (int) CONNECT.invokeExact(s, n, sa, len));
            if (r < 0) throw new OsException("connect", fd.what() + " " + to, -r);
        } finally {
            fd.release();
        }
    }

    /** send(2) one message on a connected socket; the bytes sent. EAGAIN is thrown (a send timeout). */
    public static long send(Fd fd, MemorySegment data, int flags) throws OsException {
        int n = fd.acquireOrThrow("send");
        try (var arena = Arena.ofConfined()) {
            long r = Libc.retrying(arena, s -> (long) SEND.invokeExact(s, n, data, data.byteSize(), flags));
            if (r < 0) throw new OsException("send", fd.what(), (int) -r);
            return r;
        } finally {
            fd.release();
        }
    }

    /**
     * SO_PEERCRED of a connected AF_UNIX socket (unix(7)): who called connect(2), as the kernel recorded
     * it then, in this process's namespaces. Nothing the peer sends can change it.
     */
    public static Credentials peerCredentials(Fd fd) throws OsException {
        int n = fd.acquireOrThrow("getsockopt");
        try (var arena = Arena.ofConfined()) {
            var u = arena.allocate(UCRED);
            var len = arena.allocateFrom(JAVA_INT, (int) UCRED.byteSize());
            int r = (int) Libc.retrying(arena, s -> (int) GETSOCKOPT.invokeExact(s, n, SOL_SOCKET, SO_PEERCRED, u, len));
            if (r < 0) throw new OsException("getsockopt", fd.what() + " SO_PEERCRED", -r);
            return new Credentials((int) UCRED_PID.get(u, 0L), (int) UCRED_UID.get(u, 0L), (int) UCRED_GID.get(u, 0L));
        } finally {
            fd.release();
        }
    }

    /** geteuid(2): the uid a peer's SO_PEERCRED is compared with ("the daemon's own"). */
    public static int effectiveUid() {
        try (var arena = Arena.ofConfined()) {
            return (int) Libc.retrying(arena, s -> (int) GETEUID.invokeExact(s));
        }
    }

    /** Fills a zeroed sockaddr_un; the length to pass (systemd's sockaddr_un_len: no NUL counted for an abstract name). */
    private static int unixAddress(MemorySegment sa, UnixAddress address) {
        byte[] name = address.name().getBytes(java.nio.charset.StandardCharsets.UTF_8);
        sa.set(JAVA_SHORT, 0, (short) AF_UNIX);
        long at = address.isAbstract() ? 3 : 2; // the abstract name follows its leading NUL
        MemorySegment.copy(name, 0, sa, java.lang.foreign.ValueLayout.JAVA_BYTE, at, name.length);
        return address.isAbstract() ? 3 + name.length : 2 + name.length + 1;
    }

    /**
     * recvmsg(2) of one netlink datagram into {@code buffer}, with its sender address and SCM_CREDENTIALS.
     * Empty when nothing is queued (EAGAIN); every other errno, ENOBUFS included, is thrown.
     */
    public static Optional<Datagram> recvmsg(Fd fd, MemorySegment buffer, int flags) throws OsException {
        int n = fd.acquireOrThrow("recvmsg");
        try (var arena = Arena.ofConfined()) {
            var name = arena.allocate(SOCKADDR_NL);
            var control = arena.allocate(CONTROL_SPACE, 8);
            var iov = arena.allocate(IOVEC);
            IOV_BASE.set(iov, 0L, buffer);
            IOV_LEN.set(iov, 0L, buffer.byteSize());
            var msg = arena.allocate(MSGHDR);
            MSG_NAME.set(msg, 0L, name);
            MSG_NAMELEN.set(msg, 0L, (int) SOCKADDR_NL.byteSize());
            MSG_IOV.set(msg, 0L, iov);
            MSG_IOVLEN.set(msg, 0L, 1L);
            MSG_CONTROL.set(msg, 0L, control);
            MSG_CONTROLLEN.set(msg, 0L, CONTROL_SPACE);

            long r = Libc.retrying(arena, s -> (long) RECVMSG.invokeExact(s, n, msg, flags | MSG_CMSG_CLOEXEC));
            if (r == -Errno.EAGAIN) return Optional.empty();
            if (r < 0) throw new OsException("recvmsg", fd.what(), (int) -r);

            int namelen = (int) MSG_NAMELEN.get(msg, 0L);
            Optional<NetlinkAddress> sender = namelen >= SOCKADDR_NL.byteSize()
                    && (short) NL_FAMILY.get(name, 0L) == AF_NETLINK
                    ? Optional.of(new NetlinkAddress((int) NL_PID.get(name, 0L), (int) NL_GROUPS.get(name, 0L)))
                    : Optional.empty();
            var credentials = credentials(control, (long) MSG_CONTROLLEN.get(msg, 0L));
            return Optional.of(new Datagram((int) Math.min(r, buffer.byteSize()), (int) MSG_FLAGS.get(msg, 0L), sender, credentials));
        } finally {
            fd.release();
        }
    }

    /** Walks the control messages (CMSG_FIRSTHDR/CMSG_NXTHDR) looking for SCM_CREDENTIALS. */
    private static Optional<Credentials> credentials(MemorySegment control, long controllen) {
        long header = align(CMSGHDR.byteSize());
        for (long off = 0; off + CMSGHDR.byteSize() <= controllen; ) {
            var c = control.asSlice(off);
            long len = (long) CMSG_LEN.get(c, 0L);
            if (len < CMSGHDR.byteSize() || off + len > controllen) break;
            if ((int) CMSG_LEVEL.get(c, 0L) == SOL_SOCKET && (int) CMSG_TYPE.get(c, 0L) == SCM_CREDENTIALS
                    && len >= header + UCRED.byteSize()) {
                var u = c.asSlice(header, UCRED.byteSize());
                return Optional.of(new Credentials((int) UCRED_PID.get(u, 0L), (int) UCRED_UID.get(u, 0L), (int) UCRED_GID.get(u, 0L)));
            }
            off += align(len);
        }
        return Optional.empty();
    }

    private static MemorySegment netlinkAddress(Arena arena, NetlinkAddress address) {
        var sa = arena.allocate(SOCKADDR_NL);
        NL_FAMILY.set(sa, 0L, (short) AF_NETLINK);
        NL_PID.set(sa, 0L, address.portId());
        NL_GROUPS.set(sa, 0L, address.groups());
        return sa;
    }

    /** CMSG_ALIGN: control messages are aligned to sizeof(size_t). */
    private static long align(long n) {
        return (n + 7) & ~7L;
    }
}
