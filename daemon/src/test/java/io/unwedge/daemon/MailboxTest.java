package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Uevent;
import java.util.List;
import java.util.Map;
import org.junit.jupiter.api.Test;

class MailboxTest {

    static ActorMessage observed(String action) {
        return new ActorMessage.Observed(Uevent.of(action, "/devices/pci0000:00/0000:00:01.0/0000:03:00.0", Map.of("SUBSYSTEM", "pci")));
    }

    @Test
    void whatAJobSetAsideComesBeforeWhatArrivedAfterItInItsOrder() throws Exception {
        var mailbox = new Mailbox();
        var first = observed("add");
        var second = observed("bind");
        var third = observed("unbind");
        var later = observed("remove");
        mailbox.post(first);
        mailbox.post(second);
        mailbox.post(third);
        mailbox.post(later);
        // a job reads three while it waits, sets them aside, and ends
        long deadline = System.nanoTime() + 1_000_000_000L;
        var setAside = List.of(mailbox.next(deadline), mailbox.next(deadline), mailbox.next(deadline));
        assertThat(setAside).containsExactly(first, second, third);
        mailbox.putBack(setAside);
        assertThat(List.of(mailbox.take(), mailbox.take(), mailbox.take(), mailbox.take())).containsExactly(first, second, third, later);
    }

    @Test
    void aStopMidJobIsRememberedNotReturned() {
        var mailbox = new Mailbox();
        mailbox.post(new ActorMessage.Stop());
        assertThat(mailbox.next(System.nanoTime() + 50_000_000L)).isNull();
        assertThat(mailbox.stopRequested()).isTrue();
    }

    @Test
    void drainTakesWhatIsLeftInOrderAndLeavesItEmpty() {
        var mailbox = new Mailbox();
        var first = observed("add");
        var stop = new ActorMessage.Stop();
        var second = observed("bind");
        mailbox.post(first);
        mailbox.post(stop);
        mailbox.post(second);
        assertThat(mailbox.drain()).containsExactly(first, stop, second);
        assertThat(mailbox.drain()).isEmpty();
        assertThat(mailbox.stopRequested()).isTrue();
    }
}
