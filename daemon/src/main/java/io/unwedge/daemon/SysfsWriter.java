package io.unwedge.daemon;

import io.unwedge.host.sysfs.Sysfs;
import java.io.IOException;
import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Future;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * Sysfs writes with a deadline, each on its own thread: a real {@code unbind} blocks until the driver's
 * remove() returns, and a stuck driver must cost the recovery a timeout, not its actor. One per device: a
 * write that timed out is still blocked in the kernel (on the device's lock, as a rule), so until it returns
 * the device's next writes are refused at once instead of piling up behind it, each costing a thread and a
 * timeout and ending as "did not take effect" when the first one finally does.
 */
final class SysfsWriter {

    private final ExecutorService writers;
    private final Duration timeout;
    private volatile Future<?> stuck; // the last write that timed out, while it has not returned
    private volatile Path stuckOn;

    SysfsWriter(ExecutorService writers, Duration timeout) {
        this.writers = writers;
        this.timeout = timeout;
    }

    Duration timeout() {
        return timeout;
    }

    void write(Path attribute, String value) throws IOException, TimeoutException {
        var before = stuck;
        if (before != null && !before.isDone()) {
            throw new IOException("not written: the write to " + stuckOn + " that timed out earlier has not returned "
                    + "(the kernel is still in it; nothing more is written to this device until it does)");
        }
        Future<Object> f;
        try {
            f = writers.submit(() -> {
                Sysfs.writeAttribute(attribute, value);
                return null;
            });
        } catch (RejectedExecutionException e) {
            // the daemon's stop deadline passed and the writers were shut down: a failed step, not a crashed recovery
            throw new IOException("not written: the daemon is stopping (" + attribute + ")", e);
        }
        try {
            f.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            stuckOn = attribute;
            stuck = f;
            throw e;
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            throw new IOException(e.getCause());
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IOException("interrupted");
        }
    }
}
