package io.unwedge.sim;

import io.unwedge.host.os.Fifo;
import java.io.FileInputStream;
import java.io.IOException;
import java.io.RandomAccessFile;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.attribute.BasicFileAttributes;
import java.util.function.Consumer;

/**
 * One of the virtual host's write-only attributes ({@code bind}, {@code reset}, {@code power} …): a FIFO,
 * so that every write() is one request, as sysfs hands each write() to the attribute's store function.
 *
 * <p>Nothing blocks in read: {@link DriverModel} watches every FIFO with one inotify instance for
 * IN_MODIFY and calls {@link #drain()} on its one inotify thread. The kernel queues IN_MODIFY inside the
 * writer's write(), so the events, and the values handed on, are in the order the writes were made, across
 * attributes too: a {@code bind} written after a {@code reset} reaches the card's worker after it, as on a
 * real host where the write to {@code reset} returns only once the reset is done.
 *
 * <p>A value ends at a newline or at the end of what is in the pipe: writes of a few bytes are atomic
 * (PIPE_BUF), so {@code echo -n 1 > remove} is one value; two writers racing are two values as long as
 * they end their lines, as bind and unbind writers do.
 */
final class FifoAttribute implements AutoCloseable {

    private final Path fifo;
    private final RandomAccessFile file; // O_RDWR: an open never blocks, and a writer always exists (no EOF)
    private final FileInputStream in; // the same descriptor: available() is FIONREAD on a FIFO
    private final Consumer<String> onValue;
    private final Consumer<String> onError;

    private FifoAttribute(Path fifo, RandomAccessFile file, Consumer<String> onValue, Consumer<String> onError) throws IOException {
        this.fifo = fifo;
        this.file = file;
        this.in = new FileInputStream(file.getFD());
        this.onValue = onValue;
        this.onError = onError;
    }

    /** Makes {@code fifo} a FIFO if it is a leftover regular file (a host from an older sim), and opens it. */
    static FifoAttribute open(Path fifo, Consumer<String> onValue, Consumer<String> onError) throws IOException {
        if (Files.isRegularFile(fifo, LinkOption.NOFOLLOW_LINKS)) Files.delete(fifo);
        if (!Files.exists(fifo, LinkOption.NOFOLLOW_LINKS)) Fifo.create(fifo, 0200);
        if (!Files.readAttributes(fifo, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).isOther()) {
            throw new IOException(fifo + " is neither a FIFO nor a file the sim may replace by one");
        }
        return new FifoAttribute(fifo, new RandomAccessFile(fifo.toFile(), "rw"), onValue, onError);
    }

    Path fifo() {
        return fifo;
    }

    /** Hands on every value written since the last call, in order. Never blocks: reads only what is there. */
    void drain() {
        try {
            int n = in.available();
            if (n <= 0) return; // an earlier drain took it (inotify merges events)
            var bytes = new byte[n];
            int got = in.read(bytes);
            if (got <= 0) return;
            for (String line : new String(bytes, 0, got, StandardCharsets.US_ASCII).split("\n")) {
                String value = line.strip();
                if (value.isEmpty()) continue;
                try {
                    onValue.accept(value);
                } catch (RuntimeException e) {
                    onError.accept("handling '" + value + "' written to " + fifo + ": " + e);
                }
            }
        } catch (IOException e) {
            onError.accept("reading " + fifo + ": " + e);
        }
    }

    @Override
    public void close() {
        try {
            file.close(); // closes the shared descriptor
        } catch (IOException ignored) {
            // nothing to release
        }
    }
}
