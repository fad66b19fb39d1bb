package io.unwedge.sim;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * A virtual DRM client: a real process (python3, so that it is a separate program with its own comm) that
 * opens a virtual host's {@code dev/dri/cardN}, maps it, and holds it until told otherwise. What it does on
 * SIGTERM is its {@link Behaviour}; the drain's tests and {@code unwedge sim client} start it.
 *
 * <p>Whoever starts one owns it: {@link #close()} kills it (SIGKILL), and only it.
 */
public final class VirtualClient implements AutoCloseable {

    public enum Behaviour {
        /** on SIGTERM: unmaps, closes, exits 0 */
        POLITE,
        /** ignores SIGTERM: only SIGKILL ends it */
        STUBBORN,
        /** polite, but its comm is {@code Xwayland} (prctl PR_SET_NAME): a protected name */
        PROTECTED;

        public static Optional<Behaviour> parse(String s) {
            for (var b : values()) if (b.toString().equals(s)) return Optional.of(b);
            return Optional.empty();
        }

        @Override
        public String toString() {
            return name().toLowerCase(Locale.ROOT);
        }
    }

    /**
     * @param mappingOnly close the descriptor once mapped: only the mapping holds the device
     * @param exitAfter   let go and exit on its own after this long (zero: never)
     */
    public record Options(Behaviour behaviour, boolean mappingOnly, Duration exitAfter) {
        public static Options of(Behaviour b) {
            return new Options(b, false, Duration.ZERO);
        }
    }

    private final Process process;
    private final List<String> lines = new java.util.concurrent.CopyOnWriteArrayList<>();

    private VirtualClient(Process process) {
        this.process = process;
    }

    /** The command that runs a client of {@code node}. */
    public static List<String> command(Path node, Options o) throws IOException {
        String script;
        try (InputStream in = VirtualClient.class.getResourceAsStream("client.py")) {
            if (in == null) throw new IOException("client.py is missing from the sim jar");
            script = new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
        var cmd = new ArrayList<String>(List.of("python3", "-c", script, node.toString(), o.behaviour().toString(),
                o.mappingOnly() ? "1" : "0", Long.toString(o.exitAfter().toMillis())));
        return cmd;
    }

    /** The node of {@code card} (e.g. {@code card0}) on {@code host}; it must exist (the card is bound). */
    public static Path node(VirtualHost host, String card) throws IOException {
        if (!card.matches("(card|renderD)[0-9]+")) throw new IllegalArgumentException("not a DRM minor: " + card);
        Path node = host.dev().resolve("dri").resolve(card);
        if (!Files.isRegularFile(node)) throw new IOException("no " + node + ": is " + card + " bound?");
        return node;
    }

    /**
     * Starts a client and returns once it holds the node (it printed {@code ready}); every later line goes to
     * {@code output}. Killed if it does not get ready within 10 s.
     */
    public static VirtualClient start(Path node, Options o, Consumer<String> output) throws IOException {
        var p = new ProcessBuilder(command(node, o)).redirectErrorStream(true).start();
        var client = new VirtualClient(p);
        var ready = new CompletableFuture<String>();
        Thread.ofVirtual().start(() -> {
            try (var r = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8))) {
                String line;
                while ((line = r.readLine()) != null) {
                    if (!ready.isDone() && line.startsWith("ready ")) {
                        ready.complete(line);
                        continue;
                    }
                    client.lines.add(line);
                    output.accept(line);
                }
            } catch (IOException ignored) {
                // the client is gone
            }
            ready.complete(null);
        });
        try {
            var line = ready.get(10, TimeUnit.SECONDS);
            if (line == null) throw new IOException("virtual client exited before holding " + node + ": " + client.lines);
            return client;
        } catch (Exception e) {
            client.close();
            if (e instanceof IOException io) throw io;
            throw new IOException("virtual client did not get ready: " + e, e);
        }
    }

    public long pid() {
        return process.pid();
    }

    public Process process() {
        return process;
    }

    /** What it printed so far (after "ready"). */
    public List<String> lines() {
        return List.copyOf(lines);
    }

    public boolean isAlive() {
        return process.isAlive();
    }

    /** Waits for it to end; its exit status, or empty if it still runs after {@code within}. */
    public Optional<Integer> waitFor(Duration within) throws InterruptedException {
        return process.waitFor(within.toMillis(), TimeUnit.MILLISECONDS) ? Optional.of(process.exitValue()) : Optional.empty();
    }

    /** Kills this client (its own process, started here), if it still runs. */
    @Override
    public void close() {
        process.destroyForcibly();
        try {
            process.waitFor(5, TimeUnit.SECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }
}
