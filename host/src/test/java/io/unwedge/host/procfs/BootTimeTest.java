package io.unwedge.host.procfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class BootTimeTest {

    @TempDir Path dir;

    @Test
    void theRunningKernelBootedInThePast() {
        assertThat(BootTime.of(Path.of("/proc"))).hasValueSatisfying(t -> assertThat(t).isBefore(Instant.now()).isAfter(Instant.parse("2000-01-01T00:00:00Z")));
    }

    @Test
    void readsBtimeAmongTheOtherLines() throws Exception {
        Files.writeString(dir.resolve("stat"), "cpu  1 2 3\nintr 5\nctxt 9\nbtime 1764133200\nprocesses 42\n");
        assertThat(BootTime.of(dir)).contains(Instant.ofEpochSecond(1764133200));
    }

    @Test
    void noneWhenItCannotBeSaid() throws Exception {
        assertThat(BootTime.of(dir)).as("no stat file").isEmpty();
        Files.writeString(dir.resolve("stat"), "cpu  1 2 3\nbtime soon\n");
        assertThat(BootTime.of(dir)).as("not a number").isEmpty();
        Files.writeString(dir.resolve("stat"), "cpu  1 2 3\n");
        assertThat(BootTime.of(dir)).as("no btime line").isEmpty();
    }
}
