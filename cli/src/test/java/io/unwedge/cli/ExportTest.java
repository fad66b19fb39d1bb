package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.Planner;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.journal.Journal;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.time.Instant;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `export` on a journal written through the daemon's API: every line strict JSON, holding what was journaled. */
class ExportTest {

    static final Instant T0 = Instant.parse("2026-11-25T10:00:00Z");

    @TempDir Path dir;

    static final class Clock implements InstantSource {
        Instant now = T0;

        @Override
        public Instant instant() {
            return now;
        }
    }

    static WedgedEvent wedge(String card, String bdf, long seqnum) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("PID", "4242");
        f.put("TASK", "glx\"gears\\");
        f.put("DEVNAME", "dri/" + card);
        f.put("SEQNUM", Long.toString(seqnum));
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/" + bdf + "/drm/" + card, f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    /** A finished recovery of card1 and one of card0 a daemon died in and a restart closed. */
    static void journalTwo(Path dir, Clock clock) throws Exception {
        var log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), clock, EventLog.Level.INFO);
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card1", "0000:06:00.0", 5208);
            long id = j.beginRecovery(j.recordEvent(e, clock.instant()), e);
            j.driver(id, "xe");
            var results = new ArrayList<StepResult>();
            for (Step step : Planner.REBIND_STEPS) {
                var intent = j.intent(id, step);
                clock.now = clock.now.plusMillis(10);
                var r = new StepResult(step, StepResult.Outcome.OK, 10, "did " + step);
                j.stepEnded(intent, r);
                results.add(r);
            }
            j.endRecovery(id, new RecoveryReport(e, e.bdf(), Optional.of(RecoveryMethod.REBIND), RecoveryReport.Result.RECOVERED,
                    "driver asked for rebind", results, Optional.of("card1"), 40, Optional.of(850L)));

            clock.now = clock.now.plusSeconds(60);
            var e2 = wedge("card0", "0000:03:00.0", 5300);
            long id2 = j.beginRecovery(j.recordEvent(e2, clock.instant()), e2);
            j.driver(id2, "xe");
            j.intent(id2, Step.UNBIND); // ... the daemon died
            clock.now = clock.now.plusSeconds(5);
            j.closeAtRestart(id2, "unbound", "resumed", "recovered", "restart: bound again", Optional.of("card0"));
        }
    }

    static List<Map<String, Object>> lines(String out) {
        return out.lines().map(StrictJson::object).toList();
    }

    @Test
    void everyLineIsStrictJsonWithTheEventItsRawUeventItsStepsAndItsRestarts() throws Exception {
        var clock = new Clock();
        journalTwo(dir, clock);
        var bytes = new ByteArrayOutputStream();
        try (var j = Journal.openReadOnly(dir, clock)) {
            assertThat(ExportCommand.export(j, Optional.empty(), new PrintStream(bytes, true, StandardCharsets.UTF_8))).isEqualTo(2);
        }
        String out = bytes.toString(StandardCharsets.UTF_8);
        assertThat(out.lines()).hasSize(2);
        var rows = lines(out);

        var first = rows.get(0);
        assertThat(first).containsEntry("id", 1L).containsEntry("bdf", "0000:06:00.0").containsEntry("card", "card1")
                .containsEntry("seqnum", 5208L).containsEntry("methods", "rebind,bus-reset").containsEntry("method", "rebind")
                .containsEntry("result", "recovered").containsEntry("task", "glx\"gears\\[4242]")
                .containsEntry("started_at", "2026-11-25T10:00:00Z").containsEntry("latency_us", 850L)
                .containsEntry("escalated_from", StrictJson.NULL);
        String raw = (String) first.get("raw_uevent");
        assertThat(raw.getBytes(StandardCharsets.UTF_8)).isEqualTo(UeventCodec.encode(wedge("card1", "0000:06:00.0", 5208).uevent()));
        assertThat(raw).startsWith("change@/devices/").contains("\0WEDGED=rebind,bus-reset\0").endsWith("\0");
        assertThat(out.lines().findFirst().orElseThrow()).contains("\\u0000WEDGED=rebind,bus-reset\\u0000");
        @SuppressWarnings("unchecked") var steps = (List<Map<String, Object>>) first.get("steps");
        assertThat(steps).extracting(s -> s.get("step")).containsExactly("drain", "unbind", "bind", "settle");
        assertThat(steps).extracting(s -> s.get("outcome")).containsOnly("ok");
        assertThat(steps).extracting(s -> s.get("duration_us")).containsOnly(10_000L);
        assertThat(steps.get(1)).containsEntry("detail", "did unbind");
        assertThat(first.get("restarts")).isEqualTo(List.of());

        var second = rows.get(1);
        assertThat(second).containsEntry("id", 2L).containsEntry("card", "card0").containsEntry("result", "recovered")
                .containsEntry("reason", "restart: bound again");
        @SuppressWarnings("unchecked") var steps2 = (List<Map<String, Object>>) second.get("steps");
        assertThat(steps2).singleElement().satisfies(s -> {
            assertThat(s).containsEntry("step", "unbind").containsEntry("outcome", StrictJson.NULL).containsEntry("ended_at", StrictJson.NULL);
        });
        assertThat(second.get("restarts")).isEqualTo(List.of(Map.of("at", "2026-11-25T10:01:05.040Z", "found", "unbound",
                "action", "resumed", "detail", "restart: bound again")));

        // --since keeps the later one only
        var later = new ByteArrayOutputStream();
        try (var j = Journal.openReadOnly(dir, clock)) {
            ExportCommand.export(j, Optional.of(T0.plusSeconds(30)), new PrintStream(later, true, StandardCharsets.UTF_8));
        }
        assertThat(lines(later.toString(StandardCharsets.UTF_8))).extracting(m -> m.get("id")).containsExactly(2L);
    }

    @Test
    void theStrictParserRefusesWhatIsNotJson() {
        for (String bad : List.of("{\"a\": 1,}", "{\"a\": \"x\u0000\"}", "{\"a\": 1} x", "{\"a\": 1, \"a\": 2}", "[01]", "{'a': 1}")) {
            assertThatThrownBy(() -> StrictJson.parse(bad)).as(bad).isInstanceOf(IllegalArgumentException.class);
        }
        assertThat(StrictJson.parse("{\"a\": [1, -2.5e1, true, null, \"\\u0000\"]}"))
                .isEqualTo(Map.of("a", List.of(1L, -25.0, true, StrictJson.NULL, "\0")));
    }
}
