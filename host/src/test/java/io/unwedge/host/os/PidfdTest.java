package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

/** pidfd_open, pidfd_send_signal and the exit poll, against children this test starts and always kills. */
class PidfdTest {

    final List<Process> children = new ArrayList<>();

    @AfterEach
    void kill() {
        for (var p : children) p.destroyForcibly();
    }

    Process sleeper() throws Exception {
        var p = new ProcessBuilder("sleep", "60").start();
        children.add(p);
        return p;
    }

    static long in(long millis) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void aSignalThroughThePidfdEndsTheProcessAndThePollSeesIt() throws Exception {
        var p = sleeper();
        try (var pidfd = Pidfd.open((int) p.pid()).orElseThrow(); var wakeup = Wakeup.open()) {
            assertThat(pidfd.hasExited()).isFalse();
            assertThat(pidfd.awaitExit(wakeup, in(50))).isEqualTo(Wakeup.Ended.DEADLINE);
            assertThat(pidfd.signal(Pidfd.SIGTERM)).isTrue();
            assertThat(pidfd.awaitExit(wakeup, in(5000))).isEqualTo(Wakeup.Ended.READY);
            assertThat(pidfd.hasExited()).isTrue();
            assertThat(p.waitFor(5, TimeUnit.SECONDS)).isTrue();
            assertThat(pidfd.signal(Pidfd.SIGKILL)).as("an exited process is not signalled").isFalse();
        }
    }

    @Test
    void aWakeupEndsTheWaitEarly() throws Exception {
        var p = sleeper();
        try (var pidfd = Pidfd.open((int) p.pid()).orElseThrow(); var wakeup = Wakeup.open()) {
            Thread.ofVirtual().start(() -> {
                try {
                    Thread.sleep(50);
                } catch (InterruptedException ignored) {
                }
                wakeup.wake();
            });
            long t0 = System.nanoTime();
            assertThat(pidfd.awaitExit(wakeup, in(10_000))).isEqualTo(Wakeup.Ended.WOKEN);
            assertThat(System.nanoTime() - t0).isLessThan(TimeUnit.SECONDS.toNanos(5));
            assertThat(p.isAlive()).isTrue();
        }
    }

    @Test
    void aReapedProcessCannotBeOpened() throws Exception {
        var p = new ProcessBuilder("true").start();
        children.add(p);
        p.waitFor();
        assertThat(Pidfd.open((int) p.pid())).isEmpty();
    }
}
