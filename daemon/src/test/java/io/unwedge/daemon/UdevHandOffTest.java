package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Uevent;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.host.netlink.UeventSocket;
import io.unwedge.host.netlink.UeventSocket.Replied;
import io.unwedge.host.netlink.UeventSocket.Reply;
import io.unwedge.host.netlink.UeventSocket.Verdict;
import java.net.StandardProtocolFamily;
import java.net.UnixDomainSocketAddress;
import java.nio.ByteBuffer;
import java.nio.channels.SocketChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * udev's copy of a uevent handed over through the daemon's socket, with the kernel's own copy arriving on
 * netlink as in the field (the virtual host's wedges go through the real kernel in a private namespace).
 */
class UdevHandOffTest {

    static final Duration WAIT = Duration.ofSeconds(15);
    static final List<RecoveryMethod> REBIND_BUS_RESET = List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);

    @TempDir Path dir;

    /** The rig with its socket served, as the daemon's wiring does from READY on. */
    static UeventSocket serve(Rig rig, Path path) throws Exception {
        var socket = UeventSocket.bind(path);
        UdevHandOff.serve(socket, rig.supervisor, rig.log);
        return socket;
    }

    /** A wedge as udev would pass it for the virtual host's card {@code index}, SEQNUM {@code seqnum}. */
    static Uevent wedge(Rig rig, int index, long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("MAJOR", "226");
        f.put("MINOR", Integer.toString(index));
        f.put("DEVNAME", "dri/card" + index);
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", Long.toString(seqnum));
        return Uevent.of("change", rig.gpu(index).devpath() + "/drm/card" + index, f);
    }

    @Test
    void theKernelsWedgeAndUdevsCopyOfItWhileItIsRecoveredMakeOneRecovery() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 1500), false, true);
             var socket = serve(rig, dir.resolve("state/uevent.sock"))) {
            // udev's copy comes late, when the device is already bound again and settling: without the SEQNUM
            // rule it would look like a re-wedge and fail the recovery
            var answer = new CompletableFuture<UeventSocket.Answer>();
            rig.onSimLine = l -> {
                if (l.startsWith("bind " + rig.gpu(1).bdf())) {
                    Thread.ofVirtual().start(() -> {
                        try {
                            var row = rig.journal.history(Optional.empty(), Optional.of("card1"), Optional.empty(), 1).getFirst();
                            var kernels = rig.journal.wedge(row.eventId()).orElseThrow().uevent();
                            answer.complete(UeventSocket.send(socket.path(), kernels, WAIT));
                        } catch (Exception e) {
                            answer.completeExceptionally(e);
                        }
                    });
                }
            };
            rig.model.wedge("card1", REBIND_BUS_RESET, Optional.empty());
            var reply = answer.get(WAIT.toSeconds(), TimeUnit.SECONDS);
            assertThat(rig.reports).as("the copy came while the recovery was in flight").isEmpty();
            assertThat(reply).isInstanceOf(Replied.class);
            var r = ((Replied) reply).reply();
            assertThat(r.verdict()).as(rig.log()).isEqualTo(Verdict.IGNORED);
            assertThat(r.detail()).matches("card1 0000:06:00.0 seqnum \\d+: SEQNUM \\d+ already taken");

            var report = rig.nextReport(WAIT);
            assertThat(report.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(report.method()).contains(RecoveryMethod.REBIND);
            assertThat(rig.reports.poll(500, TimeUnit.MILLISECONDS)).as("no second recovery").isNull();
            assertThat(rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10)).hasSize(1);
            assertThat(rig.simLines.stream().filter(l -> l.startsWith("unbind")).count()).isEqualTo(1);
            assertThat(rig.supervisor.duplicateWedges()).isEqualTo(1);
            assertThat(rig.supervisor.stats().wedges()).isEqualTo(1);
            assertThat(rig.log()).contains("wedge-duplicate card=card1 bdf=0000:06:00.0", "already taken; ignoring",
                    "uevent-handed-over pid=" + ProcessHandle.current().pid(), "outcome=duplicate");
        }
    }

    @Test
    void aWedgeOnlyUdevReportedIsRecoveredAndALaterCopyOfItIgnored() throws Exception {
        try (var rig = new Rig(dir, 2, Rig.timeouts(5000, 200), false, true);
             var socket = serve(rig, dir.resolve("state/uevent.sock"))) {
            // as if the kernel's copy was lost (a netlink overflow): udev's alone starts the recovery
            var event = wedge(rig, 0, 900_000_001L);
            var reply = UeventSocket.send(socket.path(), event, WAIT);
            assertThat(reply).isEqualTo(new Replied(new Reply(Verdict.ACCEPTED, "card0 0000:03:00.0 seqnum 900000001 WEDGED=rebind,bus-reset")));
            var report = rig.nextReport(WAIT);
            assertThat(report.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(report.event().seqnum()).isEqualTo(900_000_001L);
            assertThat(report.event().uevent()).isEqualTo(event);
            var row = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 10).getFirst();
            assertThat(row.seqnum()).isEqualTo(900_000_001L);
            // an older wedge of the device than the one taken: stale
            var older = UeventSocket.send(socket.path(), wedge(rig, 0, 900_000_000L), WAIT);
            assertThat(((Replied) older).reply().detail()).endsWith("older than SEQNUM 900000001, already taken");
            assertThat(rig.reports.poll(300, TimeUnit.MILLISECONDS)).isNull();
        }
    }

    @Test
    void notAWedgeIsIgnoredAMalformedMessageCountedAndAStoppingDaemonRefuses() throws Exception {
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, false);
             var socket = serve(rig, dir.resolve("state/uevent.sock"))) {
            var f = new LinkedHashMap<String, String>();
            f.put("SUBSYSTEM", "drm");
            f.put("SEQNUM", "12");
            var add = Uevent.of("add", rig.gpu(0).devpath() + "/drm/card0", f);
            assertThat(UeventSocket.send(socket.path(), add, WAIT)).isEqualTo(new Replied(new Reply(Verdict.IGNORED, "drm add without WEDGED")));

            try (var s = SocketChannel.open(StandardProtocolFamily.UNIX)) {
                s.connect(UnixDomainSocketAddress.of(socket.path()));
                s.write(ByteBuffer.wrap("libudev\0garbage\0".getBytes(StandardCharsets.UTF_8)));
                s.shutdownOutput();
                var in = ByteBuffer.allocate(1024);
                while (s.read(in) >= 0) { }
                assertThat(new String(in.array(), 0, in.position(), StandardCharsets.UTF_8))
                        .isEqualTo("malformed no-header: no action@/devpath header");
            }
            assertThat(rig.supervisor.stats().malformed()).isEqualTo(1);
            assertThat(rig.supervisor.stats().events()).isEqualTo(1);
            assertThat(rig.log()).contains("uevent-dropped kind=MALFORMED detail=\"no-header: no action@/devpath header\"");

            rig.supervisor.stop();
            var late = UeventSocket.send(socket.path(), wedge(rig, 0, 40), WAIT);
            assertThat(late).isEqualTo(new Replied(new Reply(Verdict.REFUSED, "the daemon is stopping; card0 stays wedged")));
            assertThat(rig.reports).isEmpty();
        }
    }
}
