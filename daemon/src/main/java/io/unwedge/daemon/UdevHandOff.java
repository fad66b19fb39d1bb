package io.unwedge.daemon;

import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.UeventSocket;
import io.unwedge.host.netlink.UeventSocket.Reply;
import io.unwedge.host.netlink.UeventSocket.Verdict;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Sockets;
import java.util.Objects;

/**
 * udev's copies of uevents, from the daemon's socket to the supervisor ({@code unwedge handle-uevent} sends
 * them from a {@code RUN} rule): each is delivered as the kernel's are, so the same wedge heard both ways is
 * taken once, and the peer is told what became of it.
 */
public final class UdevHandOff implements UeventSocket.Handler {

    private final Supervisor supervisor;
    private final EventLog log;

    public UdevHandOff(Supervisor supervisor, EventLog log) {
        this.supervisor = Objects.requireNonNull(supervisor);
        this.log = Objects.requireNonNull(log);
    }

    /**
     * Serves {@code socket} on a platform thread of its own (it blocks in poll(2)) until the socket is closed.
     * A failure of the socket itself is logged: the kernel's events are still heard.
     */
    public static Thread serve(UeventSocket socket, Supervisor supervisor, EventLog log) {
        var handOff = new UdevHandOff(supervisor, log);
        log.info("uevent-socket-listening", "path", socket.path(), "udev's copies of uevents are taken here (unwedge handle-uevent)");
        return Thread.ofPlatform().name("uevent-socket").daemon(true).start(() -> {
            try {
                socket.serve(handOff);
            } catch (OsException e) {
                // closed and its file removed: `unwedge handle-uevent` then finds no daemon and acts by itself,
                // where a socket left open would queue its peers and answer none
                socket.close();
                log.error("uevent-socket-failed", "path", socket.path(), "error", e.getMessage(),
                        "closed: udev's copies are no longer taken (handle-uevent acts by itself); the kernel's events still are");
            }
        });
    }

    @Override
    public Reply received(Delivery.Received received, Sockets.Credentials peer) {
        var event = received.event();
        var d = supervisor.deliver(received);
        log.info("uevent-handed-over", "pid", peer.pid(), "uid", Integer.toUnsignedString(peer.uid()), "action", event.action(),
                "devpath", event.devpath(), "seqnum", event.get("SEQNUM"), "outcome", d.outcome().name().toLowerCase(java.util.Locale.ROOT));
        var verdict = switch (d.outcome()) {
            case TAKEN -> Verdict.ACCEPTED;
            case DUPLICATE, NOT_WEDGED -> Verdict.IGNORED;
            case STOPPING -> Verdict.REFUSED;
            case DROPPED -> Verdict.MALFORMED;
        };
        return new Reply(verdict, d.detail());
    }

    @Override
    public void dropped(Delivery.Dropped dropped, Sockets.Credentials peer) {
        supervisor.deliver(dropped); // counted and logged as a dropped netlink message is
    }
}
