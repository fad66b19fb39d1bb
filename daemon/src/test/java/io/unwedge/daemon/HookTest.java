package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.Hook.CouldNotStart;
import io.unwedge.daemon.Hook.Exited;
import io.unwedge.daemon.Hook.Phase;
import io.unwedge.daemon.Hook.TimedOut;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Hooks as real /bin/sh scripts in a temp directory. */
class HookTest {

    @TempDir Path dir;

    /** Processes a test's hooks left behind on purpose; ended (if still there) after the test. */
    final List<ProcessHandle> leftovers = new ArrayList<>();

    @AfterEach
    void endLeftovers() {
        leftovers.forEach(ProcessHandle::destroyForcibly);
    }

    Path script(String name, String body) throws Exception {
        Path p = dir.resolve(name);
        Files.writeString(p, "#!/bin/sh\n" + body + "\n");
        Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwxr-xr-x"));
        return p;
    }

    static Hook hook(Path script, Duration timeout) {
        return new Hook(List.of(script.toString()), timeout, Duration.ofMillis(300));
    }

    /** A pid a script wrote to a file, and the live handle of that process. */
    ProcessHandle process(Path pidFile) throws Exception {
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        var h = ProcessHandle.of(pid);
        h.ifPresent(leftovers::add);
        return h.orElseThrow(() -> new AssertionError("process " + pid + " is gone already"));
    }

    static WedgedEvent wedge(boolean withTask) {
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", "rebind,bus-reset");
        if (withTask) {
            f.put("PID", "4242");
            f.put("TASK", "glx gears;$(x)");
        }
        f.put("SEQNUM", "5208");
        var u = Uevent.of("change", "/devices/pci0000:00/0000:00:02.0/0000:06:00.0/drm/card1", f);
        return ((WedgedEvent.Wedged) WedgedEvent.recognise(u)).event();
    }

    static Map<String, String> parseEnv(String output) {
        return output.lines().collect(Collectors.toMap(l -> l.substring(0, l.indexOf('=')), l -> l.substring(l.indexOf('=') + 1),
                (a, b) -> b, LinkedHashMap::new));
    }

    @Test
    void theHookSeesOnlyTheSafeEnvironmentAndItsVariablesWithStdinEmptyAndRootAsItsDirectory() throws Exception {
        var env = Hook.environment(Phase.PRE, wedge(true), Optional.of("xe"));
        var out = new Hook(List.of("/usr/bin/env"), Duration.ofSeconds(10)).run(env);
        assertThat(out).isInstanceOf(Exited.class);
        var seen = parseEnv(((Exited) out).output());
        var expected = new LinkedHashMap<String, String>();
        expected.put("PATH", "/usr/sbin:/usr/bin:/sbin:/bin");
        expected.put("LANG", "C.UTF-8");
        expected.put("UNWEDGE_PHASE", "pre");
        expected.put("UNWEDGE_CARD", "card1");
        expected.put("UNWEDGE_BDF", "0000:06:00.0");
        expected.put("UNWEDGE_DRIVER", "xe");
        expected.put("UNWEDGE_METHODS", "rebind,bus-reset");
        expected.put("UNWEDGE_SEQNUM", "5208");
        expected.put("UNWEDGE_PID", "4242");
        expected.put("UNWEDGE_TASK", "glx gears;$(x)");
        assertThat(seen).as("nothing of the daemon's environment (surefire sets UNWEDGE_SHARED, HOME, …)").isEqualTo(expected);
        assertThat(System.getenv()).containsKey("HOME");

        var shell = script("stdin.sh", """
                pwd
                if read line; then echo "stdin had: $line"; else echo "stdin: eof"; fi
                printf '%s\\n' "$UNWEDGE_TASK"
                """);
        var r = (Exited) hook(shell, Duration.ofSeconds(10)).run(env);
        assertThat(r.output()).isEqualTo("/\nstdin: eof\nglx gears;$(x)\n");
    }

    @Test
    void theExitCodeAndTheInterleavedOutputAreCaptured() throws Exception {
        var s = script("exit7.sh", """
                echo one
                echo two >&2
                echo three
                exit 7
                """);
        var r = hook(s, Duration.ofSeconds(10)).run(Map.of("EXTRA", "x"));
        assertThat(r).isInstanceOfSatisfying(Exited.class, e -> {
            assertThat(e.code()).isEqualTo(7);
            assertThat(e.output()).isEqualTo("one\ntwo\nthree\n");
            assertThat(e.truncated()).isFalse();
            assertThat(e.millis()).isBetween(0L, 10_000L);
        });
        assertThat(hook(script("ok.sh", "true"), Duration.ofSeconds(10)).run(Map.of())).isInstanceOfSatisfying(Exited.class, e -> {
            assertThat(e.code()).isZero();
            assertThat(e.output()).isEmpty();
        });
    }

    @Test
    void aHookThatFillsThePipeIsDrainedAndItsOutputCutAtTheLimitSayingHowMuch() throws Exception {
        // 3 MB: far past the pipe's 64 KiB buffer, so a reader that stopped at the limit would block the hook
        var s = script("chatty.sh", "head -c 3000000 /dev/zero | tr '\\0' a\necho done >&2\nexit 3");
        var r = hook(s, Duration.ofSeconds(20)).run(Map.of());
        assertThat(r).isInstanceOfSatisfying(Exited.class, e -> {
            assertThat(e.code()).isEqualTo(3);
            assertThat(e.truncated()).isTrue();
            assertThat(e.output()).startsWith("a".repeat(Hook.OUTPUT_LIMIT))
                    .endsWith("\n[unwedge: " + (3_000_000 + "done\n".length() - Hook.OUTPUT_LIMIT) + " more bytes cut]\n");
            assertThat(e.output().length()).isEqualTo(Hook.OUTPUT_LIMIT + ("\n[unwedge: 2934469 more bytes cut]\n").length());
        });
        // exactly at the limit: nothing cut
        var exact = script("exact.sh", "head -c " + Hook.OUTPUT_LIMIT + " /dev/zero | tr '\\0' b");
        assertThat(hook(exact, Duration.ofSeconds(20)).run(Map.of())).isInstanceOfSatisfying(Exited.class, e -> {
            assertThat(e.truncated()).isFalse();
            assertThat(e.output()).isEqualTo("b".repeat(Hook.OUTPUT_LIMIT));
        });
    }

    @Test
    void aHookPastItsTimeLimitIsKilledWithTheChildItSpawned() throws Exception {
        var s = script("slow.sh", """
                echo $$ > "%s/hook.pid"
                sleep 1000 &
                echo $! > "%s/child.pid"
                echo started
                wait
                echo never
                """.formatted(dir, dir));
        var r = hook(s, Duration.ofMillis(700)).run(Map.of());
        track(dir.resolve("hook.pid"), dir.resolve("child.pid"));
        assertThat(r).isInstanceOfSatisfying(TimedOut.class, t -> {
            assertThat(t.output()).isEqualTo("started\n");
            assertThat(t.millis()).isBetween(700L, 5_000L);
        });
        assertGone(dir.resolve("hook.pid"));
        assertGone(dir.resolve("child.pid"));
    }

    @Test
    void aHookThatIgnoresSigtermIsKilledAfterTheGraceWithItsChild() throws Exception {
        var s = script("stubborn.sh", """
                trap '' TERM
                sleep 1000 &
                echo $! > "%s/child.pid"
                echo $$ > "%s/hook.pid"
                wait
                """.formatted(dir, dir));
        long started = System.nanoTime();
        var r = hook(s, Duration.ofMillis(300)).run(Map.of());
        track(dir.resolve("hook.pid"), dir.resolve("child.pid"));
        assertThat(r).isInstanceOf(TimedOut.class);
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("the time limit, then the grace before SIGKILL")
                .isGreaterThanOrEqualTo(Duration.ofMillis(600));
        assertGone(dir.resolve("hook.pid"));
        assertGone(dir.resolve("child.pid"));
    }

    /** Whatever a failed assertion would leave running is ended after the test. */
    void track(Path... pidFiles) throws Exception {
        for (var f : pidFiles) ProcessHandle.of(Long.parseLong(Files.readString(f).strip())).ifPresent(leftovers::add);
    }

    void assertGone(Path pidFile) throws Exception {
        long pid = Long.parseLong(Files.readString(pidFile).strip());
        var h = ProcessHandle.of(pid);
        // the hook is our child and reaped; its child was re-parented and its exit reaped by init: give it a moment
        if (h.isPresent()) {
            leftovers.add(h.get());
            h.get().onExit().get(5, TimeUnit.SECONDS);
        }
        assertThat(ProcessHandle.of(pid).filter(ProcessHandle::isAlive)).as("process %d from %s", pid, pidFile.getFileName()).isEmpty();
    }

    @Test
    void aHookThatLeavesAProcessHoldingItsOutputIsNotWaitedFor() throws Exception {
        var s = script("leaves.sh", """
                sleep 1000 &
                echo $! > "%s/left.pid"
                echo bye
                exit 0
                """.formatted(dir));
        long started = System.nanoTime();
        var r = hook(s, Duration.ofSeconds(30)).run(Map.of());
        assertThat(Duration.ofNanos(System.nanoTime() - started)).as("the leftover was not waited for, only the grace at most")
                .isLessThan(Duration.ofSeconds(10));
        var left = process(dir.resolve("left.pid"));
        assertThat(r).isInstanceOfSatisfying(Exited.class, e -> {
            assertThat(e.code()).isZero();
            assertThat(e.truncated()).isFalse();
            // the JDK may close our end first when the hook exits; otherwise the grace ends the wait and says so
            assertThat(e.output()).isIn("bye\n", "bye\n[unwedge: the output did not end within the grace after the hook; not waited for]\n");
        });
        assertThat(left.isAlive()).as("not ours to kill once the hook has exited").isTrue();
        // the shell forks, then the child execs sleep: on a loaded machine we may look in between
        long execed = System.nanoTime() + Duration.ofSeconds(5).toNanos();
        while (!left.info().command().map(c -> c.endsWith("sleep")).orElse(false) && System.nanoTime() < execed) Thread.sleep(10);
        assertThat(left.info().command()).hasValueSatisfying(c -> assertThat(c).endsWith("sleep"));
    }

    @Test
    void aMissingOrNonExecutableCommandCouldNotStartAndSaysWhich() throws Exception {
        Path missing = dir.resolve("no-such-hook");
        assertThat(hook(missing, Duration.ofSeconds(5)).run(Map.of()))
                .isEqualTo(new CouldNotStart("cannot run hook " + missing + ": no such file"));
        Path plain = dir.resolve("plain.sh");
        Files.writeString(plain, "#!/bin/sh\necho hi\n");
        Files.setPosixFilePermissions(plain, PosixFilePermissions.fromString("rw-r--r--"));
        assertThat(hook(plain, Duration.ofSeconds(5)).run(Map.of()))
                .isEqualTo(new CouldNotStart("cannot run hook " + plain + ": not executable"));
        assertThat(hook(dir, Duration.ofSeconds(5)).run(Map.of()))
                .isEqualTo(new CouldNotStart("cannot run hook " + dir + ": not a regular file"));
        // executable but not a program the kernel can run (no #! and not ELF): exec itself fails
        Path garbage = dir.resolve("garbage");
        Files.write(garbage, new byte[] {0, 1, 2, 3, 4, 5, 6, 7});
        Files.setPosixFilePermissions(garbage, PosixFilePermissions.fromString("rwxr-xr-x"));
        assertThat(hook(garbage, Duration.ofSeconds(5)).run(Map.of())).satisfiesAnyOf(
                o -> assertThat(o).isInstanceOfSatisfying(CouldNotStart.class, c -> assertThat(c.reason()).contains(garbage.toString())),
                // glibc's posix_spawn falls back to /bin/sh for ENOEXEC: then the shell says it
                o -> assertThat(o).isInstanceOfSatisfying(Exited.class, e -> assertThat(e.code()).isNotZero()));
    }

    @Test
    void badHooksAndBadVariablesAreRefusedNamingWhatWasWrong() {
        assertThatThrownBy(() -> new Hook(List.of(), Duration.ofSeconds(1))).hasMessageContaining("needs a command");
        assertThatThrownBy(() -> new Hook(List.of("notify.sh"), Duration.ofSeconds(1)))
                .hasMessageContaining("absolute path, not 'notify.sh'");
        assertThatThrownBy(() -> new Hook(List.of("/bin/true"), Duration.ZERO)).hasMessageContaining("time limit must be positive");
        assertThatThrownBy(() -> new Hook(List.of("/bin/echo", "a\0b"), Duration.ofSeconds(1))).hasMessageContaining("NUL");
        var ok = new Hook(List.of("/bin/true"), Duration.ofSeconds(1));
        assertThatThrownBy(() -> ok.run(Map.of("BAD=NAME", "x"))).hasMessageContaining("not an environment variable name: 'BAD=NAME'");
        assertThatThrownBy(() -> ok.run(Map.of("GOOD", "a\0b"))).hasMessageContaining("GOOD contains a NUL byte");
    }

    @Test
    void startRunsTheHookOnAVirtualThread() throws Exception {
        var s = script("who.sh", "echo \"$UNWEDGE_PHASE $UNWEDGE_OUTCOME\"");
        var caller = Thread.currentThread();
        var f = hook(s, Duration.ofSeconds(10)).start(Map.of("UNWEDGE_PHASE", "post", "UNWEDGE_OUTCOME", "recovered"));
        var ranOn = f.thenApply(o -> Thread.currentThread());
        assertThat(f.get(10, TimeUnit.SECONDS)).isInstanceOfSatisfying(Exited.class, e -> assertThat(e.output()).isEqualTo("post recovered\n"));
        assertThat(ranOn.get(10, TimeUnit.SECONDS)).satisfiesAnyOf(t -> assertThat(t.isVirtual()).isTrue(), t -> assertThat(t).isSameAs(caller));
    }

    @Test
    void thePostEnvironmentSaysTheOutcomeAndLeavesOutWhatIsNotKnown() {
        var e = wedge(false);
        var report = new RecoveryReport(e, e.bdf(), Optional.of(RecoveryMethod.REBIND), RecoveryReport.Result.RECOVERED,
                "driver asked for rebind", List.of(), Optional.of("card2"), 412, Optional.of(850L));
        var env = Hook.environment(e, Optional.empty(), report);
        assertThat(env).containsExactly(Map.entry("UNWEDGE_PHASE", "post"), Map.entry("UNWEDGE_CARD", "card1"),
                Map.entry("UNWEDGE_BDF", "0000:06:00.0"), Map.entry("UNWEDGE_METHODS", "rebind,bus-reset"),
                Map.entry("UNWEDGE_SEQNUM", "5208"), Map.entry("UNWEDGE_OUTCOME", "recovered"), Map.entry("UNWEDGE_METHOD", "rebind"),
                Map.entry("UNWEDGE_REASON", "driver asked for rebind"), Map.entry("UNWEDGE_CARD_AFTER", "card2"));
        var refused = new RecoveryReport(e, e.bdf(), Optional.empty(), RecoveryReport.Result.REFUSED, "holders remain: 7 glxgears",
                List.of(), Optional.empty(), 3, Optional.empty());
        assertThat(Hook.environment(e, Optional.of("i915"), refused)).containsEntry("UNWEDGE_OUTCOME", "refused")
                .containsEntry("UNWEDGE_DRIVER", "i915").doesNotContainKeys("UNWEDGE_METHOD", "UNWEDGE_CARD_AFTER", "UNWEDGE_PID", "UNWEDGE_TASK");
        for (var phase : List.of(Phase.UNKNOWN, Phase.VENDOR, Phase.NONE, Phase.OFFENCE)) {
            assertThat(Hook.environment(phase, e, Optional.empty())).containsEntry("UNWEDGE_PHASE", phase.toString())
                    .doesNotContainKey("UNWEDGE_OUTCOME");
        }
        assertThat(Phase.OFFENCE).hasToString("offence");
        assertThatThrownBy(() -> Hook.environment(Phase.POST, e, Optional.empty())).hasMessageContaining("needs the recovery's report");
    }
}
