package io.unwedge.cli;

import static io.unwedge.cli.CommandLineIT.requireNamespace;
import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The journal through the packaged command: the daemon writes it, `history` and `show` read it. */
class JournalIT {

    @TempDir Path dir;

    /** sim run and the daemon in one fresh network namespace; one wedge of card1, recovered; the daemon stopped. */
    private Path recoverOneWedge() throws Exception {
        requireNamespace();
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "2");
        assertThat(created.code()).as(created.out()).isZero();
        String java = String.join(" ", Commands.java().stream().map(s -> "'" + s + "'").toList());
        Path daemonLog = dir.resolve("daemon.log"), simLog = dir.resolve("sim.log");
        String script = String.join("\n",
                "set -u",
                java + " sim run --root '" + root + "' --probe-delay-ms 50 > '" + simLog + "' 2>&1 &",
                "sim=$!",
                java + " daemon --sysfs '" + root.resolve("sys") + "' --settle-ms 200 > '" + daemonLog + "' 2>&1 &",
                "daemon=$!",
                "for i in $(seq 1 200); do grep -q daemon-start '" + daemonLog + "' && grep -q 'driver model running' '" + simLog + "' && break; sleep 0.05; done",
                java + " sim wedge --root '" + root + "' card1 --methods rebind,bus-reset --pid 4242 --task glxgears || exit 9",
                "for i in $(seq 1 300); do grep -q recovery-end '" + daemonLog + "' && break; sleep 0.05; done",
                // read while the daemon still runs and holds the journal open for writing
                java + " history --state-dir '" + root.resolve("state") + "' > '" + dir.resolve("history-live.txt") + "' 2>&1",
                "echo history-live-exit=$?",
                java + " export --state-dir '" + root.resolve("state") + "' > '" + dir.resolve("export-live.jsonl") + "' 2> '" + dir.resolve("export-live.err") + "'",
                "echo export-live-exit=$?",
                "kill -TERM $daemon; wait $daemon; echo daemon-exit=$?",
                "kill -TERM $sim; wait $sim",
                "cat '" + daemonLog + "'");
        var r = Commands.exec(List.of("unshare", "--net", "--", "bash", "-c", script), 90);
        assertThat(r.code()).as(r.out()).isZero();
        assertThat(r.out()).contains("outcome=recovered", "journal=" + root.resolve("state/journal.db"), "history-live-exit=0", "export-live-exit=0", "daemon-exit=0");
        assertThat(Files.readString(dir.resolve("history-live.txt"))).contains("0000:06:00.0", "recovered");
        return root.resolve("state");
    }

    @Test
    void historyAndShowReadWhatTheDaemonJournaled() throws Exception {
        Path state = recoverOneWedge();

        var json = Commands.run(30, "history", "--state-dir", state.toString(), "--json");
        assertThat(json.code()).as(json.out()).isZero();
        assertThat(json.out().strip()).startsWith("[{\"id\": 1, ").endsWith("}]")
                .contains("\"bdf\": \"0000:06:00.0\"", "\"card\": \"card1\"", "\"methods\": \"rebind,bus-reset\"",
                        "\"task\": \"glxgears[4242]\"", "\"method\": \"rebind\"", "\"result\": \"recovered\"", "\"card_after\": \"card1\"",
                        "\"latency_us\": ");

        var text = Commands.run(30, "history", "--state-dir", state.toString(), "--device", "0000:06:00.0", "--since", "1h");
        assertThat(text.code()).as(text.out()).isZero();
        assertThat(text.out()).contains("ID", "STARTED", "0000:06:00.0", "card1", "rebind", "recovered", " ms");
        var other = Commands.run(30, "history", "--state-dir", state.toString(), "--device", "card0");
        assertThat(other.out()).contains("no recoveries", "matching the filters");

        var show = Commands.run(30, "show", "1", "--state-dir", state.toString());
        assertThat(show.code()).as(show.out()).isZero();
        assertThat(show.out()).contains("recovery 1: card1 0000:06:00.0, rebind, recovered in", "WEDGED=rebind,bus-reset",
                "task glxgears[4242]", "event received", "drain ended ok after", "unbind intent", "unbind started (intent durable after",
                "unbind ended ok after", "bind ended ok after", "settle ended ok after", "recovery ended recovered");

        var status = Commands.run(30, "status", "--state-dir", state.toString(), "--sysfs", state.resolveSibling("sys").toString());
        assertThat(status.code()).as(status.out()).isZero();
        assertThat(status.out()).contains("CARD", "LAST RECOVERY", "card0   0000:03:00.0  xe        none",
                "card1   0000:06:00.0  xe        #1 ", " recovered: ", "no unfinished recovery");
        var statusJson = Commands.run(30, "status", "--state-dir", state.toString(), "--sysfs", state.resolveSibling("sys").toString(), "--json");
        assertThat(statusJson.code()).as(statusJson.out()).isZero();
        assertThat(statusJson.out().strip()).startsWith("{\"devices\": [{\"card\": \"card0\"").contains("\"last_recovery\": null",
                "\"last_recovery\": {\"id\": 1, ").endsWith("\"unfinished\": [], \"left_unbound\": [], \"corrupt_journals\": []}");
        StrictJson.object(statusJson.out().strip());

        var showJson = Commands.run(30, "show", "1", "--state-dir", state.toString(), "--json");
        assertThat(showJson.code()).as(showJson.out()).isZero();
        assertThat(showJson.out()).contains("\"steps\": [{\"id\": 1, \"step\": \"drain\"", "\"step\": \"unbind\"", "\"step\": \"bind\"", "\"step\": \"settle\"",
                "\"outcome\": \"ok\"", "\"duration_us\": ");
    }

    @Test
    void exportWritesUtf8WhateverTheLocale() throws Exception {
        var task = new java.util.LinkedHashMap<String, String>();
        task.put("PID", "4242");
        task.put("TASK", "glxgéars");
        var e = ShowHistoryTest.wedge("rebind", "77", task);
        Path state = Files.createDirectories(dir.resolve("utf8-state"));
        var quiet = new io.unwedge.daemon.EventLog(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()),
                java.time.InstantSource.system(), io.unwedge.daemon.EventLog.Level.ERROR);
        try (var j = io.unwedge.daemon.journal.Journal.open(state, java.time.InstantSource.system(), quiet)) {
            j.beginRecovery(j.recordEvent(e, java.time.Instant.now()), e);
        }
        var cmd = new java.util.ArrayList<>(Commands.java());
        cmd.addAll(List.of("export", "--state-dir", state.toString()));
        var out = Commands.exec(cmd, java.util.Map.of("LC_ALL", "C", "LANG", "C"), 30);
        assertThat(out.code()).as(out.out()).isZero();
        assertThat(out.out()).as("not '?' under LC_ALL=C").contains("\"task\": \"glxgéars[4242]\"");
    }

    @Test
    void theJournalOpensWithoutATemporaryDirectory() throws Exception {
        // SQLite's native library is loaded from where the build unpacked it, never copied to java.io.tmpdir:
        // a host whose /tmp is noexec, or full, still has its journal
        assertThat(Commands.sqliteNative(Path.of(System.getenv("UNWEDGE_JAR")))).as("the build unpacked it for this machine").isNotEmpty();
        Path state = recoverOneWedge();
        var cmd = new java.util.ArrayList<>(Commands.java("-Djava.io.tmpdir=" + dir.resolve("no-such-directory")));
        cmd.addAll(List.of("history", "--state-dir", state.toString()));
        var history = Commands.exec(cmd, 30);
        assertThat(history.code()).as(history.out()).isZero();
        assertThat(history.out()).contains("0000:06:00.0", "recovered");
    }

    @Test
    void exportWhileTheDaemonRanIsOneStrictJsonLineWithTheRecoveryItsRawUeventAndSteps() throws Exception {
        Path state = recoverOneWedge();
        for (String out : List.of(Files.readString(dir.resolve("export-live.jsonl")),
                Commands.run(30, "export", "--state-dir", state.toString()).out())) {
            // nobody held the card: no drain row; no restart, telemetry or quarantine
            var lines = out.lines().map(StrictJson::object).toList();
            assertThat(lines).extracting(l -> l.get("kind")).containsExactly("event", "recovery");
            var event = lines.get(0);
            assertThat(event).containsEntry("id", 1L).containsEntry("bdf", "0000:06:00.0").containsEntry("card", "card1")
                    .containsEntry("task", "glxgears[4242]");
            assertThat((String) event.get("raw_uevent")).startsWith("change@/devices/").contains("\0WEDGED=rebind,bus-reset\0", "\0SEQNUM=");
            assertThat(out).contains("\\u0000WEDGED=rebind,bus-reset\\u0000");
            var line = lines.get(1);
            assertThat(line).containsEntry("id", 1L).containsEntry("event_id", 1L).containsEntry("bdf", "0000:06:00.0").containsEntry("card", "card1")
                    .containsEntry("result", "recovered").containsEntry("task", "glxgears[4242]");
            assertThat(((List<?>) line.get("steps")).stream().<Object>map(x -> ((java.util.Map<?, ?>) x).get("step")).toList()).containsExactly("drain", "unbind", "bind", "settle");
        }
    }

    @Test
    void exportThroughTheJarWritesEveryJournaledRecoveryAsStrictJson() throws Exception {
        Path state = dir.resolve("state");
        Files.createDirectories(state);
        ExportTest.journalTwo(state, new ExportTest.Clock());
        var all = Commands.run(30, "export", "--state-dir", state.toString());
        assertThat(all.code()).as(all.out()).isZero();
        var rows = all.out().lines().map(StrictJson::object).toList();
        assertThat(rows).extracting(m -> m.get("kind")).containsExactly("event", "event", "event", "recovery", "recovery",
                "drain", "drain", "restart", "telemetry", "quarantine", "quarantine");
        assertThat(rows.get(7)).isEqualTo(java.util.Map.of("kind", "restart", "recovery_id", 2L, "at", "2026-11-25T10:01:05.040Z",
                "found", "unbound", "action", "resumed", "detail", "restart: bound again"));
        assertThat(rows.get(8)).containsEntry("dumps", List.of(
                java.util.Map.of("file", "/var/lib/unwedge/devcoredump/a.bin", "bytes", 4096L, "sha256", ExportTest.DUMP_A.sha256(), "truncated", false),
                java.util.Map.of("file", "/var/lib/unwedge/devcoredump/b.bin", "bytes", 100L, "sha256", ExportTest.DUMP_B.sha256(), "truncated", true)));
        var since = Commands.run(30, "export", "--state-dir", state.toString(), "--since", "2026-11-25T10:00:30Z");
        assertThat(since.out().lines().map(StrictJson::object).toList()).extracting(m -> m.get("kind"))
                .containsExactly("event", "recovery", "restart", "quarantine");
        var device = Commands.run(30, "export", "--state-dir", state.toString(), "--device", "card1");
        assertThat(device.out().lines().map(StrictJson::object).toList()).extracting(m -> m.get("kind"))
                .containsExactly("event", "event", "recovery", "drain", "drain", "telemetry", "quarantine");
        var bad = Commands.run(30, "export", "--state-dir", state.toString(), "--device", "gpu1");
        assertThat(bad.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(bad.out()).contains("--device must be a BDF like 0000:06:00.0 or a card like card1, not 'gpu1'");
        var none = Commands.run(30, "export", "--state-dir", dir.resolve("nowhere").toString());
        assertThat(none.code()).isEqualTo(ExitCode.USAGE.code);
    }

    @Test
    void statusSaysTheJournalWasMovedAsideAsCorrupt() throws Exception {
        Path root = dir.resolve("lab");
        var created = Commands.run(30, "sim", "create", "--root", root.toString(), "--gpus", "1");
        assertThat(created.code()).as(created.out()).isZero();
        Path state = root.resolve("state");
        Files.createDirectories(state);
        Files.writeString(state.resolve("journal.db"), "this is not a database, and it is long enough to be read as a header ".repeat(20));
        var quiet = new io.unwedge.daemon.EventLog(new java.io.PrintStream(java.io.OutputStream.nullOutputStream()),
                java.time.InstantSource.system(), io.unwedge.daemon.EventLog.Level.INFO);
        io.unwedge.daemon.journal.Journal.open(state, java.time.InstantSource.system(), quiet).close(); // what the daemon does at start
        Path aside;
        try (var f = Files.list(state)) {
            aside = f.filter(p -> p.getFileName().toString().startsWith("journal.db.corrupt-")).findFirst().orElseThrow();
        }

        var text = Commands.run(30, "status", "--state-dir", state.toString(), "--sysfs", root.resolve("sys").toString());
        assertThat(text.code()).as(text.out()).isZero();
        assertThat(text.out()).contains("warning: a corrupt journal was moved aside to " + aside, "CARD");
        var json = Commands.run(30, "status", "--state-dir", state.toString(), "--sysfs", root.resolve("sys").toString(), "--json");
        assertThat(json.code()).as(json.out()).isZero();
        assertThat(StrictJson.object(json.out().strip())).containsEntry("corrupt_journals", List.of(aside.toString()));
    }

    @Test
    void theReadersSayPlainlyWhatIsWrong() throws Exception {
        var none = Commands.run(30, "history", "--state-dir", dir.toString());
        assertThat(none.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(none.out()).contains("no journal at " + dir.resolve("journal.db"));
        assertThat(dir.resolve("journal.db")).as("a reader never creates one").doesNotExist();

        var device = Commands.run(30, "history", "--state-dir", dir.toString(), "--device", "gpu1");
        assertThat(device.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(device.out()).contains("--device must be a BDF like 0000:06:00.0 or a card like card1, not 'gpu1'");

        var since = Commands.run(30, "history", "--state-dir", dir.toString(), "--since", "yesterday");
        assertThat(since.code()).isEqualTo(ExitCode.USAGE.code);
        assertThat(since.out()).contains("--since must be an ISO-8601 instant");
    }
}
