package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.daemon.Heartbeats;
import io.unwedge.daemon.LoopHeartbeat;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/** /healthz judges the loop as the watchdog does: waiting is alive however long, working too long is stuck, ended is not alive. */
class HealthTest {

    final AtomicLong nanos = new AtomicLong(1_000_000_000L);
    final LoopHeartbeat heartbeat = new LoopHeartbeat(nanos::get);
    final java.util.function.Supplier<Health> health = Health.of(heartbeat, Duration.ofSeconds(30));

    void advance(Duration d) {
        nanos.addAndGet(d.toNanos());
    }

    @Test
    void startUpCountsAsWorkUnderTheSameLimit() {
        advance(Duration.ofSeconds(29));
        assertThat(health.get()).isEqualTo(Health.OK);
        advance(Duration.ofSeconds(2));
        assertThat(health.get()).isEqualTo(new Health.Unhealthy("the event loop has been out of receive for 31000 ms (stuck after 30000 ms)"));
    }

    @Test
    void waitingInReceiveIsAliveHoweverLongItLasts() {
        Heartbeats.waiting(heartbeat);
        advance(Duration.ofDays(3));
        assertThat(health.get()).isEqualTo(Health.OK);
        Heartbeats.working(heartbeat);
        advance(Duration.ofSeconds(30));
        assertThat(health.get()).isInstanceOf(Health.Unhealthy.class);
        Heartbeats.waiting(heartbeat);
        assertThat(health.get()).isEqualTo(Health.OK);
    }

    @Test
    void anEndedLoopIsNotAlive() {
        Heartbeats.waiting(heartbeat);
        Heartbeats.ended(heartbeat);
        assertThat(health.get()).isEqualTo(new Health.Unhealthy("the event loop has ended: the daemon is stopping"));
    }

    @Test
    void theLimitMustBePositive() {
        assertThatThrownBy(() -> Health.of(heartbeat, Duration.ZERO)).hasMessageContaining("more than zero");
    }
}
