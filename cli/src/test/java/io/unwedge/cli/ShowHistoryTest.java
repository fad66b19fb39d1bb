package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.journal.DrainRow;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.TelemetryRow;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `show` tells what a restart found and did, and `history` marks an escalation. */
class ShowHistoryTest {

    @TempDir Path dir;

    static WedgedEvent wedge() {
        return wedge("rebind,bus-reset", "77", Map.of());
    }

    /** card0's wedge as the kernel words it; {@code task}: PID and TASK, when the driver named one. */
    static WedgedEvent wedge(String methods, String seqnum, Map<String, String> task) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", methods);
        f.putAll(task);
        f.put("SEQNUM", seqnum);
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0/drm/card0", f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    /** show and history print to System.out, not picocli's writer: run them with System.out captured. */
    static ConfigCommandTest.Result run(String... args) {
        var bytes = new java.io.ByteArrayOutputStream();
        var was = System.out;
        System.setOut(new PrintStream(bytes, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            var r = ConfigCommandTest.run(args);
            return new ConfigCommandTest.Result(r.code(), bytes.toString(java.nio.charset.StandardCharsets.UTF_8) + r.out(), r.err());
        } finally {
            System.setOut(was);
        }
    }

    @Test
    void showListsTheRestartAndHistoryTheEscalation() throws Exception {
        var log = new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR);
        try (var j = Journal.open(Files.createDirectories(dir), InstantSource.system(), log)) {
            var e = wedge();
            long ev = j.recordEvent(e, Instant.now());
            long first = j.beginRecovery(ev, e);
            j.driver(first, "xe");
            j.stepEnded(j.intent(first, Step.UNBIND), new StepResult(Step.UNBIND, StepResult.Outcome.OK, 2, "wrote"));
            j.closeAtRestart(first, "unbound", "resumed", "failed", "restart: found unbound; bind timeout", Optional.empty());
            long second = j.beginEscalation(ev, e, first);
            assertThat(second).isGreaterThan(first);
        }
        var show = run("show", "1", "--state-dir", dir.toString());
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("daemon restarted: found unbound, resumed:");
        var json = run("show", "1", "--state-dir", dir.toString(), "--json");
        assertThat(json.out()).contains("\"restarts\": [{\"at\": ", "\"found\": \"unbound\", \"action\": \"resumed\"");
        var history = run("history", "--state-dir", dir.toString());
        assertThat(history.out()).contains("(escalated from 1)");
        var escalation = run("show", "2", "--state-dir", dir.toString());
        assertThat(escalation.out()).contains("escalated  from recovery 1");
    }

    @Test
    void showPrintsTheWedgesTelemetryWithEachDumpsHash() throws Exception {
        var log = new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR);
        var task = new LinkedHashMap<String, String>();
        task.put("PID", "4242");
        task.put("TASK", "glxgears");
        var e = wedge("rebind", "78", task);
        String sha = "ab".repeat(32);
        try (var j = Journal.open(Files.createDirectories(dir), InstantSource.system(), log)) {
            long ev = j.recordEvent(e, Instant.now());
            j.recordTelemetry(ev, e, Optional.of("/usr/bin/glxgears"), List.of(
                    new TelemetryRow.Devcoredump(Path.of("/var/lib/unwedge/devcoredump/0000:03:00.0-devcd1"), 5120, sha, false),
                    new TelemetryRow.Devcoredump(Path.of("/var/lib/unwedge/devcoredump/0000:03:00.0-devcd2"), 1024, "cd".repeat(32), true)), "");
            j.beginRecovery(ev, e);
            var other = wedge(); // another wedge's recovery shows none of it
            j.beginRecovery(j.recordEvent(other, Instant.now()), other);
        }
        var show = run("show", "1", "--state-dir", dir.toString());
        assertThat(show.code()).as(show.err()).isZero();
        assertThat(show.out()).contains("  telemetry  task glxgears (pid 4242, /usr/bin/glxgears): 2 devcoredump(s), 6144 bytes\n"
                + "             dump /var/lib/unwedge/devcoredump/0000:03:00.0-devcd1: 5120 bytes, sha256 " + sha + "\n"
                + "             dump /var/lib/unwedge/devcoredump/0000:03:00.0-devcd2: 1024 bytes, sha256 " + "cd".repeat(32)
                + ", truncated at the size limit\n");
        var json = run("show", "1", "--state-dir", dir.toString(), "--json");
        assertThat(json.code()).as(json.err()).isZero();
        @SuppressWarnings("unchecked") var telemetry = (List<Map<String, Object>>) StrictJson.object(json.out().strip()).get("telemetry");
        assertThat(telemetry).singleElement().satisfies(t -> {
            assertThat(t).containsEntry("task", "glxgears").containsEntry("pid", 4242L).containsEntry("exe", "/usr/bin/glxgears")
                    .containsEntry("bytes", 6144L);
            @SuppressWarnings("unchecked") var dumps = (List<Map<String, Object>>) t.get("dumps");
            assertThat(dumps).extracting(d -> d.get("sha256") + " " + d.get("truncated")).containsExactly(sha + " false", "cd".repeat(32) + " true");
        });
        assertThat(run("show", "2", "--state-dir", dir.toString()).out()).doesNotContain("telemetry");
        assertThat(run("show", "2", "--state-dir", dir.toString(), "--json").out()).contains("\"telemetry\": []");
    }

    @Test
    void showPrintsTheHoldersOfEachDrainUnderItsStep() throws Exception {
        var log = new EventLog(new PrintStream(OutputStream.nullOutputStream()), InstantSource.system(), EventLog.Level.ERROR);
        long drainStep;
        try (var j = Journal.open(Files.createDirectories(dir), InstantSource.system(), log)) {
            var e = wedge();
            long id = j.beginRecovery(j.recordEvent(e, Instant.now()), e);
            var intent = j.intent(id, Step.DRAIN);
            drainStep = intent.id();
            j.stepEnded(intent, new StepResult(Step.DRAIN, StepResult.Outcome.OK, 40, "free after 40 ms: 2 holder(s) gone"));
            j.recordDrain(id, Optional.of(intent), List.of(ExportTest.POLITE, ExportTest.STUBBORN));
            j.stepEnded(j.intent(id, Step.UNBIND), new StepResult(Step.UNBIND, StepResult.Outcome.OK, 2, "wrote"));
            var xorg = new DrainRow.Holder(900, "Xorg", Optional.of(0), Optional.of("display-manager.service"), Optional.empty(), 3, 12, 2,
                    Optional.empty(), DrainRow.Outcome.PROTECTED, Optional.empty());
            j.recordDrain(id, Optional.empty(), List.of(xorg)); // the quarantine's drain
        }
        var show = run("show", "1", "--state-dir", dir.toString());
        assertThat(show.code()).as(show.err()).isZero();
        var lines = show.out().lines().toList();
        int ended = lines.indexOf(lines.stream().filter(l -> l.contains("drain ended ok")).findFirst().orElseThrow());
        assertThat(lines.get(ended + 1).strip())
                .isEqualTo("holder 4242 glxgears (uid 1000, session-2.scope): 1 fd(s), 1 mapping(s), 1 client(s); SIGTERM, exited after 37 ms");
        assertThat(lines.get(ended + 2).strip())
                .isEqualTo("holder 4343 mi\"ner (container 0123456789ab): 2 fd(s), 0 mapping(s), 0 client(s); SIGKILL, killed after 10004 ms");
        assertThat(lines.get(ended + 3)).contains("unbind intent");
        assertThat(show.out()).contains("drained before the quarantine's unbind: holder 900 Xorg (uid 0, display-manager.service): "
                + "3 fd(s), 12 mapping(s), 2 client(s); none, protected");

        var json = run("show", "1", "--state-dir", dir.toString(), "--json");
        assertThat(json.code()).as(json.err()).isZero();
        var parsed = StrictJson.object(json.out().strip());
        @SuppressWarnings("unchecked") var steps = (List<Map<String, Object>>) parsed.get("steps");
        assertThat(steps.getFirst()).containsEntry("id", drainStep).containsEntry("step", "drain");
        @SuppressWarnings("unchecked") var holders = (List<Map<String, Object>>) steps.getFirst().get("holders");
        assertThat(holders).extracting(h -> h.get("pid") + " " + h.get("signal") + " " + h.get("outcome") + " " + h.get("exit_ms"))
                .containsExactly("4242 SIGTERM exited 37", "4343 SIGKILL killed 10004");
        assertThat(holders.getFirst()).containsEntry("comm", "glxgears").containsEntry("uid", 1000L).containsEntry("unit", "session-2.scope")
                .containsEntry("container", StrictJson.NULL).containsEntry("fds", 1L).containsEntry("maps", 1L).containsEntry("clients", 1L);
        assertThat(steps.get(1)).as("only a drain step has holders").doesNotContainKey("holders");
        @SuppressWarnings("unchecked") var outside = (List<Map<String, Object>>) parsed.get("holders_outside_steps");
        assertThat(outside).singleElement().satisfies(h -> assertThat(h).containsEntry("comm", "Xorg").containsEntry("outcome", "protected")
                .containsEntry("signal", "none").containsEntry("exit_ms", StrictJson.NULL));
        // history --json is as it was: no holders
        var history = run("history", "--state-dir", dir.toString(), "--json");
        assertThat(history.out()).doesNotContain("holders", "drain");
    }
}
