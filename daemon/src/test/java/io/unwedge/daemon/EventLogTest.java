package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.time.Instant;
import java.time.InstantSource;
import org.junit.jupiter.api.Test;

class EventLogTest {

    static final InstantSource CLOCK = InstantSource.fixed(Instant.parse("2026-11-25T10:00:00.123456Z"));

    static String line(EventLog.Format format, boolean prefix, EventLog.Level level, String event, Object... fields) {
        var out = new ByteArrayOutputStream();
        new EventLog(new PrintStream(out, true, StandardCharsets.UTF_8), CLOCK, EventLog.Level.DEBUG, format, prefix)
                .log(level, event, fields);
        return out.toString(StandardCharsets.UTF_8);
    }

    @Test
    void jsonIsOneObjectPerLineWithTheSameKeysAndTheFreeTextAsMsg() {
        assertThat(line(EventLog.Format.JSON, false, EventLog.Level.INFO, "recovered", "card", "card1", "ms", 412L, "dry_run", false,
                "skipped", null, "the GPU is back"))
                .isEqualTo("{\"time\":\"2026-11-25T10:00:00.123Z\",\"level\":\"info\",\"event\":\"recovered\",\"card\":\"card1\","
                        + "\"ms\":412,\"dry_run\":false,\"msg\":\"the GPU is back\"}" + System.lineSeparator());
    }

    @Test
    void jsonEscapesQuotesBackslashesAndEveryControlCharacter() {
        String hostile = "a\"b\\c\nd\re\tf\u0000g\u001fh\u007fi\u2028j é ✓";
        assertThat(line(EventLog.Format.JSON, false, EventLog.Level.WARN, "x", "comm", hostile, hostile))
                .isEqualTo("{\"time\":\"2026-11-25T10:00:00.123Z\",\"level\":\"warn\",\"event\":\"x\","
                        + "\"comm\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0000g\\u001fh\\u007fi\\u2028j é ✓\","
                        + "\"msg\":\"a\\\"b\\\\c\\nd\\re\\tf\\u0000g\\u001fh\\u007fi\\u2028j é ✓\"}" + System.lineSeparator());
        // one physical line whatever the input
        assertThat(line(EventLog.Format.JSON, false, EventLog.Level.WARN, "x", "k", hostile).strip()).doesNotContain("\n", "\r");
    }

    @Test
    void aFieldNamedLikeAFixedKeyIsNotADuplicate() {
        assertThat(line(EventLog.Format.JSON, false, EventLog.Level.INFO, "x", "time", "soon", "level", 3))
                .contains("\"_time\":\"soon\"", "\"_level\":3").containsOnlyOnce("\"time\":");
    }

    @Test
    void textStaysAsItWas() {
        assertThat(line(EventLog.Format.TEXT, false, EventLog.Level.WARN, "uevent-dropped", "kind", "SPOOFED", "detail", "port 42", "ignoring message"))
                .isEqualTo("2026-11-25T10:00:00.123Z warn  uevent-dropped kind=SPOOFED detail=\"port 42\" — ignoring message" + System.lineSeparator());
    }

    @Test
    void theJournalPrefixIsTheSdDaemonPriority() {
        assertThat(line(EventLog.Format.TEXT, true, EventLog.Level.ERROR, "e")).startsWith("<3>error e");
        assertThat(line(EventLog.Format.TEXT, true, EventLog.Level.WARN, "e")).startsWith("<4>warn  e");
        assertThat(line(EventLog.Format.TEXT, true, EventLog.Level.INFO, "e")).startsWith("<6>info  e");
        assertThat(line(EventLog.Format.TEXT, true, EventLog.Level.DEBUG, "e")).startsWith("<7>debug e");
        assertThat(line(EventLog.Format.JSON, true, EventLog.Level.WARN, "e")).startsWith("<4>{\"time\"");
    }

    @Test
    void aTextLineForTheJournalHasNoTimeStampOfItsOwn() {
        assertThat(line(EventLog.Format.TEXT, true, EventLog.Level.WARN, "uevent-dropped", "kind", "SPOOFED", "ignoring message"))
                .isEqualTo("<4>warn  uevent-dropped kind=SPOOFED — ignoring message" + System.lineSeparator());
    }

    @Test
    void formatsParseByTheirOptionNames() {
        assertThat(EventLog.Format.parse("json")).contains(EventLog.Format.JSON);
        assertThat(EventLog.Format.parse("text")).contains(EventLog.Format.TEXT);
        assertThat(EventLog.Format.parse("JSON")).isEmpty();
    }

    @Test
    void listenersHearEveryEventByLevelAndNameWrittenOrNot() {
        var out = new ByteArrayOutputStream();
        var log = new EventLog(new PrintStream(out, true, StandardCharsets.UTF_8), CLOCK, EventLog.Level.WARN);
        var heard = new java.util.ArrayList<String>();
        log.info("before-listening");
        log.listen((level, event) -> heard.add(level + " " + event));
        log.debug("quiet", "k", "v");
        log.error("journal-failed", "error", "disk I/O error");
        assertThat(heard).containsExactly("DEBUG quiet", "ERROR journal-failed");
        assertThat(out.toString(StandardCharsets.UTF_8)).doesNotContain("quiet", "before-listening").contains("journal-failed");
    }
}
