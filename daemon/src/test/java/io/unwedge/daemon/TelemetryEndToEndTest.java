package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.Offences;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.TaskInfo;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.sim.SimGpu;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code WEDGED=none} end to end: the simulator's driver takes a devcoredump and sends the event through the real
 * kernel (a private network namespace), the daemon saves and frees the dump, journals the task, counts its
 * offences and acts at the threshold. The guilty task is always a {@code sleep} this test started; the device
 * is never unbound.
 */
class TelemetryEndToEndTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static final int DUMP_BYTES = 50_000;

    @TempDir Path dir;
    final List<Process> children = new ArrayList<>();

    @AfterEach
    void kill() throws Exception {
        for (var p : children) {
            p.destroyForcibly();
            p.waitFor(5, TimeUnit.SECONDS);
        }
    }

    /** A {@code sleep} of this test's own: the only process a test here lets the daemon signal. */
    Process sleeper() throws Exception {
        var p = new ProcessBuilder("sleep", "600").start();
        children.add(p);
        assertThat(Files.readString(Path.of("/proc", Long.toString(p.pid()), "comm"))).isEqualTo("sleep\n");
        return p;
    }

    static Telemetry.Policy policy(int count, Offences.Action action) {
        return new Telemetry.Policy(true, Telemetry.Policy.DEFAULT_MAX_BYTES, new Offences.Policy(count, Duration.ofHours(1), action),
                List.of(), Duration.ofSeconds(10));
    }

    static String card(Rig rig, SimGpu gpu) {
        return rig.topology.byBdf(gpu.bdf()).map(GpuDevice::card).orElseThrow();
    }

    /** A none wedge of the rig's {@code i}th GPU naming {@code pid}/{@code task}, with a devcoredump; its report. */
    static RecoveryReport wedge(Rig rig, int i, long pid, String task) throws Exception {
        rig.model.wedge(card(rig, rig.gpu(i)), List.of(RecoveryMethod.NONE), Optional.of(new TaskInfo((int) pid, task)), DUMP_BYTES);
        var r = rig.nextReport(WAIT);
        assertThat(r.steps()).as("nothing is recovered").isEmpty();
        return r;
    }

    /** The device was never unbound, reset or removed, and is up with its driver. */
    static void untouched(Rig rig) {
        assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind") || l.startsWith("reset") || l.startsWith("remove"));
        for (var g : rig.host.gpus()) {
            assertThat(rig.topology.isUp(g.bdf())).as(g.bdf() + " up").isTrue();
            assertThat(rig.host.driverOf(g.bdf())).as(g.bdf() + " bound").contains("xe");
        }
    }

    @Test
    void aNoneWedgeSavesItsDevcoredumpFreesItAndJournalsTheTask() throws Exception {
        var sleep = sleeper();
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, Telemetry.Policy.DEFAULT)) {
            var freed = new CountDownLatch(1);
            rig.onSimLine = l -> {
                if (l.matches("devcoredump devcd\\d+ freed: data written")) freed.countDown();
            };
            var r = wedge(rig, 0, sleep.pid(), "sleep");
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.NOTHING_TO_DO);
            assertThat(r.reason()).contains("driver says none", "devcoredump devcd", "saved to", DUMP_BYTES + " bytes, freed",
                    "task sleep[" + sleep.pid() + "]", "offence 1 of 3 within 1h");

            Path dumps = dir.resolve("state").resolve(Telemetry.DIR);
            List<Path> saved;
            try (var s = Files.list(dumps)) {
                saved = s.toList();
            }
            assertThat(saved).singleElement().satisfies(f -> {
                assertThat(f.getFileName().toString()).startsWith(rig.gpu(0).bdf() + "-").endsWith(".bin");
                assertThat(Files.size(f)).isEqualTo(DUMP_BYTES);
                assertThat(new String(Files.readAllBytes(f), 0, 64, StandardCharsets.US_ASCII)).contains("unwedge virtual devcoredump");
            });
            assertThat(freed.await(WAIT.toSeconds(), TimeUnit.SECONDS)).as("the sim saw the dump freed: " + rig.simLines).isTrue();
            assertThat(rig.model.devcoredumpOf(rig.gpu(0).bdf())).isEmpty();

            var row = rig.journal.telemetry(Optional.of(rig.gpu(0).bdf()), Optional.empty(), 10);
            assertThat(row).singleElement().satisfies(t -> {
                assertThat(t.pid()).contains((int) sleep.pid());
                assertThat(t.task()).contains("sleep");
                assertThat(t.exe()).contains(Files.readSymbolicLink(Path.of("/proc", Long.toString(sleep.pid()), "exe")).toString());
                assertThat(t.devcoredumps()).isEqualTo(saved);
                assertThat(t.bytes()).isEqualTo(DUMP_BYTES);
                assertThat(t.dumps()).singleElement().satisfies(d -> {
                    assertThat(d.file()).isEqualTo(saved.getFirst());
                    assertThat(d.bytes()).isEqualTo(DUMP_BYTES);
                    assertThat(d.sha256()).as("the journaled hash is the saved file's").isEqualTo(TelemetryTest.sha256(saved.getFirst()));
                    assertThat(d.truncated()).isFalse();
                });
            });
            untouched(rig);
            assertThat(sleep.isAlive()).isTrue();
        }
    }

    @Test
    void theThirdOffenceOfATaskWithActionTerminateEndsItWithSigterm() throws Exception {
        var sleep = sleeper();
        // none leaves a virtual GPU wedged until rebound (xe wedged_mode 2): one GPU per offence
        try (var rig = new Rig(dir, 3, Rig.timeouts(5000, 100), false, policy(3, Offences.Action.TERMINATE))) {
            assertThat(wedge(rig, 0, sleep.pid(), "sleep").reason()).contains("offence 1 of 3");
            assertThat(wedge(rig, 1, sleep.pid(), "sleep").reason()).contains("offence 2 of 3");
            assertThat(sleep.isAlive()).as("below the threshold: left alone").isTrue();
            var third = wedge(rig, 2, sleep.pid(), "sleep");
            assertThat(third.result()).isEqualTo(Result.NOTHING_TO_DO);
            assertThat(third.reason()).contains("offence 3 of 3 within 1h: terminate", "SIGTERM sent to pid " + sleep.pid());
            assertThat(sleep.waitFor(10, TimeUnit.SECONDS)).as("it exits").isTrue();
            assertThat(sleep.exitValue()).as("by SIGTERM: 128 + 15").isEqualTo(143);
            assertThat(rig.log()).containsPattern("warn +offence-terminate .*pid=" + sleep.pid() + " task=sleep .*count=3 window=1h signalled=true");
            assertThat(rig.journal.telemetry(Optional.empty(), Optional.empty(), 10)).hasSize(3);
            untouched(rig);
        }
    }

    @Test
    void theThirdOffenceWithActionNotifyIsLoggedAndTheTaskLeftAlone() throws Exception {
        var sleep = sleeper();
        try (var rig = new Rig(dir, 3, Rig.timeouts(5000, 100), false, policy(3, Offences.Action.NOTIFY))) {
            for (int i = 0; i < 3; i++) wedge(rig, i, sleep.pid(), "sleep");
            assertThat(rig.log()).containsPattern("warn +offence-notify .*pid=" + sleep.pid() + " task=sleep .*count=3 window=1h")
                    .doesNotContain("offence-terminate");
            assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).as("notify signals nobody").isFalse();
            untouched(rig);
        }
    }

    @Test
    void aPidWhoseCommIsNotTheTaskIsNeverSignalled() throws Exception {
        var sleep = sleeper();
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), false, policy(1, Offences.Action.TERMINATE))) {
            var r = wedge(rig, 0, sleep.pid(), "glxgears");
            assertThat(r.reason()).contains("pid " + sleep.pid() + " is now sleep, not glxgears", "offence 1 of 1 within 1h: terminate",
                    "not terminated");
            assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).as("a stranger to the event: left alone").isFalse();
            assertThat(rig.journal.telemetry(Optional.empty(), Optional.empty(), 1).getFirst().exe()).as("nothing taken from a stranger").isEmpty();
            untouched(rig);
        }
    }

    @Test
    void aDryRunSaysWhatItWouldCollectAndLeavesTheDumpAndTheTask() throws Exception {
        var sleep = sleeper();
        try (var rig = new Rig(dir, 1, Rig.timeouts(5000, 100), true, policy(1, Offences.Action.TERMINATE))) {
            var r = wedge(rig, 0, sleep.pid(), "sleep");
            assertThat(r.result()).isEqualTo(Result.DRY_RUN);
            assertThat(r.reason()).contains("would save devcd", "would terminate", "dry run: nothing collected");
            assertThat(rig.model.devcoredumpOf(rig.gpu(0).bdf())).as("still there for the kernel to expire").isPresent();
            assertThat(dir.resolve("state").resolve(Telemetry.DIR)).doesNotExist();
            assertThat(rig.journal.telemetry(Optional.empty(), Optional.empty(), 10)).isEmpty();
            assertThat(sleep.waitFor(300, TimeUnit.MILLISECONDS)).isFalse();
            untouched(rig);
        }
    }
}
