package io.unwedge.host.netlink;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.Delivery.Closed;
import io.unwedge.host.netlink.Delivery.Received;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;

class InProcessUeventsTest {

    private static List<Uevent> take(UeventSource source, int n) throws Exception {
        var out = new ArrayList<Uevent>();
        for (int i = 0; i < n; i++) {
            out.add(((Received) Netns.within(source::receive)).event());
        }
        return out;
    }

    @Test
    void everySubscriberGetsEveryLaterEventInOrderWithIncreasingSeqnum() throws Exception {
        var bus = new InProcessUevents();
        var early = bus.subscribe();
        bus.sink().send(Netns.testEvent("a"));
        var late = bus.subscribe();
        bus.sink().send(Netns.testEvent("b"));
        bus.sink().send(Netns.testEvent("c"));

        var fromEarly = take(early, 3);
        var fromLate = take(late, 2);
        assertThat(fromEarly).extracting(Uevent::devpath)
                .containsExactly("/devices/unwedge-test/a", "/devices/unwedge-test/b", "/devices/unwedge-test/c");
        assertThat(fromEarly).extracting(e -> e.seqnum().getAsLong()).containsExactly(1L, 2L, 3L);
        assertThat(fromLate).containsExactlyElementsOf(fromEarly.subList(1, 3));
        assertThat(fromEarly.getFirst().fields().lastEntry().getKey()).isEqualTo(Uevent.SEQNUM);
        assertThat(fromEarly.getFirst()).isEqualTo(Netns.testEvent("a").withSeqnum(1));
    }

    @Test
    void concurrentSendersNeverMakeASubscriberSeeSeqnumGoBack() throws Exception {
        var bus = new InProcessUevents();
        var a = bus.subscribe();
        var b = bus.subscribe();
        try (var pool = Executors.newFixedThreadPool(4)) {
            for (int t = 0; t < 4; t++) {
                int id = t;
                pool.submit(() -> {
                    for (int i = 0; i < 250; i++) bus.sink().send(Netns.testEvent("t" + id + "-" + i));
                    return null;
                });
            }
        }
        var seqA = take(a, 1000).stream().mapToLong(e -> e.seqnum().getAsLong()).toArray();
        var seqB = take(b, 1000).stream().mapToLong(e -> e.seqnum().getAsLong()).toArray();
        for (int i = 0; i < 1000; i++) assertThat(seqA[i]).isEqualTo(i + 1L);
        assertThat(seqB).isEqualTo(seqA);
    }

    @Test
    void closeWakesABlockedSubscriberAndSeqnumIsRefused() throws Exception {
        var bus = new InProcessUevents();
        var sub = bus.subscribe();
        try (var pool = Executors.newSingleThreadExecutor()) {
            var blocked = pool.submit(sub::receive);
            sub.close();
            assertThat(blocked.get(10, TimeUnit.SECONDS)).isInstanceOf(Closed.class);
        }
        assertThat(sub.receive()).isInstanceOf(Closed.class);
        bus.sink().send(Netns.testEvent("after-close"));  // nobody listening: fine
        assertThatThrownBy(() -> bus.sink().send(Netns.testEvent("x").withSeqnum(5)))
                .isInstanceOf(IllegalArgumentException.class);
    }
}
