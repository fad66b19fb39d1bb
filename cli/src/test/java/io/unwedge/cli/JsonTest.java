package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Instant;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.Test;

/** The hand-written JSON and the --since forms. */
class JsonTest {

    @Test
    void stringsAreEscapedPerRfc8259() {
        assertThat(Json.quote("a\"b\\c\nd\te\u0001f\u007fé")).isEqualTo("\"a\\\"b\\\\c\\nd\\te\\u0001f\\u007fé\"");
    }

    @Test
    void valuesNestAndEmptyIsNull() {
        assertThat(Json.object("n", 1L, "s", "x", "none", Optional.empty(), "some", Optional.of(2),
                "t", Instant.parse("2026-11-25T10:00:00.123456789Z"), "l", List.of(1, "a"), "raw", new Json.Raw("{}")))
                .isEqualTo("{\"n\": 1, \"s\": \"x\", \"none\": null, \"some\": 2, \"t\": \"2026-11-25T10:00:00.123456Z\", "
                        + "\"l\": [1,\n \"a\"], \"raw\": {}}");
    }

    @Test
    void sinceTakesAnInstantOrATimeAgo() {
        var now = Instant.parse("2026-11-25T10:00:00Z");
        assertThat(HistoryCommand.since("90s", now)).isEqualTo("2026-11-25T09:58:30Z");
        assertThat(HistoryCommand.since("1h", now)).isEqualTo("2026-11-25T09:00:00Z");
        assertThat(HistoryCommand.since("2d", now)).isEqualTo("2026-11-23T10:00:00Z");
        assertThat(HistoryCommand.since("2026-11-25T08:00:00Z", now)).isEqualTo("2026-11-25T08:00:00Z");
        assertThatThrownBy(() -> HistoryCommand.since("1w", now)).hasMessageContaining("--since must be");
        // too far for the journal's microseconds, or for Instant itself: a usage error, not a crash (exit 70)
        for (var far : java.util.List.of("9999999999999d", "300000000d", "+300000-01-01T00:00:00Z", "99999999999999999999s")) {
            assertThatThrownBy(() -> HistoryCommand.since(far, now)).as(far).isInstanceOf(Main.UsageError.class).hasMessageContaining("--since");
        }
    }
}
