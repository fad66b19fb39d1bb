package io.unwedge.sim;

import io.unwedge.host.os.Inotify;
import java.io.IOException;
import java.io.Writer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.time.Duration;
import java.util.Map;
import java.util.Properties;
import java.util.UUID;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;

/**
 * The other end of {@code sim/requests}: hands a request to the running driver model ({@code sim run})
 * and waits for its answer. A request file is renamed into place, so the model never reads half of one.
 */
public final class SimControl {

    private SimControl() {}

    /** Returns the model's answer ("WEDGED=rebind,bus-reset"); throws {@link SimException} with its refusal. */
    public static String request(VirtualHost host, Map<String, String> request, Duration timeout) throws IOException {
        String id = UUID.randomUUID().toString();
        Path done = host.requests().resolve(id + ".done");
        try (var inotify = Inotify.open()) {
            inotify.watch(host.requests(), Inotify.IN_MOVED_TO);
            var p = new Properties();
            request.forEach(p::setProperty);
            Path tmp = host.requests().resolve(id + ".tmp");
            try (Writer w = Files.newBufferedWriter(tmp)) {
                p.store(w, null);
            }
            Files.move(tmp, host.requests().resolve(id + ".req"), StandardCopyOption.ATOMIC_MOVE);
            try (var waiter = Executors.newVirtualThreadPerTaskExecutor()) {
                var answer = waiter.submit(() -> {
                    while (!Files.exists(done)) {
                        if (inotify.take().isEmpty()) return false;
                    }
                    return true;
                });
                try {
                    answer.get(timeout.toMillis(), TimeUnit.MILLISECONDS);
                } catch (TimeoutException e) {
                    Files.deleteIfExists(host.requests().resolve(id + ".req"));
                    throw new SimException("no answer from the driver model within " + timeout.toSeconds()
                            + " s: is `unwedge sim run --root " + host.root() + "` running?");
                } catch (InterruptedException | ExecutionException e) {
                    throw new IOException("waiting for the driver model: " + e, e);
                } finally {
                    inotify.close();
                }
            }
        }
        String line = Files.readString(done).strip();
        Files.deleteIfExists(done);
        if (line.startsWith("ok ")) return line.substring(3);
        throw new SimException(line.startsWith("error ") ? line.substring(6) : line);
    }
}
