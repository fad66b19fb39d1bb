package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeoutException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SysfsWriterTest {

    @TempDir Path dir;

    @Test
    void aWriteStuckInTheKernelHoldsBackTheDevicesNextWritesUntilItReturns() throws Exception {
        // a FIFO nobody reads: opening it for writing blocks, as an unbind blocks in a stuck driver's remove()
        Path stuckAttribute = dir.resolve("unbind");
        assertThat(new ProcessBuilder("mkfifo", stuckAttribute.toString()).start().waitFor()).isZero();
        Path other = Files.writeString(dir.resolve("bind"), "");
        try (var writers = Executors.newVirtualThreadPerTaskExecutor()) {
            var writer = new SysfsWriter(writers, Duration.ofMillis(200));
            assertThatThrownBy(() -> writer.write(stuckAttribute, "0000:03:00.0\n")).isInstanceOf(TimeoutException.class);
            assertThatThrownBy(() -> writer.write(other, "0000:03:00.0\n")).isInstanceOf(IOException.class)
                    .hasMessageContaining("the write to " + stuckAttribute + " that timed out earlier has not returned");
            assertThat(Files.readString(other)).as("not written").isEmpty();

            // the kernel lets go: the first write completes, and the device's writes go through again
            try (var reader = Files.newInputStream(stuckAttribute)) {
                assertThat(new String(reader.readAllBytes())).isEqualTo("0000:03:00.0\n");
            }
            long deadline = System.nanoTime() + 5_000_000_000L;
            while (true) {
                try {
                    writer.write(other, "0000:03:00.0\n");
                    break;
                } catch (IOException e) {
                    if (System.nanoTime() > deadline) throw e;
                    Thread.sleep(10);
                }
            }
            assertThat(Files.readString(other)).isEqualTo("0000:03:00.0\n");
        }
    }
}
