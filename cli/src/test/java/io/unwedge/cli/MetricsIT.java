package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged daemon's /metrics and /healthz, scraped from outside while it recovers a virtual card:
 * {@code sim run}, the daemon and the scraper in one fresh network namespace, where nothing else listens on
 * the fixed port (an ephemeral one could not be known from outside). Loopback is down in a fresh namespace:
 * the script brings it up there.
 */
class MetricsIT {

    static final int PORT = 19464;

    @TempDir Path dir;

    @Test
    void aScrapeCountsTheRecoveryAndHealthzIsOk() throws Exception {
        CommandLineIT.requireNamespace();
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        String java = String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
        String daemonLog = dir.resolve("daemon.log").toString();
        String simLog = dir.resolve("sim.log").toString();
        String recovered = "unwedge_recoveries_total{method=\"rebind\",result=\"recovered\"}";
        String script = String.join("\n",
                "set -u",
                "ip link set lo up || exit 8",
                // curl when there is one; bash's /dev/tcp always for /healthz, so both ways are exercised
                "get_curl() { curl -s --max-time 10 -w 'status=%{http_code}\\n' \"http://127.0.0.1:" + PORT + "$1\"; }",
                "get_tcp() {",
                "  exec 3<>/dev/tcp/127.0.0.1/" + PORT + " || return 1",
                "  printf 'GET %s HTTP/1.0\\r\\nHost: 127.0.0.1\\r\\n\\r\\n' \"$1\" >&3",
                "  local status line; read -r _ status _ <&3",
                "  while IFS= read -r line <&3 && [ -n \"${line%$'\\r'}\" ]; do :; done",
                "  cat <&3; exec 3<&-; echo \"status=$status\"",
                "}",
                "get() { if command -v curl >/dev/null; then get_curl \"$1\"; else get_tcp \"$1\"; fi; }",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + simLog + "' 2>&1 &",
                "sim=$!",
                java + " daemon --sysfs '" + root.resolve("sys") + "' --settle-ms 300 --metrics-listen 127.0.0.1:" + PORT
                        + " > '" + daemonLog + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 200); do grep -q metrics-listening '" + daemonLog + "' && grep -q 'driver model running' '" + simLog + "' && break; sleep 0.05; done",
                "echo '== healthz before'; get_tcp /healthz",
                "echo '== metrics before'; get /metrics",
                "echo '== wedge'",
                java + " sim wedge --root '" + root + "' card1 --methods rebind || exit 9",
                // the count follows the recovery-end line (the report is handed out after it): poll the endpoint
                "for i in $(seq 1 300); do get /metrics | grep -qF '" + recovered + " ' && break; sleep 0.05; done",
                "echo '== metrics after'; get /metrics",
                "echo '== healthz after'; get_tcp /healthz",
                "echo '== stop'",
                "kill -TERM $daemon; wait $daemon; echo daemon-exit=$?",
                "kill -TERM $sim; wait $sim",
                "echo '== daemon log'; cat '" + daemonLog + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 120);
        assertThat(r.code()).as(r.out()).isZero();
        String out = r.out();
        String before = section(out, "== metrics before"), after = section(out, "== metrics after");
        assertThat(section(out, "== healthz before")).isEqualTo("ok\nstatus=200\n");
        assertThat(before).endsWith("status=200\n").doesNotContain("unwedge_recoveries_total{", "unwedge_wedge_events_total{");
        assertThat(value(before, "unwedge_up")).isEqualTo(1);
        assertThat(value(before, "unwedge_wedges_total")).isZero();
        assertThat(value(before, "unwedge_cards")).isEqualTo(2);
        assertThat(value(before, "unwedge_journal_up")).isEqualTo(1);
        assertThat(value(before, "unwedge_quarantined_devices")).isZero();
        assertThat(value(before, "unwedge_drains_total{outcome=\"ok\"}")).isZero();
        assertThat(after).endsWith("status=200\n");
        assertThat(value(after, recovered)).isEqualTo(1);
        assertThat(value(after, "unwedge_wedges_total")).isEqualTo(1);
        assertThat(value(after, "unwedge_wedge_events_total{driver=\"xe\",methods=\"rebind\"}")).isEqualTo(1);
        assertThat(value(after, "unwedge_drains_total{outcome=\"ok\"}")).isEqualTo(1);
        assertThat(value(after, "unwedge_drains_total{outcome=\"refused\"}")).isZero();
        assertThat(value(after, "unwedge_journal_errors_total")).isZero();
        assertThat(value(after, "unwedge_cards")).isEqualTo(2);
        assertThat(value(after, "unwedge_recovery_duration_seconds_count{method=\"rebind\"}")).isEqualTo(1);
        assertThat(value(after, "unwedge_unbind_latency_seconds_count")).isEqualTo(1);
        assertThat(value(after, "unwedge_unbind_latency_seconds_sum")).isPositive();
        assertThat(value(after, "unwedge_uevents_dropped_total{kind=\"spoofed\"}")).isZero();
        assertThat(value(after, "unwedge_quarantined_devices")).isZero();
        assertThat(section(out, "== healthz after")).isEqualTo("ok\nstatus=200\n");
        assertThat(out).contains("metrics-listening address=127.0.0.1:" + PORT, "outcome=recovered", "daemon-exit=0");
        assertThat(Files.readString(dir.resolve("daemon.log"))).doesNotContain("metrics-failed");
    }

    /** The value of the one sample line of {@code series} (labels as the client writes them: sorted by name). */
    static double value(String scrape, String series) {
        var lines = scrape.lines().filter(l -> l.startsWith(series + " ")).toList();
        assertThat(lines).as(series + " in:\n" + scrape).hasSize(1);
        return Double.parseDouble(lines.getFirst().substring(series.length() + 1));
    }

    /** The text after {@code marker}'s line, up to the next {@code ==} line. */
    static String section(String out, String marker) {
        int at = out.indexOf(marker + "\n");
        assertThat(at).as(marker + " in:\n" + out).isNotNegative();
        int start = at + marker.length() + 1;
        int end = out.indexOf("\n== ", start - 1);
        return out.substring(start, end < 0 ? out.length() : end + 1);
    }
}
