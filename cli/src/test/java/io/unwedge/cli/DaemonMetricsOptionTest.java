package io.unwedge.cli;

import static io.unwedge.cli.DaemonConfigTest.parse;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.daemon.http.ListenAddress;
import java.nio.file.Files;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `daemon --metrics-listen`: over [daemon] metrics_listen, checked like the file's key; off by default on a virtual host. */
class DaemonMetricsOptionTest {

    @TempDir Path dir;

    String file(String text) throws Exception {
        return Files.writeString(dir.resolve("unwedge.toml"), text).toString();
    }

    ListenAddress listen(String... args) throws Exception {
        return parse(args).effectiveConfig().daemon().metricsListen();
    }

    @Test
    void productionServesLoopback9464AndAVirtualHostNothingUnlessAsked() throws Exception {
        assertThat(listen("--config", file(""))).isEqualTo(ListenAddress.DEFAULT);
        String sys = dir.resolve("lab/sys").toString();
        assertThat(listen("--sysfs", sys)).isEqualTo(ListenAddress.OFF);
        assertThat(listen("--sysfs", sys, "--config", file("[daemon]\ndebug = true\n"))).isEqualTo(ListenAddress.OFF);
        assertThat(listen("--sysfs", sys, "--config", file("[daemon]\nmetrics_listen = \"127.0.0.1:19000\"\n")).toString()).isEqualTo("127.0.0.1:19000");
        assertThat(listen("--sysfs", sys, "--metrics-listen", "127.0.0.1:19464").toString()).isEqualTo("127.0.0.1:19464");
    }

    @Test
    void theOptionOverridesTheFile() throws Exception {
        String f = file("[daemon]\nmetrics_listen = \"127.0.0.1:19000\"\n");
        assertThat(listen("--config", f, "--metrics-listen", "off")).isEqualTo(ListenAddress.OFF);
        assertThat(listen("--config", f, "--metrics-listen", "[::1]:9464").toString()).isEqualTo("[0:0:0:0:0:0:0:1]:9464");
        assertThat(listen("--config", f)).hasToString("127.0.0.1:19000");
    }

    @Test
    void aRemoteAddressNeedsTheFilesAllowRemote() throws Exception {
        assertThatThrownBy(() -> listen("--config", file(""), "--metrics-listen", "0.0.0.0:9464"))
                .isInstanceOf(Main.UsageError.class)
                .hasMessage("--metrics-listen 0.0.0.0:9464 is not a loopback address: " + ListenAddress.REMOTE_REFUSED
                        + "; set metrics_allow_remote = true in [daemon] of the config file to serve it beyond this host anyway");
        assertThat(listen("--config", file("[daemon]\nmetrics_allow_remote = true\n"), "--metrics-listen", "0.0.0.0:9464"))
                .hasToString("0.0.0.0:9464");
    }

    @Test
    void aBadValueIsAUsageErrorWithAnExample() {
        assertThatThrownBy(() -> listen("--sysfs", "/x/sys", "--metrics-listen", "9464"))
                .isInstanceOf(Main.UsageError.class)
                .hasMessage("--metrics-listen is \"9464\", which has no port: give host:port (e.g. --metrics-listen 127.0.0.1:9464, [::1]:9464 or off)");
        assertThatThrownBy(() -> listen("--sysfs", "/x/sys", "--metrics-listen", "gpu-host:9464")).hasMessageContaining("not an IP address");
    }
}
