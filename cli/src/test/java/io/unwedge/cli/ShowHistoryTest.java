package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.Step;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.StepResult;
import io.unwedge.daemon.journal.Journal;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.LinkedHashMap;
import java.util.Optional;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** `show` tells what a restart found and did, and `history` marks an escalation. */
class ShowHistoryTest {

    @TempDir Path dir;

    static WedgedEvent wedge() {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        f.put("SEQNUM", "77");
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
}
