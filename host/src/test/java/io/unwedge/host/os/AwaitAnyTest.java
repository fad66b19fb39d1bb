package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One poll over pidfds and an inotify: which of them woke it, against children this test starts and always kills. */
class AwaitAnyTest {

    @TempDir Path dir;
    final List<Process> children = new ArrayList<>();

    @AfterEach
    void kill() {
        for (var p : children) p.destroyForcibly();
    }

    Process start(String... cmd) throws Exception {
        var p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        children.add(p);
        return p;
    }

    static long in(long millis) {
        return System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(millis);
    }

    @Test
    void aCloseOnAWatchedFileWakesItAndSaysWhichOneIsReady() throws Exception {
        Path node = Files.writeString(dir.resolve("card0"), "x");
        var sleeper = start("sleep", "60");
        try (var closes = Inotify.open(); var wakeup = Wakeup.open(); var pidfd = Pidfd.open((int) sleeper.pid()).orElseThrow()) {
            closes.watch(node, Inotify.IN_CLOSE_WRITE | Inotify.IN_CLOSE_NOWRITE);
            assertThat(wakeup.awaitAny(List.of(pidfd, closes), in(50)).ended()).isEqualTo(Wakeup.Ended.DEADLINE);
            assertThat(closes.takeReady()).isEmpty();

            // another process opens the file read-only and closes it, and stays alive
            var reader = start("bash", "-c", "exec 3<'" + node + "'; exec 3<&-; echo closed; exec sleep 60");
            assertThat(new String(reader.getInputStream().readNBytes(7))).isEqualTo("closed\n");
            var any = wakeup.awaitAny(List.of(pidfd, closes), in(5000));
            assertThat(any.ended()).isEqualTo(Wakeup.Ended.READY);
            assertThat(any.isReady(1)).isTrue();
            assertThat(any.isReady(0)).as("the sleeper still runs").isFalse();
            assertThat(closes.takeReady()).anySatisfy(e -> assertThat(e.is(Inotify.IN_CLOSE_NOWRITE)).isTrue());
            assertThat(closes.takeReady()).isEmpty();

            sleeper.destroy();
            var exit = wakeup.awaitAny(List.of(pidfd, closes), in(5000));
            assertThat(exit.ended()).isEqualTo(Wakeup.Ended.READY);
            assertThat(exit.isReady(0)).isTrue();
            assertThat(exit.isReady(1)).isFalse();

            wakeup.wake();
            assertThat(wakeup.awaitAny(List.of(pidfd, closes), in(5000)).ended()).isEqualTo(Wakeup.Ended.WOKEN);
        }
    }
}
