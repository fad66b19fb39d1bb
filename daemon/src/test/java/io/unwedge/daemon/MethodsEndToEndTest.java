package io.unwedge.daemon;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.MethodPolicy;
import io.unwedge.core.MethodPolicy.Handoff;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.Step;
import io.unwedge.core.safety.QuarantineMode;
import io.unwedge.core.safety.SafetyPolicy;
import io.unwedge.daemon.RecoveryReport.Result;
import io.unwedge.sim.VirtualHost;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Every method × outcome (recovered, escalated, quarantined, refused, handed off), the safety limits and the
 * hooks, end to end: the daemon, the simulator's kernel and drivers, and the real kernel delivering the
 * uevents in a private network namespace.
 */
class MethodsEndToEndTest {

    static final Duration WAIT = Duration.ofSeconds(20);
    static final Timeouts FAST = new Timeouts(Duration.ofSeconds(5), Duration.ofSeconds(5), Duration.ofMillis(1500),
            Duration.ofMillis(150), Duration.ofSeconds(5), Duration.ofMillis(200));

    @TempDir Path dir;

    /** The default policy with some parts replaced. */
    static RecoveryPolicy policy(MethodPolicy methods, SafetyPolicy safety) {
        var d = RecoveryPolicy.DEFAULT;
        return new RecoveryPolicy(methods, safety, d.preRecovery(), d.postRecovery(), d.hookTimeout(), d.verifyIoctl());
    }

    static MethodPolicy methods(MethodPolicy.BusReset busReset, Handoff unknown, Map<String, List<String>> vendor) {
        return new MethodPolicy(MethodPolicy.DEFAULT.allowed(), busReset, List.of(), unknown, vendor);
    }

    static SafetyPolicy safety(int budget, int flapCount, QuarantineMode mode) {
        return new SafetyPolicy(budget, Duration.ofHours(1), flapCount, Duration.ofMinutes(10), mode, 1);
    }

    Rig rig(RecoveryPolicy policy, VirtualHost.Options options) throws Exception {
        return new Rig(dir, 1, FAST, policy, options, (journal, host, model) -> {});
    }

    /** A script that appends its UNWEDGE_* environment to {@code out} and exits with {@code exit}. */
    Path script(String name, Path out, int exit) throws Exception {
        var s = dir.resolve(name);
        Files.writeString(s, "#!/bin/sh\nenv | grep '^UNWEDGE_' | sort >> " + out + "\necho ran " + name + "\nexit " + exit + "\n");
        Files.setPosixFilePermissions(s, PosixFilePermissions.fromString("rwxr-xr-x"));
        return s;
    }

    static List<Step> steps(RecoveryReport r) {
        return r.steps().stream().map(StepResult::step).toList();
    }

    // ---- bus-reset -------------------------------------------------------------------------------

    @Test
    void busResetUnbindsTheAudioSiblingResetsAndBindsBothBack() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.BUS_RESET), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(steps(r)).containsExactly(Step.DRAIN, Step.UNBIND, Step.RESET, Step.BIND, Step.SETTLE);
            assertThat(rig.simLines).as("audio first, then the GPU; reset; both bound again")
                    .containsSubsequence("unbind 0000:03:00.1 from snd_hda_intel", "unbind 0000:03:00.0 from xe")
                    .anyMatch(l -> l.startsWith("reset 0000:03:00.0"))
                    .anyMatch(l -> l.startsWith("bind 0000:03:00.1 to snd_hda_intel"));
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
            assertThat(rig.host.driverOf(io.unwedge.core.PciAddress.parse("0000:03:00.1").orElseThrow())).contains("snd_hda_intel");
            // journaled before the unbind, for a restart: the audio function and its driver
            long id = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 1).getFirst().id();
            assertThat(rig.journal.toRestore(id)).containsExactly(new io.unwedge.daemon.journal.Journal.Restore(
                    io.unwedge.daemon.journal.Journal.Restore.Kind.BIND, io.unwedge.core.PciAddress.parse("0000:03:00.1").orElseThrow(), "snd_hda_intel"));
        }
    }

    /**
     * A bus reset whose reset fails leaves the audio function unbound, and the wedge escalates to a cold reset:
     * that attempt's journal still names the audio function and its driver for a restart, from before the
     * recovery began, though sysfs no longer shows the driver.
     */
    @Test
    void anEscalationAfterAFailedResetStillJournalsTheAudioFunctionToBindBack() throws Exception {
        var audio = new io.unwedge.daemon.journal.Journal.Restore(io.unwedge.daemon.journal.Journal.Restore.Kind.BIND,
                io.unwedge.core.PciAddress.parse("0000:03:00.1").orElseThrow(), "snd_hda_intel");
        try (var rig = rig(RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT)) {
            rig.model.failWrite(rig.gpu(0).bdf(), "reset", "EIO");
            rig.model.failWrite(audio.bdf(), "bind", "EIO"); // and should the attempt bind it back, that fails too
            rig.model.wedge("card0", List.of(RecoveryMethod.BUS_RESET, RecoveryMethod.COLD_RESET), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).as(rig.log()).isEqualTo(Result.FAILED);
            var second = rig.nextReport(WAIT);
            assertThat(second.method()).contains(RecoveryMethod.COLD_RESET);
            assertThat(second.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            var rows = rig.journal.history(Optional.empty(), Optional.empty(), Optional.empty(), 2); // newest first
            assertThat(rig.journal.toRestore(rows.get(1).id())).as("the bus reset's").contains(audio);
            assertThat(rig.journal.toRestore(rows.get(0).id())).as("the cold reset's").contains(audio);
        }
    }

    @Test
    void busResetWithoutAResetAttributeRemovesAndRescans() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, new VirtualHost.Options(true, false, true))) {
            rig.model.wedge("card0", List.of(RecoveryMethod.BUS_RESET), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(steps(r)).containsExactly(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.RESCAN, Step.BIND, Step.SETTLE);
            assertThat(rig.simLines).anyMatch(l -> l.startsWith("remove 0000:03:00.0")).anyMatch(l -> l.startsWith("rescan"));
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
        }
    }

    @Test
    void aConfiguredResetMethodIsUsedAndTheOriginalRestored() throws Exception {
        var m = new MethodPolicy(MethodPolicy.DEFAULT.allowed(), MethodPolicy.BusReset.RESET, List.of("bus"), Handoff.ALERT, Map.of());
        // without the audio function the GPU is alone on its bus, and the kernel offers a bus reset
        try (var rig = rig(policy(m, SafetyPolicy.DEFAULT), new VirtualHost.Options(false, true, true))) {
            Path resetMethod = rig.host.functionDir(rig.gpu(0)).resolve("reset_method");
            String before = Files.readString(resetMethod);
            rig.model.wedge("card0", List.of(RecoveryMethod.BUS_RESET), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log() + "\nsim: " + rig.simLines).isEqualTo(Result.RECOVERED);
            assertThat(r.steps().get(2).detail()).contains("reset_method 'bus'");
            assertThat(rig.simLines).anyMatch(l -> l.equals("reset 0000:03:00.0 (bus)"));
            assertThat(before).isEqualTo("flr bus\n");
            assertThat(Files.readString(resetMethod)).isEqualTo(before);
        }
    }

    // ---- escalation and quarantine -----------------------------------------------------------------

    @Test
    void aFailedRebindEscalatesToBusResetInTheSameWedge() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT)) {
            rig.model.failProbes(rig.gpu(0).bdf(), 1); // the rebind's probe fails; the bus reset's works
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
            var first = rig.nextReport(WAIT);
            assertThat(first.method()).contains(RecoveryMethod.REBIND);
            assertThat(first.result()).isEqualTo(Result.FAILED);
            var second = rig.nextReport(WAIT);
            assertThat(second.method()).contains(RecoveryMethod.BUS_RESET);
            assertThat(second.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(steps(second)).first().isEqualTo(Step.DRAIN);
            assertThat(second.steps().get(1).detail()).as("unbound by the failed rebind already; the audio still had its driver")
                    .contains("0000:03:00.1");
            assertThat(rig.log()).contains("recovery-escalate").contains("from=rebind to=bus-reset");
            var rows = rig.journal.history(Optional.of(rig.gpu(0).bdf()), Optional.empty(), Optional.empty(), 10);
            assertThat(rows).hasSize(2);
            assertThat(rows.getFirst().escalatedFrom()).as("newest first: the bus reset escalates from the rebind").contains(rows.get(1).id());
            assertThat(rows.getFirst().eventId()).isEqualTo(rows.get(1).eventId());
        }
    }

    @Test
    void whenEveryMethodFailsTheDeviceIsQuarantinedUnbound() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT)) {
            rig.model.failProbes(rig.gpu(0).bdf(), 10);
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).isEqualTo(Result.FAILED);
            var last = rig.nextReport(WAIT);
            assertThat(last.result()).isEqualTo(Result.FAILED);
            assertThat(last.reason()).contains("every method failed (rebind, bus-reset)", "quarantined", "left unbound");
            assertThat(rig.journal.quarantined()).singleElement().satisfies(q -> {
                assertThat(q.bdf()).isEqualTo(rig.gpu(0).bdf());
                assertThat(q.mode()).isEqualTo(QuarantineMode.UNBOUND);
            });
            assertThat(rig.topology.isUnbound(rig.gpu(0).bdf())).isTrue();
            assertThat(rig.log()).contains("quarantined").contains("unwedge release 0000:03:00.0");
        }
    }

    @Test
    void aQuarantinedDevicesWedgeIsRefusedUntilReleased() throws Exception {
        try (var rig = new Rig(dir, 1, FAST, RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT,
                (journal, host, model) -> journal.quarantine(host.gpus().getFirst().bdf(), "an operator's", QuarantineMode.EXCLUDED))) {
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.REFUSED);
            assertThat(r.reason()).contains("quarantined since", "an operator's", "unwedge release 0000:03:00.0");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
            assertThat(rig.journal.release(rig.gpu(0).bdf(), "test")).isTrue();
            assertThat(rig.journal.quarantined()).isEmpty();
        }
    }

    // ---- cold-reset ------------------------------------------------------------------------------

    @Test
    void coldResetPowerCyclesTheSlotAboveTheSwitchAndRevivesADeadDevice() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, VirtualHost.Options.DEFAULT)) {
            rig.model.deadUntilColdReset(rig.gpu(0).bdf());
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.COLD_RESET), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).as("a rebind cannot revive it").isEqualTo(Result.FAILED);
            var r = rig.nextReport(WAIT);
            assertThat(r.method()).contains(RecoveryMethod.COLD_RESET);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.RECOVERED);
            assertThat(steps(r)).containsExactly(Step.DRAIN, Step.UNBIND, Step.REMOVE, Step.POWER_OFF, Step.POWER_ON, Step.RESCAN,
                    Step.BIND, Step.SETTLE);
            assertThat(rig.simLines).containsSubsequence("remove 0000:03:00.1", "remove 0000:03:00.0", "power slot 1: off", "power slot 1: on");
            assertThat(rig.topology.isUp(rig.gpu(0).bdf())).isTrue();
        }
    }

    @Test
    void coldResetWithoutASlotIsHandedToTheUnknownPolicy() throws Exception {
        try (var rig = rig(RecoveryPolicy.DEFAULT, new VirtualHost.Options(true, true, false))) {
            rig.model.wedge("card0", List.of(RecoveryMethod.COLD_RESET), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.HANDED_OFF);
            assertThat(r.reason()).contains("cold-reset (no power-controllable slot)", "unknown policy: alert", "alerted");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind") || l.startsWith("remove") || l.startsWith("power"));
        }
    }

    // ---- safety ----------------------------------------------------------------------------------

    @Test
    void theBudgetStopsTheSecondRecoveryAndQuarantines() throws Exception {
        try (var rig = rig(policy(MethodPolicy.DEFAULT, safety(1, 10, QuarantineMode.EXCLUDED)), VirtualHost.Options.DEFAULT)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).isEqualTo(Result.RECOVERED);
            rig.model.wedge(rig.host.cardOf(rig.gpu(0)), List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.REFUSED);
            assertThat(r.reason()).contains("budget spent: 1 recoveries in the last 1h (budget 1)", "quarantined", "excluded");
            assertThat(rig.journal.quarantined()).hasSize(1);
            assertThat(rig.simLines.stream().filter(l -> l.startsWith("unbind 0000:03:00.0"))).as("one recovery only").hasSize(1);
        }
    }

    @Test
    void aDeviceThatWedgesAgainRightAfterEachRecoveryIsFlapping() throws Exception {
        try (var rig = rig(policy(MethodPolicy.DEFAULT, safety(10, 2, QuarantineMode.UNBOUND)), VirtualHost.Options.DEFAULT)) {
            for (int i = 0; i < 2; i++) {
                rig.model.wedge(rig.host.cardOf(rig.gpu(0)), List.of(RecoveryMethod.REBIND), Optional.empty());
                assertThat(rig.nextReport(WAIT).result()).as("recovery " + i).isEqualTo(Result.RECOVERED);
            }
            rig.model.wedge(rig.host.cardOf(rig.gpu(0)), List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.REFUSED);
            assertThat(r.reason()).contains("flapping: wedged again within 10m of a successful recovery 2 times in a row", "left unbound");
            assertThat(rig.topology.isUnbound(rig.gpu(0).bdf())).as("quarantine mode unbound").isTrue();
        }
    }

    // ---- handoffs: unknown, vendor-specific ------------------------------------------------------

    @Test
    void unknownRunsTheConfiguredHookWithTheEventInItsEnvironment() throws Exception {
        Path out = dir.resolve("hook.out");
        var hook = script("unknown-hook", out, 0);
        var m = methods(MethodPolicy.BusReset.RESET, new Handoff(Handoff.Kind.HOOK, List.of(hook.toString(), "--page")), Map.of());
        try (var rig = rig(policy(m, SafetyPolicy.DEFAULT), VirtualHost.Options.DEFAULT)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.UNKNOWN), Optional.empty());
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).isEqualTo(Result.HANDED_OFF);
            assertThat(r.reason()).contains("exit 0", "ran unknown-hook");
            assertThat(Files.readString(out)).contains("UNWEDGE_PHASE=unknown", "UNWEDGE_BDF=0000:03:00.0", "UNWEDGE_METHODS=unknown",
                    "UNWEDGE_CARD=card0", "UNWEDGE_DRIVER=xe");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        }
    }

    @Test
    void xeSurvivabilityModeRunsTheFirmwareFlashAndNeverRebinds() throws Exception {
        Path out = dir.resolve("flash.out");
        var flash = script("fwupdmgr", out, 0);
        var m = methods(MethodPolicy.BusReset.RESET, Handoff.ALERT, Map.of("xe", List.of(flash.toString(), "update")));
        try (var rig = rig(policy(m, SafetyPolicy.DEFAULT), VirtualHost.Options.DEFAULT)) {
            rig.model.survivability("card0");
            var r = rig.nextReport(WAIT);
            assertThat(r.result()).as(rig.log()).isEqualTo(Result.HANDED_OFF);
            assertThat(r.reason()).contains("survivability", "firmware");
            assertThat(Files.readString(out)).contains("UNWEDGE_PHASE=firmware", "UNWEDGE_METHODS=vendor-specific");
            assertThat(rig.simLines).noneMatch(l -> l.startsWith("unbind"));
        }
    }

    @Test
    void vendorSpecificWithACommandThatFailsIsSaidAndQuarantines() throws Exception {
        Path out = dir.resolve("vendor.out");
        var vendor = script("vendor-recover", out, 3);
        var m = methods(MethodPolicy.BusReset.RESET, Handoff.ALERT, Map.of("xe", List.of(vendor.toString())));
        try (var rig = rig(policy(m, SafetyPolicy.DEFAULT), VirtualHost.Options.DEFAULT)) {
            // "vendor-specific,cold-reset" would not fit the kernel's 23 characters: the driver's list escalates to rebind
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND, RecoveryMethod.VENDOR_SPECIFIC), Optional.empty());
            rig.model.failProbes(rig.gpu(0).bdf(), 1);
            assertThat(rig.nextReport(WAIT).method()).contains(RecoveryMethod.REBIND);
            var vendorAttempt = rig.nextReport(WAIT);
            assertThat(vendorAttempt.method()).contains(RecoveryMethod.VENDOR_SPECIFIC);
            assertThat(vendorAttempt.result()).isEqualTo(Result.FAILED);
            assertThat(vendorAttempt.reason()).contains("command error", "exit 3", "output: ran vendor-recover", "every method failed", "quarantined");
            assertThat(Files.readString(out)).contains("UNWEDGE_PHASE=vendor", "UNWEDGE_METHODS=rebind,vendor-specific");
        }
    }

    // ---- hooks -----------------------------------------------------------------------------------

    @Test
    void preAndPostHooksRunAroundEachAttemptWithTheOutcome() throws Exception {
        Path out = dir.resolve("hooks.out");
        var pre = script("pre", out, 0);
        var post = script("post", out, 1); // a failing hook is said, and changes nothing
        var d = RecoveryPolicy.DEFAULT;
        var p = new RecoveryPolicy(d.methods(), d.safety(), List.of(pre.toString()), List.of(post.toString()), Duration.ofSeconds(5), false);
        try (var rig = rig(p, VirtualHost.Options.DEFAULT)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
            assertThat(rig.nextReport(WAIT).result()).isEqualTo(Result.RECOVERED);
            String env = Files.readString(out);
            assertThat(env).contains("UNWEDGE_PHASE=pre", "UNWEDGE_PHASE=post", "UNWEDGE_OUTCOME=recovered", "UNWEDGE_METHOD=rebind",
                    "UNWEDGE_CARD_AFTER=card0");
            assertThat(rig.log()).contains("hook phase=post").contains("exit 1");
        }
    }

    @Test
    void verifyIoctlFailsARecoveryWhoseNodeIsNoDrmDevice() throws Exception {
        var d = RecoveryPolicy.DEFAULT;
        var p = new RecoveryPolicy(new MethodPolicy(Set.of(RecoveryMethod.REBIND), MethodPolicy.BusReset.RESET, List.of(), Handoff.ALERT, Map.of()),
                d.safety(), List.of(), List.of(), d.hookTimeout(), true);
        try (var rig = rig(p, VirtualHost.Options.DEFAULT)) {
            rig.model.wedge("card0", List.of(RecoveryMethod.REBIND), Optional.empty());
            var r = rig.nextReport(WAIT);
            // the simulator's nodes are regular files: the kernel answers ENOTTY, as for any non-DRM node
            assertThat(r.result()).isEqualTo(Result.FAILED);
            assertThat(r.reason()).contains("verify: DRM_IOCTL_VERSION on", "renderD128", "ENOTTY");
        }
    }
}
