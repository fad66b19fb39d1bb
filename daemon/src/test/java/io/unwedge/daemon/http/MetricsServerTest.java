package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.Supervisor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.net.ConnectException;
import java.net.InetAddress;
import java.net.Socket;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.time.Duration;
import java.time.InstantSource;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Supplier;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

/** The endpoint over real HTTP on an ephemeral loopback port, against fake sources. */
class MetricsServerTest {

    final EventLog log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), InstantSource.system(),
            EventLog.Level.DEBUG);
    final AtomicReference<Supervisor.Stats> stats = new AtomicReference<>(new Supervisor.Stats(5, 1, 0, 0, 0, 0, 0));
    final AtomicReference<Supplier<Health>> health = new AtomicReference<>(() -> Health.OK);
    final MetricsRegistry registry = new MetricsRegistry();
    final MetricsServer.Sources sources = new MetricsServer.Sources(() -> stats.get(), () -> 2, () -> 0, () -> health.get().get(), "test");
    final HttpClient http = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();
    MetricsServer server;

    @BeforeEach
    void start() throws Exception {
        server = MetricsServer.start(new ListenAddress.At(InetAddress.getByName("127.0.0.1"), 0), false, registry, sources, log);
    }

    @AfterEach
    void stop() {
        server.close();
        http.close();
    }

    HttpResponse<String> send(String method, String path) throws Exception {
        var request = HttpRequest.newBuilder(URI.create("http://" + server.describe() + path)).timeout(Duration.ofSeconds(10))
                .method(method, HttpRequest.BodyPublishers.noBody()).build();
        return http.send(request, HttpResponse.BodyHandlers.ofString());
    }

    @Test
    void portZeroGetsARealPortOnLoopback() {
        assertThat(server.address().getAddress().isLoopbackAddress()).isTrue();
        assertThat(server.address().getPort()).isPositive();
        assertThat(server.describe()).isEqualTo("127.0.0.1:" + server.address().getPort());
    }

    @Test
    void metricsIsTheTextFormatReadAtEachScrape() throws Exception {
        var r = send("GET", "/metrics");
        assertThat(r.statusCode()).isEqualTo(200);
        assertThat(r.headers().firstValue("Content-Type")).contains("text/plain; version=0.0.4; charset=utf-8");
        assertThat(r.body()).isEqualTo(new Scrape(registry, sources, log).text());
        var before = Exposed.parse(r.body());
        assertThat(before.value("unwedge_up")).isEqualTo(1);
        assertThat(before.value("unwedge_uevents_total")).isEqualTo(5);
        assertThat(before.value("unwedge_wedges_total")).isEqualTo(1);
        assertThat(before.value("unwedge_cards")).isEqualTo(2);
        assertThat(before.value("unwedge_quarantined_devices")).isZero();
        assertThat(before.has("unwedge_recoveries_total")).isFalse();
        // the daemon recovers a card; the next scrape says so
        stats.set(new Supervisor.Stats(9, 2, 0, 0, 0, 0, 0));
        registry.finished(report(wedge("card1", "0000:06:00.0", 44), RecoveryMethod.REBIND, RecoveryReport.Result.RECOVERED, 412, 850L));
        var after = Exposed.parse(send("GET", "/metrics?ignored=1").body());
        assertThat(after.value("unwedge_wedges_total")).isEqualTo(2);
        assertThat(after.value("unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"}")).isEqualTo(1);
        assertThat(after.value("unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind,bus-reset\"}")).isEqualTo(1);
        assertThat(after.value("unwedge_recovery_duration_seconds_bucket{method=\"rebind\",le=\"0.5\"}")).isEqualTo(1);
        assertThat(after.value("unwedge_unbind_latency_seconds_sum")).isEqualTo(0.00085);
    }

    @Test
    void healthzIs200OkWhileAliveAnd503WithTheReasonOtherwise() throws Exception {
        var ok = send("GET", "/healthz");
        assertThat(ok.statusCode()).isEqualTo(200);
        assertThat(ok.body()).isEqualTo("ok\n");
        health.set(() -> new Health.Unhealthy("the event loop has ended: the daemon is stopping"));
        var down = send("GET", "/healthz");
        assertThat(down.statusCode()).isEqualTo(503);
        assertThat(down.body()).isEqualTo("the event loop has ended: the daemon is stopping\n");
        assertThat(send("HEAD", "/healthz").statusCode()).isEqualTo(503);
    }

    @Test
    void headGivesTheStatusWithoutABody() throws Exception {
        for (var path : new String[] {"/metrics", "/healthz"}) {
            var r = send("HEAD", path);
            assertThat(r.statusCode()).as(path).isEqualTo(200);
            assertThat(r.body()).as(path).isEmpty();
        }
    }

    @Test
    void otherMethodsAre405WithAllowAndOtherPaths404() throws Exception {
        for (var method : new String[] {"POST", "PUT", "DELETE"}) {
            var r = send(method, "/metrics");
            assertThat(r.statusCode()).as(method).isEqualTo(405);
            assertThat(r.headers().firstValue("Allow")).contains("GET, HEAD");
            assertThat(r.body()).isEqualTo(method + " is not allowed here: GET or HEAD\n");
        }
        for (var path : new String[] {"/", "/metricsx", "/metrics/", "/health", "/../metrics"}) {
            var r = send("GET", path);
            assertThat(r.statusCode()).as(path).isEqualTo(404);
        }
        assertThat(send("GET", "/nope").body()).isEqualTo("not found: /nope (try /metrics or /healthz)\n");
    }

    @Test
    void aSourceThatThrowsIsA500ThatSaysSoAndTheServerCarriesOn() throws Exception {
        stats.set(null);
        var broken = new MetricsServer.Sources(() -> {
            throw new IllegalStateException("stats broke");
        }, () -> 2, () -> 0, () -> Health.OK, "test");
        try (var other = MetricsServer.start(new ListenAddress.At(InetAddress.getByName("127.0.0.1"), 0), false, registry, broken, log)) {
            var r = http.send(HttpRequest.newBuilder(URI.create("http://" + other.describe() + "/metrics")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(r.statusCode()).isEqualTo(500);
            assertThat(r.body()).contains("stats broke");
            var h = http.send(HttpRequest.newBuilder(URI.create("http://" + other.describe() + "/healthz")).build(), HttpResponse.BodyHandlers.ofString());
            assertThat(h.statusCode()).isEqualTo(200);
        }
    }

    @Test
    void aNonLoopbackAddressIsRefusedUnlessAllowedAndNothingIsBound() throws Exception {
        var any = new ListenAddress.At(InetAddress.getByName("0.0.0.0"), 0);
        assertThatThrownBy(() -> MetricsServer.start(any, false, registry, sources, log))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("0.0.0.0:0 is not a loopback address, and metrics_allow_remote is false")
                .hasMessageContaining("no authentication");
        try (var remote = MetricsServer.start(any, true, registry, sources, log)) {
            assertThat(remote.address().getAddress().isAnyLocalAddress()).isTrue();
        }
    }

    @Test
    void aPortInUseIsAnIOException() throws Exception {
        var taken = new ListenAddress.At(InetAddress.getByName("127.0.0.1"), server.address().getPort());
        assertThatThrownBy(() -> MetricsServer.start(taken, false, registry, sources, log)).isInstanceOf(java.net.BindException.class);
    }

    @Test
    void afterCloseNothingListens() throws Exception {
        int port = server.address().getPort();
        server.close();
        assertThatThrownBy(() -> new Socket("127.0.0.1", port).close()).isInstanceOf(ConnectException.class);
    }
}
