package io.unwedge.cli;

import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.CrashPoint;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.LoopHeartbeat;
import io.unwedge.daemon.SystemdNotifier;
import io.unwedge.daemon.Watchdog;
import io.unwedge.host.os.JournalStream;
import io.unwedge.host.os.SdNotify;
import io.unwedge.daemon.RecoveryListener;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.Timeouts;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.Retention;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.os.NetNamespace;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.InstantSource;
import java.util.Optional;
import java.util.concurrent.Callable;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

@Command(name = "daemon", mixinStandardHelpOptions = true,
        description = {"Listens for wedged GPUs and recovers them (root).",
                "Without --sysfs it acts on the real /sys of this machine: that is production.",
                "With --sysfs DIR/sys it acts on a virtual host and must run in that host's network namespace."})
final class DaemonCommand implements Callable<Integer> {

    @Option(names = "--sysfs", description = "sysfs root (default: the real /sys)") Path sysfs;
    @Option(names = "--dev", description = "device node root (default: /dev, or DIR/dev beside --sysfs)") Path dev;
    @Option(names = "--proc", defaultValue = "/proc", description = "procfs root (default ${DEFAULT-VALUE})") Path proc;
    @Option(names = "--state-dir", description = "state directory, holding journal.db (default: /var/lib/unwedge, or DIR/state beside --sysfs)") Path stateDir;
    @Option(names = "--dry-run", description = "log the plan for every wedge, change nothing") boolean dryRun;
    @Option(names = "--settle-ms", defaultValue = "10000", description = "settle window after a recovery (default ${DEFAULT-VALUE})") long settleMs;
    @Option(names = "--unbind-timeout-ms", defaultValue = "30000", description = "how long the driver link may take to go after the unbind write (default ${DEFAULT-VALUE})") long unbindMs;
    @Option(names = "--bind-timeout-ms", defaultValue = "60000", description = "how long the probe may take to bind and make a card minor (default ${DEFAULT-VALUE})") long bindMs;
    @Option(names = "--write-timeout-ms", defaultValue = "30000", description = "how long a sysfs write may block (default ${DEFAULT-VALUE})") long writeMs;
    @Option(names = "--debug", description = "log every uevent") boolean debug;
    @Option(names = "--drain", defaultValue = "terminate", description = {"what to do about processes holding a GPU before it is unbound:",
            "terminate (SIGTERM, SIGKILL after the grace), wait (up to the grace), kill (SIGKILL), notify-only (list, refuse) (default ${DEFAULT-VALUE})"}) String drainMode;
    @Option(names = "--drain-grace-ms", defaultValue = "10000", description = "terminate: SIGTERM to SIGKILL; wait: how long (default ${DEFAULT-VALUE})") long graceMs;
    @Option(names = "--protect", paramLabel = "COMM", description = {"never signal a process with this comm (repeatable; added to Xorg, Xwayland,",
            "gnome-shell, kwin_wayland, sddm, gdm and the gdm/sddm/display-manager units)"}) java.util.List<String> protect = new java.util.ArrayList<>();
    @Option(names = "--log-format", defaultValue = "text", description = {"text (time level event key=value … — message) or json",
            "(one object per line: time, level, event, the same keys, msg) (default ${DEFAULT-VALUE})"}) String logFormat;
    @Option(names = "--force", description = "unbind even when holders remain after the drain (their descriptors then see errors)") boolean force;
    @Option(names = "--retain-days", defaultValue = "90", description = {"journal retention: recoveries older than this are deleted, at start and daily",
            "(the last of each device and unfinished ones are always kept) (default ${DEFAULT-VALUE})"}) long retainDays;
    @Option(names = "--retain-mb", defaultValue = "64", description = "journal retention: the oldest recoveries are deleted while the journal is larger (default ${DEFAULT-VALUE})") long retainMb;

    @Override
    public Integer call() throws Exception {
        // the real /sys only when nobody named another one
        var root = sysfs == null ? new Sysfs(Sysfs.REAL_ROOT) : new Sysfs(sysfs);
        if (sysfs != null && root.isRealSys()) {
            throw new Main.Refused("--sysfs names the real /sys; omit --sysfs to run in production");
        }
        if (sysfs != null && dev != null && dev.toAbsolutePath().normalize().equals(Path.of("/dev"))) {
            throw new Main.Refused("--dev /dev with a virtual --sysfs: the drain would act on the real GPUs' holders; give the virtual host's DIR/dev");
        }
        drainPolicy(); // usage errors before anything starts
        if (retainDays < 1) throw new Main.UsageError("--retain-days must be at least 1");
        if (retainMb < 1) throw new Main.UsageError("--retain-mb must be at least 1");
        var format = EventLog.Format.parse(logFormat)
                .orElseThrow(() -> new Main.UsageError("--log-format must be text or json, not '" + logFormat + "'"));
        if (!Files.isDirectory(root.devices())) throw new Main.UsageError(root.root() + " has no devices/ directory: not a sysfs root");
        Path base = sysfs == null ? null : root.root().getParent();
        Path state = stateDir != null ? stateDir : base == null ? Path.of("/var/lib/unwedge") : base.resolve("state");
        Files.createDirectories(state);
        // under systemd with stdout to the journal, each line carries its priority (<3> err … <7> debug)
        var log = new EventLog(System.out, InstantSource.system(), debug ? EventLog.Level.DEBUG : EventLog.Level.INFO,
                format, JournalStream.isStdout(System.getenv()));
        // TEST ONLY: UNWEDGE_CRASH_AT=<point> makes the daemon SIGKILL itself there (the crash tests); read once, here
        Optional<String> crashAt;
        try {
            crashAt = CrashPoint.arm(System.getenv());
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError(e.getMessage());
        }
        crashAt.ifPresent(p -> log.warn("crash-point-armed", "point", p, CrashPoint.ENV + " is set: this daemon will SIGKILL itself there (test only)"));
        if (sysfs != null && NetNamespace.isInitial(proc)) {
            log.warn("daemon-netns", "sysfs", root.root(), "a virtual sysfs, but the host's own network namespace: "
                    + "events of the virtual host are not heard here, the real kernel's are (and name devices that are not in it)");
        }
        try (var lockFile = FileChannel.open(state.resolve("daemon.lock"), StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             var lock = lockFile.tryLock()) {
            if (lock == null) throw new Main.Refused("another unwedge daemon holds " + state.resolve("daemon.lock"));
            var timeouts = new Timeouts(Duration.ofMillis(writeMs), Duration.ofMillis(unbindMs), Duration.ofMillis(bindMs), Duration.ofMillis(settleMs));
            var settings = new Supervisor.Settings(timeouts, dryRun, drainPolicy(), proc, Optional.ofNullable(dev));
            try (var journal = Journal.open(state, InstantSource.system(), log);
                 var retention = Retention.start(journal, log, Duration.ofDays(retainDays), Math.multiplyExact(retainMb, 1L << 20), Retention.DAILY);
                 var sdNotify = SdNotify.fromEnvironment(System.getenv())) {
                var notifier = new SystemdNotifier(sdNotify, log);
                var heartbeat = new LoopHeartbeat();
                // WatchdogSec=: ping at half the interval while the event loop is alive (LoopHeartbeat says what
                // stuck is), from READY on: before it, TimeoutStartSec= is what bounds a start that hangs
                var watchdog = SdNotify.watchdogInterval(System.getenv(), ProcessHandle.current().pid())
                        .map(interval -> new Watchdog(heartbeat, interval, notifier, log));
                var source = NetlinkUeventSource.open();
                var supervisor = new Supervisor(source, new Topology(root), settings, log, RecoveryListener.NONE,
                        Optional.of(journal), notifier.afterReady(() -> watchdog.ifPresent(Watchdog::start)), heartbeat);
                // SIGINT/SIGTERM: no new recovery starts, recoveries in flight finish, then the loop ends and
                // the daemon exits 0: a requested stop is not a failure
                for (var name : new String[] {"TERM", "INT"}) {
                    sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                        log.info("daemon-signal", "signal", "SIG" + sig.getName());
                        Thread.ofPlatform().name("unwedge-stop").start(supervisor::stop);
                    });
                }
                try {
                    supervisor.run();
                } finally {
                    watchdog.ifPresent(Watchdog::close);
                }
            }
        }
        return ExitCode.OK.code;
    }

    private DrainPolicy drainPolicy() {
        var mode = DrainPolicy.Mode.parse(drainMode)
                .orElseThrow(() -> new Main.UsageError("--drain must be terminate, wait, kill or notify-only, not '" + drainMode + "'"));
        if (graceMs < 0) throw new Main.UsageError("--drain-grace-ms must not be negative");
        return new DrainPolicy(mode, Duration.ofMillis(graceMs), DrainPolicy.Protection.DEFAULT.withComms(java.util.Set.copyOf(protect)), force);
    }
}
