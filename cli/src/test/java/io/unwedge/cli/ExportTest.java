package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.core.Planner;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.UeventCodec;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.StepResult;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.daemon.journal.DrainRow;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.TelemetryRow;
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

    static final TelemetryRow.Devcoredump DUMP_A = new TelemetryRow.Devcoredump(Path.of("/var/lib/unwedge/devcoredump/a.bin"), 4096,
            sha256("dump a"), false);
    static final TelemetryRow.Devcoredump DUMP_B = new TelemetryRow.Devcoredump(Path.of("/var/lib/unwedge/devcoredump/b.bin"), 100,
            sha256("dump b, cut"), true);

    static String sha256(String s) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(s.getBytes(StandardCharsets.UTF_8)));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    static final DrainRow.Holder POLITE = new DrainRow.Holder(4242, "glxgears", Optional.of(1000), Optional.of("session-2.scope"),
            Optional.empty(), 1, 1, 1, Optional.of(DrainPolicy.Signal.TERM), DrainRow.Outcome.EXITED, Optional.of(37L));
    static final DrainRow.Holder STUBBORN = new DrainRow.Holder(4343, "mi\"ner", Optional.empty(), Optional.empty(),
            Optional.of("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef"), 2, 0, 0,
            Optional.of(DrainPolicy.Signal.KILL), DrainRow.Outcome.KILLED, Optional.of(10_004L));

    /**
     * Every kind of row: a finished recovery of card1 (0000:06:00.0) with two drained holders, a telemetry row of
     * another wedge of it, a quarantine of it released, one of card0 (0000:03:00.0) a daemon died in and a
     * restart closed, and card0 quarantined since.
     */
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
                if (step == Step.DRAIN) j.recordDrain(id, Optional.of(intent), List.of(POLITE, STUBBORN));
                results.add(r);
            }
            j.endRecovery(id, new RecoveryReport(e, e.bdf(), Optional.of(RecoveryMethod.REBIND), RecoveryReport.Result.RECOVERED,
                    "driver asked for rebind", results, Optional.of("card1"), 40, Optional.of(850L)));

            clock.now = T0.plusSeconds(10);
            var none = wedge("card1", "0000:06:00.0", 5250);
            j.recordTelemetry(j.recordEvent(none, clock.instant()), none, Optional.of("/usr/bin/glxgears"),
                    List.of(DUMP_A, DUMP_B), "");
            clock.now = T0.plusSeconds(20);
            j.quarantine(e.bdf(), "flapping: 3 wedges in 10 min", QuarantineMode.EXCLUDED);
            clock.now = T0.plusSeconds(25);
            j.release(e.bdf(), "unwedge release (uid 0)");

            clock.now = T0.plusMillis(60_040);
            var e2 = wedge("card0", "0000:03:00.0", 5300);
            long id2 = j.beginRecovery(j.recordEvent(e2, clock.instant()), e2);
            j.driver(id2, "xe");
            j.intent(id2, Step.UNBIND); // ... the daemon died
            clock.now = clock.now.plusSeconds(5);
            j.closeAtRestart(id2, "unbound", "resumed", "recovered", "restart: bound again", Optional.of("card0"));
            clock.now = T0.plusSeconds(70);
            j.quarantine(e2.bdf(), "every method failed (rebind, bus-reset)", QuarantineMode.UNBOUND);
        }
    }

    static List<Map<String, Object>> lines(String out) {
        return out.lines().map(StrictJson::object).toList();
    }

    String export(Clock clock, Journal.ExportFilter filter, long expected) throws Exception {
        var bytes = new ByteArrayOutputStream();
        try (var j = Journal.openReadOnly(dir, clock)) {
            assertThat(ExportCommand.export(j, filter, new PrintStream(bytes, true, StandardCharsets.UTF_8))).isEqualTo(expected);
        }
        return bytes.toString(StandardCharsets.UTF_8);
    }

    @SuppressWarnings("unchecked")
    static List<Map<String, Object>> list(Object o) {
        return (List<Map<String, Object>>) o;
    }

    @Test
    void everyLineIsStrictJsonWithItsKindAndEveryKindTheJournalHoldsIsThereWithItsFields() throws Exception {
        var clock = new Clock();
        journalTwo(dir, clock);
        String out = export(clock, Journal.ExportFilter.ALL, 11);
        assertThat(out.lines()).hasSize(11);
        var rows = lines(out);
        assertThat(rows).extracting(m -> m.get("kind")).containsExactly("event", "event", "event", "recovery", "recovery",
                "drain", "drain", "restart", "telemetry", "quarantine", "quarantine");
        assertThat(rows).allSatisfy(m -> assertThat(out.lines()).anyMatch(l -> l.startsWith("{\"kind\": \"" + m.get("kind") + "\", ")));

        var event = rows.get(0);
        assertThat(event).containsEntry("id", 1L).containsEntry("received_at", "2026-11-25T10:00:00Z").containsEntry("seqnum", 5208L)
                .containsEntry("card", "card1").containsEntry("bdf", "0000:06:00.0").containsEntry("methods", "rebind,bus-reset")
                .containsEntry("task", "glx\"gears\\[4242]");
        String raw = (String) event.get("raw_uevent");
        assertThat(raw.getBytes(StandardCharsets.UTF_8)).isEqualTo(UeventCodec.encode(wedge("card1", "0000:06:00.0", 5208).uevent()));
        assertThat(raw).startsWith("change@/devices/").contains("\0WEDGED=rebind,bus-reset\0").endsWith("\0");
        assertThat(out.lines().findFirst().orElseThrow()).contains("\\u0000WEDGED=rebind,bus-reset\\u0000");
        assertThat(rows.get(1)).containsEntry("seqnum", 5250L);
        assertThat(rows.get(2)).containsEntry("seqnum", 5300L).containsEntry("card", "card0");

        var first = rows.get(3);
        assertThat(first).containsEntry("id", 1L).containsEntry("event_id", 1L).containsEntry("bdf", "0000:06:00.0").containsEntry("card", "card1")
                .containsEntry("seqnum", 5208L).containsEntry("methods", "rebind,bus-reset").containsEntry("method", "rebind")
                .containsEntry("result", "recovered").containsEntry("task", "glx\"gears\\[4242]")
                .containsEntry("started_at", "2026-11-25T10:00:00Z").containsEntry("latency_us", 850L)
                .containsEntry("escalated_from", StrictJson.NULL);
        var steps = list(first.get("steps"));
        assertThat(steps).extracting(s -> s.get("step")).containsExactly("drain", "unbind", "bind", "settle");
        assertThat(steps).extracting(s -> s.get("outcome")).containsOnly("ok");
        assertThat(steps).extracting(s -> s.get("duration_us")).containsOnly(10_000L);
        assertThat(steps).allSatisfy(s -> assertThat(s).doesNotContainKey("holders")); // the drain lines hold them
        assertThat(steps.get(1)).containsEntry("detail", "did unbind");
        var second = rows.get(4);
        assertThat(second).containsEntry("id", 2L).containsEntry("card", "card0").containsEntry("result", "recovered")
                .containsEntry("reason", "restart: bound again");
        assertThat(list(second.get("steps"))).singleElement().satisfies(s ->
                assertThat(s).containsEntry("step", "unbind").containsEntry("outcome", StrictJson.NULL).containsEntry("ended_at", StrictJson.NULL));

        var drain = rows.get(5);
        assertThat(drain).containsEntry("recovery_id", 1L).containsEntry("step_id", steps.getFirst().get("id"))
                .containsEntry("at", "2026-11-25T10:00:00.010Z").containsEntry("pid", 4242L).containsEntry("comm", "glxgears")
                .containsEntry("uid", 1000L).containsEntry("unit", "session-2.scope").containsEntry("container", StrictJson.NULL)
                .containsEntry("fds", 1L).containsEntry("maps", 1L).containsEntry("clients", 1L).containsEntry("signal", "SIGTERM")
                .containsEntry("outcome", "exited").containsEntry("exit_ms", 37L);
        assertThat(rows.get(6)).containsEntry("pid", 4343L).containsEntry("comm", "mi\"ner").containsEntry("uid", StrictJson.NULL)
                .containsEntry("container", STUBBORN.container().orElseThrow()).containsEntry("signal", "SIGKILL").containsEntry("outcome", "killed")
                .containsEntry("exit_ms", 10_004L);

        assertThat(rows.get(7)).isEqualTo(Map.of("kind", "restart", "recovery_id", 2L, "at", "2026-11-25T10:01:05.040Z", "found", "unbound",
                "action", "resumed", "detail", "restart: bound again"));
        assertThat(rows.get(8)).containsEntry("event_id", 2L).containsEntry("at", "2026-11-25T10:00:10Z").containsEntry("bdf", "0000:06:00.0")
                .containsEntry("card", "card1").containsEntry("pid", 4242L).containsEntry("task", "glx\"gears\\")
                .containsEntry("exe", "/usr/bin/glxgears")
                .containsEntry("devcoredumps", List.of("/var/lib/unwedge/devcoredump/a.bin", "/var/lib/unwedge/devcoredump/b.bin"))
                .containsEntry("dumps", List.of(
                        Map.of("file", "/var/lib/unwedge/devcoredump/a.bin", "bytes", 4096L, "sha256", DUMP_A.sha256(), "truncated", false),
                        Map.of("file", "/var/lib/unwedge/devcoredump/b.bin", "bytes", 100L, "sha256", DUMP_B.sha256(), "truncated", true)))
                .containsEntry("bytes", 4196L).containsEntry("note", "");
        assertThat(rows.get(9)).containsEntry("bdf", "0000:06:00.0").containsEntry("since", "2026-11-25T10:00:20Z")
                .containsEntry("reason", "flapping: 3 wedges in 10 min").containsEntry("mode", "excluded")
                .containsEntry("released_at", "2026-11-25T10:00:25Z").containsEntry("released_by", "unwedge release (uid 0)");
        assertThat(rows.get(10)).containsEntry("bdf", "0000:03:00.0").containsEntry("mode", "unbound")
                .containsEntry("released_at", StrictJson.NULL).containsEntry("released_by", StrictJson.NULL);
    }

    @Test
    void sinceAndDeviceKeepTheirRowsOnly() throws Exception {
        var clock = new Clock();
        journalTwo(dir, clock);
        var later = lines(export(clock, new Journal.ExportFilter(Optional.of(T0.plusSeconds(30)), Optional.empty(), Optional.empty()), 4));
        assertThat(later).extracting(m -> m.get("kind") + " " + m.getOrDefault("bdf", m.get("recovery_id")))
                .containsExactly("event 0000:03:00.0", "recovery 0000:03:00.0", "restart 2", "quarantine 0000:03:00.0");

        // a row since the cut names a recovery begun before it: the recovery and its event come along
        var restartOnly = lines(export(clock, new Journal.ExportFilter(Optional.of(T0.plusSeconds(62)), Optional.empty(), Optional.empty()), 4));
        assertThat(restartOnly).extracting(m -> m.get("kind") + " " + m.getOrDefault("bdf", m.get("recovery_id")))
                .containsExactly("event 0000:03:00.0", "recovery 0000:03:00.0", "restart 2", "quarantine 0000:03:00.0");
        var drainsOnly = lines(export(clock, new Journal.ExportFilter(Optional.of(T0.plusMillis(5)), Optional.empty(), Optional.empty()), 11));
        assertThat(drainsOnly).extracting(m -> m.get("kind")).containsExactly("event", "event", "event", "recovery", "recovery",
                "drain", "drain", "restart", "telemetry", "quarantine", "quarantine");

        var gpu1 = PciAddress.parse("0000:06:00.0").orElseThrow();
        var one = lines(export(clock, new Journal.ExportFilter(Optional.empty(), Optional.of(gpu1), Optional.empty()), 7));
        assertThat(one).extracting(m -> m.get("kind")).containsExactly("event", "event", "recovery", "drain", "drain", "telemetry", "quarantine");
        assertThat(one).filteredOn(m -> m.containsKey("bdf")).allSatisfy(m -> assertThat(m).containsEntry("bdf", "0000:06:00.0"));

        var card0 = lines(export(clock, new Journal.ExportFilter(Optional.empty(), Optional.empty(), Optional.of("card0")), 4));
        assertThat(card0).extracting(m -> m.get("kind")).containsExactly("event", "recovery", "restart", "quarantine");
    }

    @Test
    void anEscalationSinceTheCutBringsTheAttemptItFollowsAlong() throws Exception {
        var clock = new Clock();
        var log = new EventLog(new PrintStream(new ByteArrayOutputStream(), true, StandardCharsets.UTF_8), clock, EventLog.Level.INFO);
        try (var j = Journal.open(dir, clock, log)) {
            var e = wedge("card1", "0000:06:00.0", 5208);
            long event = j.recordEvent(e, clock.instant());
            long first = j.beginRecovery(event, e);
            clock.now = T0.plusSeconds(100);
            j.beginEscalation(event, e, first);
        }
        var rows = lines(export(clock, new Journal.ExportFilter(Optional.of(T0.plusSeconds(50)), Optional.empty(), Optional.empty()), 3));
        assertThat(rows).extracting(m -> m.get("kind") + " " + m.get("id") + " " + m.getOrDefault("escalated_from", "-"))
                .containsExactly("event 1 -", "recovery 1 " + StrictJson.NULL, "recovery 2 1");
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
