package io.unwedge.daemon;

import io.unwedge.host.sysfs.Sysfs;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sysfs writes with a deadline, each on its own thread: a real {@code unbind} blocks until the driver's
 * remove() returns, and a stuck driver must cost the recovery a timeout, not its actor.
 */
final class SysfsWriter {

    private final ExecutorService writers;
    private final Duration timeout;

    SysfsWriter(ExecutorService writers, Duration timeout) {
        this.writers = writers;
        this.timeout = timeout;
    }

    Duration timeout() {
        return timeout;
    }

    void write(Path attribute, String value) throws IOException, TimeoutException {
        java.util.concurrent.Future<Object> f;
        try {
            f = writers.submit(() -> {
                Sysfs.writeAttribute(attribute, value);
                return null;
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // the daemon's stop deadline passed and the writers were shut down: a failed step, not a crashed recovery
            throw new IOException("not written: the daemon is stopping (" + attribute + ")", e);
        }
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
