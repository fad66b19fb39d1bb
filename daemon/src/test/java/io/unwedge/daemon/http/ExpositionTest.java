package io.unwedge.daemon.http;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.Test;

/** The text format 0.0.4: escaping, label order, number forms, and names it refuses. */
class ExpositionTest {

    @Test
    void labelValuesEscapeBackslashQuoteAndLineFeedAndNothingElse() {
        var out = new Exposition().sample("x_total", 3, "a", "back\\slash \"quoted\"\nnext", "b", "tab\there é ✓ {}=,");
        assertThat(out.text()).isEqualTo("x_total{a=\"back\\\\slash \\\"quoted\\\"\\nnext\",b=\"tab\there é ✓ {}=,\"} 3\n");
    }

    @Test
    void helpEscapesBackslashAndLineFeedButNotQuotes() {
        var out = new Exposition().family("x_total", Exposition.Type.COUNTER, "a \\ b\n\"c\"");
        assertThat(out.text()).isEqualTo("# HELP x_total a \\\\ b\\n\"c\"\n# TYPE x_total counter\n");
    }

    @Test
    void secondsAreExactPlainDecimals() {
        assertThat(Exposition.seconds(100, 3)).isEqualTo("0.1");
        assertThat(Exposition.seconds(120_000, 3)).isEqualTo("120");
        assertThat(Exposition.seconds(1500, 3)).isEqualTo("1.5");
        assertThat(Exposition.seconds(500, 6)).isEqualTo("0.0005");
        assertThat(Exposition.seconds(0, 6)).isEqualTo("0");
        assertThat(Exposition.seconds(1_000_000_007L, 6)).isEqualTo("1000.000007");
    }

    @Test
    void badNamesAreRefusedRatherThanWrittenIntoTheScrape() {
        assertThatThrownBy(() -> new Exposition().sample("bad-name", 1)).hasMessageContaining("not a metric name: bad-name");
        assertThatThrownBy(() -> new Exposition().sample("ok", 1, "le-x", "v")).hasMessageContaining("not a label name: le-x");
        assertThatThrownBy(() -> new Exposition().sample("ok", 1, "__name__", "v")).hasMessageContaining("not a label name");
        assertThatThrownBy(() -> new Exposition().sample("ok", 1, "odd")).hasMessageContaining("pairs");
    }
}
