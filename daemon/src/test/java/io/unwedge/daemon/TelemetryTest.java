package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Offences;
import io.unwedge.core.PciAddress;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.TelemetryRow;
import io.unwedge.host.sysfs.Devcoredumps;
import io.unwedge.host.sysfs.Sysfs;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@link Telemetry} on a hand-made sysfs tree (the kernel's devcoredump layout), a real journal, and either a
 * fixture procfs (a task the daemon must not signal: not its live /proc) or the real /proc with a {@code sleep}
 * this test started (the only process any test here signals).
 */
class TelemetryTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final String FUNCTION = "devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0";
    static final GpuDevice DEVICE = new GpuDevice("card0", 0, GPU, Optional.of("xe"), FUNCTION, List.of("card0", "renderD128"));

    @TempDir Path dir;
    Path sys, state, fixtureProc;
    Journal journal;
    final ByteArrayOutputStream logBytes = new ByteArrayOutputStream();
    EventLog log;
    final List<Process> children = new ArrayList<>();
    long seqnum = 100;

    @BeforeEach
    void tree() throws Exception {
        sys = dir.resolve("sys");
        Files.createDirectories(sys.resolve(FUNCTION).resolve("drm/card0"));
        Files.createDirectories(sys.resolve("devices/virtual/devcoredump"));
        Files.createDirectories(sys.resolve("class/devcoredump"));
        state = Files.createDirectories(dir.resolve("state"));
        fixtureProc = Files.createDirectories(dir.resolve("proc"));
        log = new EventLog(new PrintStream(logBytes, true, StandardCharsets.UTF_8), InstantSource.system(), EventLog.Level.DEBUG);
        journal = Journal.open(state, InstantSource.system(), log);
    }

    @AfterEach
    void close() throws Exception {
        for (var p : children) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
        journal.close();
    }

    // ---- fixtures --------------------------------------------------------------------------------

    /** A dump of the GPU as the kernel lays it out: devices/virtual/devcoredump/devcd<m>, its class link, failing_device. */
    Path devcd(int m, byte[] data) throws Exception {
        Path d = Files.createDirectories(sys.resolve("devices/virtual/devcoredump/devcd" + m));
        Files.write(d.resolve("data"), data);
        Files.createSymbolicLink(d.resolve("failing_device"), Path.of("../../../pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0"));
        Files.createSymbolicLink(sys.resolve("class/devcoredump/devcd" + m), Path.of("../../devices/virtual/devcoredump/devcd" + m));
        return d;
    }

    /** A process of the fixture procfs. */
    void process(int pid, String comm, String exe) throws Exception {
        Path p = Files.createDirectories(fixtureProc.resolve(Integer.toString(pid)));
        Files.writeString(p.resolve("comm"), comm + "\n");
        Files.writeString(p.resolve("status"), "Name:\t" + comm + "\nUid:\t1000\t1000\t1000\t1000\n");
        Files.writeString(p.resolve("cgroup"), "0::/user.slice/user-1000.slice/session-2.scope\n");
        Files.createSymbolicLink(p.resolve("exe"), Path.of(exe));
    }

    /** A {@code sleep} of this test's own: a task the daemon may signal. */
    Process sleeper() throws Exception {
        var p = new ProcessBuilder("sleep", "600").start();
        children.add(p);
        // start() returns once the exec happened (the JDK waits for its fail pipe to close on exec): comm is sleep now
        assertThat(Files.readString(Path.of("/proc", Long.toString(p.pid()), "comm"))).isEqualTo("sleep\n");
        return p;
    }

    /** {@code WEDGED=none} of card0, naming {@code pid}/{@code task} when given. */
    WedgedEvent none(Integer pid, String task) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "none");
        if (pid != null) {
            f.put("PID", Integer.toString(pid));
            f.put("TASK", task);
        }
        f.put("MAJOR", "226");
        f.put("MINOR", "0");
        f.put("DEVNAME", "dri/card0");
        f.put("DEVTYPE", "drm_minor");
        f.put("SEQNUM", Long.toString(seqnum++));
        var u = Uevent.of("change", "/" + FUNCTION + "/drm/card0", f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    static Telemetry.Policy policy(int count, Offences.Action action, List<String> hook) {
        return new Telemetry.Policy(true, Telemetry.Policy.DEFAULT_MAX_BYTES, new Offences.Policy(count, Duration.ofHours(1), action), hook,
                Duration.ofSeconds(10));
    }

    Telemetry telemetry(Telemetry.Policy policy, Path proc, Optional<Journal> j, DrainPolicy.Protection protection) {
        var drain = new DrainPolicy(DrainPolicy.Mode.TERMINATE, Duration.ofSeconds(1), protection, false);
        return new Telemetry(policy, new Devcoredumps(new Sysfs(sys), InstantSource.system()), state, proc, j, log,
                new HookCommands(policy.hookTimeout()), (driver, bdf) -> drain);
    }

    Telemetry telemetry(Telemetry.Policy policy, Path proc) {
        return telemetry(policy, proc, Optional.of(journal), DrainPolicy.Protection.DEFAULT);
    }

    /** What the recovery does for a none wedge: the event journaled, then the telemetry. */
    String handle(Telemetry t, WedgedEvent e) throws Exception {
        return t.handle(e, DEVICE, journal.recordEvent(e, journal.clock().instant()), false);
    }

    String log() {
        return logBytes.toString(StandardCharsets.UTF_8);
    }

    long lines(String event) {
        return log().lines().filter(l -> l.contains(" " + event + " ")).count();
    }

    static byte[] bytes(int n) {
        var b = new byte[n];
        new Random(n).nextBytes(b);
        return b;
    }

    // ---- devcoredumps and the record -------------------------------------------------------------

    @Test
    void aNoneWedgeSavesTheDumpFreesItAndRecordsTheTaskWithItsExe() throws Exception {
        var dump = devcd(3, bytes(100_000));
        process(4242, "glxgears", "/usr/bin/glxgears");
        String summary = handle(telemetry(Telemetry.Policy.DEFAULT, fixtureProc), none(4242, "glxgears"));

        Path dumps = state.resolve("devcoredump");
        List<Path> saved;
        try (var s = Files.list(dumps)) {
            saved = s.toList();
        }
        assertThat(saved).singleElement().satisfies(f -> {
            assertThat(f.getFileName().toString()).startsWith("0000:03:00.0-").endsWith("-devcd3.bin");
            assertThat(Files.readAllBytes(f)).isEqualTo(bytes(100_000));
        });
        assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(dumps))).isEqualTo("rwx------");
        assertThat(Files.readString(dump.resolve("data"))).as("freed: 1 written to data").isEqualTo("1");

        assertThat(journal.telemetry(Optional.of(GPU), Optional.empty(), 10)).singleElement().satisfies(r -> {
            assertThat(r.pid()).contains(4242);
            assertThat(r.task()).contains("glxgears");
            assertThat(r.exe()).contains("/usr/bin/glxgears");
            assertThat(r.devcoredumps()).isEqualTo(saved);
            assertThat(r.bytes()).isEqualTo(100_000);
            assertThat(r.note()).isEmpty();
            assertThat(r.dumps()).singleElement().satisfies(d -> {
                assertThat(d.file()).isEqualTo(saved.getFirst());
                assertThat(d.bytes()).isEqualTo(100_000);
                assertThat(d.sha256()).as("the journaled hash is the saved file's").isEqualTo(sha256(saved.getFirst()));
                assertThat(d.truncated()).isFalse();
            });
        });
        assertThat(summary).contains("devcoredump devcd3 saved to " + saved.getFirst(), "100000 bytes, freed", "task glxgears[4242] (/usr/bin/glxgears)",
                "offence 1 of 3 within 1h");
        assertThat(log()).contains("devcoredump-saved", "offence ");
    }

    @Test
    void aPidThatNowNamesAnotherCommIsNotTrustedAndNoExeIsTakenFromIt() throws Exception {
        process(4242, "bash", "/usr/bin/bash");
        String summary = handle(telemetry(Telemetry.Policy.DEFAULT, fixtureProc), none(4242, "glxgears"));
        assertThat(summary).contains("no devcoredump", "pid 4242 is now bash, not glxgears", "not trusted");
        TelemetryRow row = journal.telemetry(Optional.empty(), Optional.empty(), 1).getFirst();
        assertThat(row.task()).contains("glxgears");
        assertThat(row.exe()).isEmpty();
        assertThat(row.note()).contains("not trusted");
        // an exited task is an offence of its comm all the same
        assertThat(handle(telemetry(Telemetry.Policy.DEFAULT, fixtureProc), none(5555, "glxgears")))
                .contains("pid 5555 has exited", "offence 2 of 3");
    }

    @Test
    void theThirdOffenceWithinTheWindowNotifiesOnceAndTheFourthIsAlreadyOver() throws Exception {
        process(4242, "glxgears", "/usr/bin/glxgears");
        var t = telemetry(Telemetry.Policy.DEFAULT, fixtureProc);
        assertThat(handle(t, none(4242, "glxgears"))).contains("offence 1 of 3").doesNotContain("notif");
        assertThat(handle(t, none(4242, "glxgears"))).contains("offence 2 of 3").doesNotContain("notif");
        assertThat(lines("offence-notify")).isZero();
        assertThat(handle(t, none(4242, "glxgears"))).contains("offence 3 of 3 within 1h: notify", "notified");
        assertThat(log()).containsPattern("warn +offence-notify .*pid=4242 task=glxgears exe=/usr/bin/glxgears count=3 window=1h");
        assertThat(handle(t, none(4242, "glxgears"))).contains("offence 4 of 3", "acted on at its crossing").doesNotContain("notified");
        assertThat(lines("offence-notify")).isEqualTo(1);
    }

    @Test
    void aTaskIsItsCommAndItsExecutable() throws Exception {
        process(100, "app", "/opt/a/app");
        process(200, "app", "/opt/b/app");
        var t = telemetry(policy(2, Offences.Action.NOTIFY, List.of()), fixtureProc);
        assertThat(handle(t, none(100, "app"))).contains("offence 1 of 2");
        assertThat(handle(t, none(200, "app"))).as("another program of the same name").contains("offence 1 of 2");
        assertThat(handle(t, none(100, "app"))).contains("offence 2 of 2", "notified");
    }

    @Test
    void offencesOfOneTaskOnManyDevicesAtOnceActExactlyOnce() throws Exception {
        process(4242, "glxgears", "/usr/bin/glxgears");
        var t = telemetry(policy(3, Offences.Action.NOTIFY, List.of()), fixtureProc);
        int n = 12;
        var events = new ArrayList<WedgedEvent>();
        var ids = new ArrayList<Long>();
        for (int i = 0; i < n; i++) {
            var e = none(4242, "glxgears");
            events.add(e);
            ids.add(journal.recordEvent(e, journal.clock().instant()));
        }
        var start = new CountDownLatch(1);
        var results = new ArrayList<Future<String>>();
        try (var pool = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int i = 0; i < n; i++) {
                int k = i;
                results.add(pool.submit(() -> {
                    start.await();
                    return t.handle(events.get(k), DEVICE, ids.get(k), false);
                }));
            }
            start.countDown();
        }
        var summaries = new ArrayList<String>();
        for (var f : results) summaries.add(f.get());
        assertThat(summaries).filteredOn(s -> s.contains("notified")).hasSize(1);
        assertThat(journal.telemetry(Optional.empty(), Optional.empty(), 100)).hasSize(n);
    }

    // ---- terminate -------------------------------------------------------------------------------

    @Test
    void terminateSendsSigtermToTheTaskTheDriverNamed() throws Exception {
        var sleep = sleeper();
        String summary = handle(telemetry(policy(1, Offences.Action.TERMINATE, List.of()), Path.of("/proc")), none((int) sleep.pid(), "sleep"));
        assertThat(summary).contains("offence 1 of 1 within 1h: terminate", "SIGTERM sent to pid " + sleep.pid());
        assertThat(sleep.waitFor(10, TimeUnit.SECONDS)).as("it exits").isTrue();
        assertThat(sleep.exitValue()).as("killed by SIGTERM (128 + 15)").isEqualTo(143);
        assertThat(log()).containsPattern("warn +offence-terminate .*pid=" + sleep.pid() + " task=sleep .*signalled=true");
        assertThat(journal.telemetry(Optional.empty(), Optional.empty(), 1).getFirst().exe())
                .hasValueSatisfying(x -> assertThat(x).endsWith("/sleep"));
    }

    @Test
    void terminateNeverSignalsAPidWhoseCommIsNotTheTask() throws Exception {
        var sleep = sleeper();
        String summary = handle(telemetry(policy(1, Offences.Action.TERMINATE, List.of()), Path.of("/proc")), none((int) sleep.pid(), "glxgears"));
        assertThat(summary).contains("is now sleep, not glxgears", "not terminated");
        assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).as("left alone").isFalse();
        assertThat(log()).containsPattern("error +offence-terminate .*signalled=false");
    }

    @Test
    void terminateSparesWhatTheDrainProtects() throws Exception {
        var sleep = sleeper();
        var t = telemetry(policy(1, Offences.Action.TERMINATE, List.of()), Path.of("/proc"), Optional.of(journal),
                DrainPolicy.Protection.DEFAULT.withComms(Set.of("sleep")));
        assertThat(handle(t, none((int) sleep.pid(), "sleep"))).contains("not terminated: protected comm sleep");
        assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).as("left alone").isFalse();
    }

    @Test
    void terminateOnAProcfsThatIsNotOursSignalsNobody() throws Exception {
        process(4242, "glxgears", "/usr/bin/glxgears");
        assertThat(handle(telemetry(policy(1, Offences.Action.TERMINATE, List.of()), fixtureProc), none(4242, "glxgears")))
                .contains("not terminated: " + fixtureProc + " is not this daemon's live /proc");
    }

    // ---- hook ------------------------------------------------------------------------------------

    @Test
    void theHookRunsWithTheOffenceInItsEnvironment() throws Exception {
        Path out = dir.resolve("env.txt");
        Path script = dir.resolve("offence.sh");
        Files.writeString(script, "#!/bin/sh\nenv | grep '^UNWEDGE_' | sort > " + out + "\necho told\n");
        Files.setPosixFilePermissions(script, PosixFilePermissions.fromString("rwxr-xr-x"));
        process(4242, "glxgears", "/usr/bin/glxgears");
        var t = telemetry(policy(2, Offences.Action.HOOK, List.of(script.toString())), fixtureProc);
        handle(t, none(4242, "glxgears"));
        assertThat(out).doesNotExist();
        assertThat(handle(t, none(4242, "glxgears"))).contains("offence 2 of 2 within 1h: hook", "ran " + script + ": exit 0", "told");
        assertThat(Files.readAllLines(out)).contains("UNWEDGE_PHASE=offence", "UNWEDGE_TASK=glxgears", "UNWEDGE_PID=4242",
                "UNWEDGE_EXE=/usr/bin/glxgears", "UNWEDGE_OFFENCES=2", "UNWEDGE_OFFENCE_WINDOW_SECONDS=3600", "UNWEDGE_BDF=0000:03:00.0",
                "UNWEDGE_CARD=card0", "UNWEDGE_DRIVER=xe", "UNWEDGE_METHODS=none");
    }

    @Test
    void aHookActionWithoutACommandIsRefusedByThePolicy() {
        assertThatThrownBy(() -> policy(1, Offences.Action.HOOK, List.of())).hasMessageContaining("needs a command");
        assertThatThrownBy(() -> policy(1, Offences.Action.HOOK, List.of("notify.sh"))).hasMessageContaining("absolute path");
        assertThatThrownBy(() -> new Telemetry.Policy(true, 0, Telemetry.Policy.DEFAULT.offences(), List.of(), Duration.ofSeconds(1)))
                .hasMessageContaining("at least 1 byte");
    }

    // ---- without a journal, off, dry run ---------------------------------------------------------

    @Test
    void withoutAJournalTheDumpIsStillSavedAndOffencesAreNotCountedSaidOnce() throws Exception {
        devcd(1, bytes(10));
        process(4242, "glxgears", "/usr/bin/glxgears");
        var t = telemetry(policy(1, Offences.Action.NOTIFY, List.of()), fixtureProc, Optional.empty(), DrainPolicy.Protection.DEFAULT);
        var e = none(4242, "glxgears");
        assertThat(t.handle(e, DEVICE, -1, false)).contains("devcd1 saved", "offences not counted (no journal)").doesNotContain("notified");
        assertThat(t.handle(none(4242, "glxgears"), DEVICE, -1, false)).contains("offences not counted");
        assertThat(lines("offences-uncounted")).isEqualTo(1);
        assertThat(lines("offence-notify")).isZero();
        try (var s = Files.list(state.resolve("devcoredump"))) {
            assertThat(s.count()).isEqualTo(1);
        }
    }

    @Test
    void aDumpCutAtTheLimitIsJournaledAsCutWithTheHashOfWhatWasKept() throws Exception {
        devcd(1, bytes(70_000));
        devcd(2, bytes(500));
        var small = new Telemetry.Policy(true, 1000, Telemetry.Policy.DEFAULT.offences(), List.of(), Duration.ofSeconds(1));
        assertThat(handle(telemetry(small, fixtureProc), none(null, null))).contains("devcd1 saved", "cut at 1000", "devcd2 saved");
        var row = journal.telemetry(Optional.empty(), Optional.empty(), 1).getFirst();
        assertThat(row.dumps()).extracting(TelemetryRow.Devcoredump::bytes, TelemetryRow.Devcoredump::truncated)
                .containsExactly(org.assertj.core.groups.Tuple.tuple(1000L, true), org.assertj.core.groups.Tuple.tuple(500L, false));
        for (var d : row.dumps()) assertThat(d.sha256()).as(d.file().toString()).isEqualTo(sha256(d.file()));
        assertThat(row.dumps().getFirst().sha256()).isNotEqualTo(sha256(bytes(70_000)));
        assertThat(row.bytes()).isEqualTo(1500);
        assertThat(row.devcoredumps()).isEqualTo(row.dumps().stream().map(TelemetryRow.Devcoredump::file).toList());
    }

    /** Computed here, apart from the copy loop's digest: the file as it is on disk. */
    static String sha256(Path file) throws Exception {
        return sha256(Files.readAllBytes(file));
    }

    static String sha256(byte[] b) throws Exception {
        return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
    }

    @Test
    void withCollectionOffTheDumpIsLeftToTheKernel() throws Exception {
        var dump = devcd(1, bytes(10));
        var off = new Telemetry.Policy(false, Telemetry.Policy.DEFAULT_MAX_BYTES, Telemetry.Policy.DEFAULT.offences(), List.of(), Duration.ofSeconds(1));
        assertThat(handle(telemetry(off, fixtureProc), none(null, null))).contains("devcoredump collection off", "no task named");
        assertThat(Files.readAllBytes(dump.resolve("data"))).isEqualTo(bytes(10));
        assertThat(state.resolve("devcoredump")).doesNotExist();
        assertThat(journal.telemetry(Optional.empty(), Optional.empty(), 1).getFirst().task()).isEmpty();
    }

    @Test
    void aDryRunSaysWhatItWouldCollectAndJudgeAndDoesNothing() throws Exception {
        var dump = devcd(2, bytes(10));
        var sleep = sleeper();
        var t = telemetry(policy(1, Offences.Action.TERMINATE, List.of()), Path.of("/proc"));
        var e = none((int) sleep.pid(), "sleep");
        String summary = t.handle(e, DEVICE, journal.recordEvent(e, journal.clock().instant()), true);
        assertThat(summary).contains("would save devcd2 to " + state.resolve("devcoredump"), "task sleep[" + sleep.pid() + "]",
                "would be offence 1 of 1 within 1h: would terminate", "(dry run: nothing collected)");
        assertThat(Files.readAllBytes(dump.resolve("data"))).isEqualTo(bytes(10));
        assertThat(state.resolve("devcoredump")).doesNotExist();
        assertThat(journal.telemetry(Optional.empty(), Optional.empty(), 10)).isEmpty();
        assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).as("nobody signalled").isFalse();
    }
}
