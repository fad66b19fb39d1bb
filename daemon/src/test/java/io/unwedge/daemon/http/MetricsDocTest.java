package io.unwedge.daemon.http;

import static io.unwedge.daemon.http.Reports.report;
import static io.unwedge.daemon.http.Reports.wedge;
import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.Supervisor;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** docs/metrics.md cannot drift from the code: a row for every family a scrape writes, with its type. */
class MetricsDocTest {

    static Path top() {
        for (Path p = Path.of("").toAbsolutePath(); p != null; p = p.getParent()) {
            if (Files.isRegularFile(p.resolve("pom.xml")) && Files.isDirectory(p.resolve("docs"))) return p;
        }
        throw new AssertionError("no checkout (pom.xml and docs/) above " + Path.of("").toAbsolutePath());
    }

    @Test
    void everyFamilyHasARowWithItsType() throws Exception {
        String doc = Files.readString(top().resolve("docs/metrics.md"));
        var registry = new MetricsRegistry();
        registry.finished(report(wedge("card0", "0000:03:00.0", 1), RecoveryMethod.REBIND, RecoveryReport.Result.RECOVERED, 10, 10L));
        var log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.INFO);
        String text = new Scrape(registry, new MetricsServer.Sources(() -> new Supervisor.Stats(0, 0, 0, 0, 0, 0, 0), () -> 0, () -> 0,
                () -> Health.OK, "x"), log).text();
        var m = Pattern.compile("(?m)^# TYPE (\\S+) (\\S+)$").matcher(text);
        var missing = new ArrayList<String>();
        int families = 0;
        while (m.find()) {
            families++;
            if (!Pattern.compile("(?m)^\\| `" + Pattern.quote(m.group(1)) + "` \\| " + m.group(2) + " \\|").matcher(doc).find()) {
                missing.add(m.group(1) + " " + m.group(2));
            }
        }
        assertThat(families).isEqualTo(16);
        assertThat(missing).as("families docs/metrics.md has no row for, with their type").isEmpty();
    }
}
