package io.unwedge.host.os;

import static io.unwedge.host.os.Inotify.IN_CLOSE_WRITE;
import static io.unwedge.host.os.Inotify.IN_DELETE;
import static io.unwedge.host.os.Inotify.IN_IGNORED;
import static io.unwedge.host.os.Inotify.IN_MOVED_TO;
import static io.unwedge.host.os.Inotify.IN_ONLYDIR;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.host.netlink.BlockedThreads;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.function.Predicate;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class InotifyTest {

    private final ExecutorService pool = Executors.newCachedThreadPool(Thread.ofPlatform().daemon().factory());

    @AfterEach
    void stop() {
        pool.shutdownNow();
    }

    /** Takes batches until one event matches; every event seen is kept in {@code seen}. */
    private Inotify.Event until(Inotify inotify, List<Inotify.Event> seen, Predicate<Inotify.Event> wanted) throws Exception {
        return pool.submit(() -> {
            for (;;) {
                var batch = inotify.take();
                assertThat(batch).as("take() returned empty while open").isNotEmpty();
                seen.addAll(batch);
                for (var e : batch) if (wanted.test(e)) return e;
            }
        }).get(10, TimeUnit.SECONDS);
    }

    @Test
    void closeWriteMovedToAndDeleteInADirectory(@TempDir Path dir) throws Exception {
        try (var inotify = Inotify.open()) {
            int wd = inotify.watch(dir, IN_CLOSE_WRITE | IN_MOVED_TO | IN_DELETE | IN_ONLYDIR);
            var seen = new ArrayList<Inotify.Event>();

            Files.writeString(dir.resolve("written"), "1\n");
            var written = until(inotify, seen, e -> e.name().equals("written"));
            assertThat(written).isEqualTo(new Inotify.Event(wd, IN_CLOSE_WRITE, "written"));

            // How state files are written: to a temp file, then renamed over the real name.
            Files.writeString(dir.resolve("state.tmp"), "2\n");
            Files.move(dir.resolve("state.tmp"), dir.resolve("state"), StandardCopyOption.ATOMIC_MOVE);
            var moved = until(inotify, seen, e -> e.name().equals("state"));
            assertThat(moved).isEqualTo(new Inotify.Event(wd, IN_MOVED_TO, "state"));
            assertThat(seen).contains(new Inotify.Event(wd, IN_CLOSE_WRITE, "state.tmp"));

            Files.delete(dir.resolve("written"));
            var deleted = until(inotify, seen, e -> e.is(IN_DELETE));
            assertThat(deleted).isEqualTo(new Inotify.Event(wd, IN_DELETE, "written"));

            inotify.unwatch(wd);
            var ignored = until(inotify, seen, e -> e.is(IN_IGNORED));
            assertThat(ignored).isEqualTo(new Inotify.Event(wd, IN_IGNORED, ""));
            inotify.unwatch(wd);  // already gone: EINVAL, which is the outcome asked for
        }
    }

    @Test
    void watchFailuresNameTheCallThePathAndTheErrno(@TempDir Path dir) throws Exception {
        var file = Files.writeString(dir.resolve("plain"), "x");
        try (var inotify = Inotify.open()) {
            assertThatThrownBy(() -> inotify.watch(file, IN_CLOSE_WRITE | IN_ONLYDIR))
                    .isInstanceOfSatisfying(OsException.class, e -> {
                        assertThat(e.errno()).isEqualTo(Errno.ENOTDIR);
                        assertThat(e.syscall()).isEqualTo("inotify_add_watch");
                        assertThat(e.path()).contains(file.toString());
                        assertThat(e).hasMessage("inotify_add_watch(" + file + "): ENOTDIR (Not a directory)");
                    });
            assertThatThrownBy(() -> inotify.watch(dir.resolve("missing"), IN_CLOSE_WRITE))
                    .isInstanceOfSatisfying(OsException.class, e -> assertThat(e.errno()).isEqualTo(Errno.ENOENT));
        }
    }

    @Test
    void closeFromAnotherThreadWakesABlockedTake(@TempDir Path dir) throws Exception {
        var inotify = Inotify.open();
        inotify.watch(dir, IN_CLOSE_WRITE);
        var tid = new CompletableFuture<String>();
        Future<List<Inotify.Event>> blocked = pool.submit(() -> {
            tid.complete(BlockedThreads.currentTid());
            return inotify.take();
        });
        assertThat(BlockedThreads.awaitInPoll(tid.get(10, TimeUnit.SECONDS))).as("taker asleep in poll").isTrue();
        inotify.close();
        assertThat(blocked.get(10, TimeUnit.SECONDS)).isEmpty();
        assertThat(inotify.take()).isEmpty();
        inotify.close();
        assertThatThrownBy(() -> inotify.watch(dir, IN_CLOSE_WRITE))
                .isInstanceOfSatisfying(OsException.class, e -> assertThat(e.errno()).isEqualTo(Errno.EBADF));
    }
}
