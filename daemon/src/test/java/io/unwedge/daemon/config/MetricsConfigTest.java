package io.unwedge.daemon.config;

import static io.unwedge.daemon.config.ConfigTest.only;
import static io.unwedge.daemon.config.ConfigTest.parse;
import static io.unwedge.daemon.config.ConfigTest.problems;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.config.ConfigException.Problem;
import io.unwedge.daemon.http.ListenAddress;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;

/** [daemon] metrics_listen and metrics_allow_remote: read, checked with their line, written back. */
class MetricsConfigTest {

    @Test
    void theDefaultIsLoopback9464AndNotRemote() throws Exception {
        var d = parse("").daemon();
        assertThat(d.metricsListen()).isEqualTo(ListenAddress.DEFAULT);
        assertThat(d.metricsListen().toString()).isEqualTo("127.0.0.1:9464");
        assertThat(d.metricsAllowRemote()).isFalse();
    }

    @Test
    void offAndOtherLoopbackAddressesAreRead() throws Exception {
        assertThat(parse("[daemon]\nmetrics_listen = \"off\"\n").daemon().metricsListen()).isEqualTo(ListenAddress.OFF);
        assertThat(parse("[daemon]\nmetrics_listen = \"127.0.0.2:19464\"\n").daemon().metricsListen().toString()).isEqualTo("127.0.0.2:19464");
        assertThat(parse("[daemon]\nmetrics_listen = \"localhost:9100\"\n").daemon().metricsListen().toString()).isEqualTo("127.0.0.1:9100");
    }

    @Test
    void aRemoteAddressNeedsAllowRemoteAndTheProblemIsOnItsLine() throws Exception {
        var p = only("[daemon]\ndebug = true\nmetrics_listen = \"0.0.0.0:9464\"\n");
        assertThat(p.line()).isEqualTo(3);
        assertThat(p.message()).isEqualTo("'metrics_listen' in [daemon] is 0.0.0.0:9464, not a loopback address: " + ListenAddress.REMOTE_REFUSED
                + "; set metrics_allow_remote = true to serve it beyond this host anyway (e.g. metrics_listen = \"127.0.0.1:9464\")");
        // the key's order in the table does not matter
        var allowed = parse("[daemon]\nmetrics_listen = \"0.0.0.0:9464\"\nmetrics_allow_remote = true\n").daemon();
        assertThat(allowed.metricsListen().toString()).isEqualTo("0.0.0.0:9464");
        assertThat(allowed.metricsAllowRemote()).isTrue();
        assertThat(parse("[daemon]\nmetrics_allow_remote = true\n").daemon().metricsListen()).isEqualTo(ListenAddress.DEFAULT);
    }

    @Test
    void badValuesSayWhatIsWrongWithAnExample() {
        var p = only("[daemon]\n\nmetrics_listen = \"9464\"\n");
        assertThat(p).isEqualTo(new Problem(3, "'metrics_listen' in [daemon] is \"9464\", which has no port: give host:port; "
                + "it is host:port with an IP address, or \"off\" (e.g. metrics_listen = \"127.0.0.1:9464\")"));
        assertThat(only("[daemon]\nmetrics_listen = \"prometheus.lan:9464\"\n").message())
                .contains("\"prometheus.lan\" is not an IP address", "DNS lookup", "(e.g. metrics_listen = \"127.0.0.1:9464\")");
        assertThat(only("[daemon]\nmetrics_listen = \"127.0.0.1:99999\"\n").message()).contains("from 0 to 65535");
        assertThat(only("[daemon]\nmetrics_listen = 9464\n").message()).isEqualTo(
                "'metrics_listen' in [daemon] must be a string, not an integer (e.g. metrics_listen = \"127.0.0.1:9464\")");
        assertThat(only("[daemon]\nmetrics_allow_remote = \"yes\"\n").message()).startsWith("'metrics_allow_remote' in [daemon] must be true or false");
        assertThat(only("[daemon]\nmetrics_listn = \"off\"\n").message()).contains("did you mean 'metrics_listen'?");
        // every problem of the file at once
        assertThat(problems("[daemon]\nmetrics_listen = \"x\"\nmetrics_allow_remote = 1\n")).extracting(Problem::line).containsExactly(2, 3);
    }

    @Test
    void writtenBackItReadsTheSame() throws Exception {
        for (var text : new String[] {"off", "127.0.0.1:0", "[::1]:19464", "10.0.0.1:9464"}) {
            var c = parse("[daemon]\nmetrics_listen = \"" + text + "\"\nmetrics_allow_remote = true\n");
            assertThat(parse(c.toToml())).as(text).isEqualTo(c);
            assertThat(c.toToml()).contains("metrics_listen = \"" + c.daemon().metricsListen() + "\"\nmetrics_allow_remote = true\n");
        }
    }

    @Test
    void theRecordRefusesARemoteAddressWithoutAllowRemote() {
        assertThatThrownBy(() -> new Config.Daemon(Path.of("/s"), false, EventLog.Format.TEXT, false, 1, 1, ListenAddress.parse("[::]:9464"), false))
                .hasMessageContaining("is not a loopback address and metrics_allow_remote is false");
    }
}
