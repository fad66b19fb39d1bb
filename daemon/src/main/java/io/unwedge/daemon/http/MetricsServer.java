package io.unwedge.daemon.http;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.Supervisor;
import java.io.IOException;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.util.Objects;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.function.IntSupplier;
import java.util.function.Supplier;

/**
 * The daemon's HTTP endpoint, on the JDK's own {@link HttpServer} with a virtual thread per exchange:
 * <ul>
 *   <li>{@code GET /metrics}: the Prometheus text format 0.0.4, read at scrape time and written by the official
 *       Java client ({@link Scrape});</li>
 *   <li>{@code GET /healthz}: {@code 200 ok} while the event loop is alive, else {@code 503} and why
 *       ({@link Health});</li>
 * </ul>
 * {@code HEAD} on both; any other method {@code 405}, any other path {@code 404}. docs/metrics.md is the contract.
 *
 * <p>What a scrape says is {@link Scrape}'s. It binds loopback only unless told otherwise ({@link ListenAddress#REMOTE_REFUSED} says why).
 */
public final class MetricsServer implements AutoCloseable {

    /** What a scrape reads besides the registry, each when it is scraped. */
    public record Sources(Supplier<Supervisor.Stats> stats, IntSupplier cards, QuarantineCount quarantined,
                         Supplier<Health> health, String version) {
        public Sources {
            Objects.requireNonNull(stats);
            Objects.requireNonNull(cards);
            Objects.requireNonNull(quarantined);
            Objects.requireNonNull(health);
            Objects.requireNonNull(version);
        }
    }

    /** How many devices are quarantined now (the journal's {@code quarantined()}); an error omits the gauge. */
    @FunctionalInterface
    public interface QuarantineCount {
        int count() throws IOException;
    }

    private final HttpServer server;
    private final ExecutorService exchanges;
    private final Scrape scrape;

    private MetricsServer(HttpServer server, ExecutorService exchanges, Scrape scrape) {
        this.server = server;
        this.exchanges = exchanges;
        this.scrape = scrape;
    }

    /**
     * Binds {@code at} and serves until closed.
     *
     * @param allowRemote whether a non-loopback address may be bound ({@code metrics_allow_remote})
     * @throws IllegalArgumentException a non-loopback address without {@code allowRemote}
     * @throws IOException              the address cannot be bound (in use, not on this host, …)
     */
    public static MetricsServer start(ListenAddress.At at, boolean allowRemote, MetricsRegistry registry, Sources sources, EventLog log)
            throws IOException {
        var scrape = new Scrape(registry, sources, log);
        if (!at.isLoopback() && !allowRemote) {
            throw new IllegalArgumentException(at + " is not a loopback address, and metrics_allow_remote is false: " + ListenAddress.REMOTE_REFUSED);
        }
        var server = HttpServer.create(at.socketAddress(), 16);
        var exchanges = Executors.newVirtualThreadPerTaskExecutor();
        server.setExecutor(exchanges);
        var metrics = new MetricsServer(server, exchanges, scrape);
        server.createContext("/", exchange -> {
            try (exchange) {
                metrics.handle(exchange);
            }
        });
        server.start();
        return metrics;
    }

    /** Where it listens: with port 0 asked for, the port it got. */
    public InetSocketAddress address() {
        return server.getAddress();
    }

    /** {@code 127.0.0.1:9464}, {@code [::1]:9464}. */
    public String describe() {
        var a = address();
        return ListenAddress.format(a.getAddress(), a.getPort());
    }

    @Override
    public void close() {
        server.stop(0); // a scrape in flight is cut short: it is a read, and the next one asks again
        exchanges.close();
    }

    private record Answer(int status, String contentType, String body) {
        static Answer text(int status, String body) {
            return new Answer(status, "text/plain; charset=utf-8", body + "\n");
        }
    }

    private void handle(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        boolean head = method.equals("HEAD");
        if (!head && !method.equals("GET")) exchange.getResponseHeaders().set("Allow", "GET, HEAD");
        var answer = answer(method, exchange.getRequestURI().getPath());
        byte[] body = answer.body().getBytes(StandardCharsets.UTF_8);
        exchange.getResponseHeaders().set("Content-Type", answer.contentType());
        exchange.getResponseHeaders().set("Cache-Control", "no-store");
        if (head) {
            exchange.sendResponseHeaders(answer.status(), -1); // HEAD: the status and headers a GET would get, no body
            return;
        }
        exchange.sendResponseHeaders(answer.status(), body.length);
        try (OutputStream out = exchange.getResponseBody()) {
            out.write(body);
        }
    }

    private Answer answer(String method, String path) {
        if (!path.equals("/metrics") && !path.equals("/healthz")) return Answer.text(404, "not found: " + path + " (try /metrics or /healthz)");
        if (!method.equals("GET") && !method.equals("HEAD")) return Answer.text(405, method + " is not allowed here: GET or HEAD");
        try {
            if (path.equals("/metrics")) return new Answer(200, Scrape.CONTENT_TYPE, scrape.text());
            return switch (scrape.health()) {
                case Health.Ok ok -> Answer.text(200, "ok");
                case Health.Unhealthy(var reason) -> Answer.text(503, reason);
            };
        } catch (RuntimeException e) {
            // a bug in a source: the scraper is told, rather than seeing the connection dropped
            return Answer.text(500, "internal error: " + e);
        }
    }
}
