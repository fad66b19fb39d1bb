package io.unwedge.host.netlink;

import static io.unwedge.host.netlink.Netns.nextOwn;
import static io.unwedge.host.netlink.Netns.testEvent;
import static io.unwedge.host.netlink.Netns.within;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.host.netlink.Delivery.Closed;
import io.unwedge.host.netlink.Delivery.Dropped;
import io.unwedge.host.netlink.Delivery.Kind;
import io.unwedge.host.netlink.Delivery.Overflow;
import io.unwedge.host.netlink.Delivery.Received;
import io.unwedge.host.os.Fd;
import io.unwedge.host.os.Sockets;
import io.unwedge.host.os.Sockets.NetlinkAddress;
import java.lang.foreign.Arena;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The real kernel: a listener and an injector in a private network namespace. */
class NetlinkUeventSourceTest {

    private PrivateNetns netns;

    @BeforeEach
    void namespace() throws Exception {
        netns = Netns.createOrSkip();
    }

    @AfterEach
    void leave() {
        if (netns != null) netns.close();
    }

    @Test
    void injectedWedgedEventArrivesWithTheKernelsSeqnumAppended() throws Exception {
        try (var source = netns.call(NetlinkUeventSource::open);
             var injector = netns.call(KernelUeventInjector::open)) {
            var sent = Netns.wedgedVector();
            assertThat(sent.seqnum()).isEmpty();

            // Sent from this thread, which is not in the namespace: the sockets keep theirs.
            injector.send(sent);
            injector.send(sent);
            var first = within(() -> nextOwn(source, e -> e.devpath().equals(sent.devpath())));
            var second = within(() -> nextOwn(source, e -> e.devpath().equals(sent.devpath())));

            assertThat(first).isInstanceOf(Received.class);
            var got = ((Received) first).event();
            var fields = new ArrayList<>(got.fields().entrySet());
            assertThat(fields.getLast().getKey()).isEqualTo(Uevent.SEQNUM);
            assertThat(fields.subList(0, fields.size() - 1)).containsExactlyElementsOf(sent.fields().entrySet());
            assertThat(got.get("WEDGED")).isEqualTo("rebind,bus-reset");
            // Byte for byte: the kernel appended "SEQNUM=n\0" to what we sent and changed nothing else.
            var wire = UeventCodec.encode(got);
            var ours = UeventCodec.encode(sent);
            assertThat(java.util.Arrays.copyOf(wire, ours.length)).isEqualTo(ours);
            assertThat(new String(wire, ours.length, wire.length - ours.length, java.nio.charset.StandardCharsets.UTF_8))
                    .isEqualTo("SEQNUM=" + got.seqnum().getAsLong() + "\0");

            assertThat(second).isInstanceOf(Received.class);
            assertThat(((Received) second).event().seqnum().getAsLong()).isGreaterThan(got.seqnum().getAsLong());
            assertThat(((Received) second).nanoTime()).isGreaterThanOrEqualTo(((Received) first).nanoTime());
            assertThat(source.counters().received()).isGreaterThanOrEqualTo(2);
            assertThat(source.counters().spoofed()).isZero();
            assertThat(source.forcedBuffer()).isTrue();  // we run as root
            assertThat(source.receiveBufferBytes()).isGreaterThanOrEqualTo(NetlinkUeventSource.DEFAULT_RECEIVE_BUFFER);
        }
    }

    @Test
    void forgedMessagesFromUserSocketsAreDroppedAsSpoofedAndTheNextRealEventArrives() throws Exception {
        try (var source = netns.call(NetlinkUeventSource::open);
             var injector = netns.call(KernelUeventInjector::open);
             var spoofer = netns.call(() -> Sockets.socket(Sockets.AF_NETLINK, Sockets.SOCK_RAW | Sockets.SOCK_CLOEXEC,
                     Sockets.NETLINK_KOBJECT_UEVENT, "spoofer"))) {
            var forged = Netns.wedgedVector().withSeqnum(1);

            // CVE-2009-1185: a root process unicasts a perfect-looking uevent straight to the listener ...
            send(spoofer, UeventCodec.encode(forged), new NetlinkAddress(source.portId(), 0));
            var unicast = within(() -> nextOwn(source, e -> false));
            assertThat(unicast).isInstanceOfSatisfying(Dropped.class, d -> {
                assertThat(d.kind()).isEqualTo(Kind.SPOOFED);
                assertThat(d.detail()).contains("sender port");
            });

            // ... or multicasts it to the kernel's group (root may): the port still gives it away.
            send(spoofer, UeventCodec.encode(forged), new NetlinkAddress(0, NetlinkUeventSource.KERNEL_GROUP));
            var multicast = within(() -> nextOwn(source, e -> false));
            assertThat(multicast).isInstanceOfSatisfying(Dropped.class, d -> assertThat(d.kind()).isEqualTo(Kind.SPOOFED));
            assertThat(source.counters().spoofed()).isEqualTo(2);

            injector.send(testEvent("after-spoof"));
            var real = within(() -> nextOwn(source, Netns::isTestEvent));
            assertThat(real).isInstanceOfSatisfying(Received.class,
                    r -> assertThat(r.event().devpath()).isEqualTo("/devices/unwedge-test/after-spoof"));
            assertThat(source.counters().received()).isGreaterThanOrEqualTo(1);
        }
    }

    @Test
    void kernelSentGarbageIsMalformedAndOversizedIsTruncated() throws Exception {
        try (var source = netns.call(NetlinkUeventSource::open);
             var injector = netns.call(() -> Sockets.socket(Sockets.AF_NETLINK, Sockets.SOCK_RAW | Sockets.SOCK_CLOEXEC,
                     Sockets.NETLINK_KOBJECT_UEVENT, "raw injector"))) {
            // The kernel relays any payload and appends SEQNUM: trusted sender, but not a uevent.
            byte[] garbage = "no header here\0".getBytes(java.nio.charset.StandardCharsets.UTF_8);
            send(injector, nlmsg(garbage), new NetlinkAddress(0, 0));
            var d = within(() -> nextOwn(source, e -> false));
            assertThat(d).isInstanceOfSatisfying(Dropped.class, m -> {
                assertThat(m.kind()).isEqualTo(Kind.MALFORMED);
                assertThat(m.detail()).startsWith("no-header");
            });

            // Longer than any uevent: truncation is the first check, whoever sent it.
            send(injector, new byte[UeventCodec.MAX_SIZE + 100], new NetlinkAddress(source.portId(), 0));
            var t = within(() -> nextOwn(source, e -> false));
            assertThat(t).isInstanceOfSatisfying(Dropped.class, m -> assertThat(m.kind()).isEqualTo(Kind.TRUNCATED));
            assertThat(source.counters()).extracting(Counters::malformed, Counters::truncated, Counters::spoofed)
                    .containsExactly(1L, 1L, 0L);
        }
    }

    @Test
    void aFullQueueYieldsOverflowOnceAndLaterEventsStillArrive() throws Exception {
        try (var source = netns.call(() -> NetlinkUeventSource.open(1));
             var injector = netns.call(KernelUeventInjector::open)) {
            int sent = 64;
            for (int i = 0; i < sent; i++) injector.send(testEvent("fill-" + i));

            // The queue is read and, after every delivery, a marker injected: markers are dropped while the
            // socket is congested and the first one after the queue ran empty gets through.
            var seen = new ArrayList<Delivery>();
            int markers = 0;
            for (boolean done = false; !done && seen.size() < sent + 10; ) {
                var d = within(() -> nextOwn(source, Netns::isTestEvent));
                seen.add(d);
                done = d instanceof Received r && r.event().devpath().contains("/marker-");
                if (!done) injector.send(testEvent("marker-" + markers++));
            }

            assertThat(seen.getLast()).isInstanceOfSatisfying(Received.class,
                    r -> assertThat(r.event().devpath()).contains("/marker-"));
            assertThat(seen.getFirst()).as("ENOBUFS is reported before the queued events").isInstanceOf(Overflow.class);
            assertThat(seen.stream().filter(d -> d instanceof Overflow).count()).isEqualTo(1);
            List<String> fills = seen.stream()
                    .filter(d -> d instanceof Received r && r.event().devpath().contains("/fill-"))
                    .map(d -> ((Received) d).event().devpath()).toList();
            assertThat(fills).isNotEmpty().hasSizeLessThan(sent);
            // What got in is the oldest, in order: the kernel drops the newest.
            for (int i = 0; i < fills.size(); i++) assertThat(fills.get(i)).endsWith("/fill-" + i);
            assertThat(source.counters().overflows()).isEqualTo(1);
            assertThat(source.receiveBufferBytes()).isLessThan(64 * 1024);
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedReceive() throws Exception {
        var source = netns.call(NetlinkUeventSource::open);
        var tid = new CompletableFuture<String>();
        try (var pool = Executors.newSingleThreadExecutor(Thread.ofPlatform().daemon().factory())) {
            Future<Delivery> blocked = pool.submit(() -> {
                tid.complete(BlockedThreads.currentTid());
                Delivery d;
                while ((d = source.receive()) instanceof Received) { /* host uevents */ }
                return d;
            });
            assertThat(BlockedThreads.awaitInPoll(tid.get(10, TimeUnit.SECONDS))).as("receiver asleep in poll").isTrue();
            source.close();
            assertThat(blocked.get(10, TimeUnit.SECONDS)).isInstanceOf(Closed.class);
        }
        assertThat(source.receive()).isInstanceOf(Closed.class);
        source.close();  // twice is harmless
    }

    @Test
    void injectorRefusesAnEventThatAlreadyHasASeqnum() throws Exception {
        try (var injector = netns.call(KernelUeventInjector::open)) {
            assertThatThrownBy(() -> injector.send(testEvent("x").withSeqnum(7)))
                    .isInstanceOf(IllegalArgumentException.class);
        }
    }

    private static void send(Fd socket, byte[] bytes, NetlinkAddress to) throws Exception {
        try (var arena = Arena.ofConfined()) {
            var seg = arena.allocate(bytes.length);
            seg.copyFrom(java.lang.foreign.MemorySegment.ofArray(bytes));
            Sockets.sendto(socket, seg, to);
        }
    }

    /** nlmsghdr{len, type 0x10, NLM_F_REQUEST, seq 1, pid 0} + payload, as the injector builds it. */
    private static byte[] nlmsg(byte[] payload) {
        var b = java.nio.ByteBuffer.allocate(16 + payload.length).order(java.nio.ByteOrder.nativeOrder());
        b.putInt(16 + payload.length).putShort((short) 0x10).putShort((short) 1).putInt(1).putInt(0).put(payload);
        return b.array();
    }

}
