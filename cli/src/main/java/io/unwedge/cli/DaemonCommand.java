package io.unwedge.cli;

import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.config.Config;
import io.unwedge.daemon.config.ConfigException;
import io.unwedge.daemon.http.Health;
import io.unwedge.daemon.http.ListenAddress;
import io.unwedge.daemon.http.MetricsRegistry;
import io.unwedge.daemon.http.MetricsServer;
import java.io.IOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.NoSuchFileException;
import io.unwedge.daemon.CrashPoint;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.LoopHeartbeat;
import io.unwedge.daemon.SystemdNotifier;
import io.unwedge.daemon.Watchdog;
import io.unwedge.host.os.JournalStream;
import io.unwedge.host.os.SdNotify;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.Timeouts;
import io.unwedge.daemon.UdevHandOff;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.daemon.journal.Retention;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.UeventSocket;
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
    @Option(names = "--config", paramLabel = "FILE", description = {"the config file (docs/configuration.md); the options below override it, key by key",
            "(default: /etc/unwedge/unwedge.toml if it exists, without --sysfs; none with --sysfs)"}) Path configFile;
    @Option(names = "--state-dir", description = "state directory, holding journal.db (default: [daemon] state_dir, /var/lib/unwedge, or DIR/state beside --sysfs)") Path stateDir;
    @Option(names = "--dry-run", negatable = true, description = "log the plan for every wedge, change nothing (default: [daemon] dry_run, false)") Boolean dryRun;
    @Option(names = "--settle-ms", description = "settle window after a recovery (default: [timeouts] settle, 10000)") Long settleMs;
    @Option(names = "--unbind-timeout-ms", description = "how long the driver link may take to go after the unbind write (default: [timeouts] unbind, 30000)") Long unbindMs;
    @Option(names = "--bind-timeout-ms", description = "how long the probe may take to bind and make a card minor (default: [timeouts] bind, 60000)") Long bindMs;
    @Option(names = "--write-timeout-ms", description = "how long a sysfs write may block (default: [timeouts] write, 30000)") Long writeMs;
    @Option(names = "--debug", negatable = true, description = "log every uevent (default: [daemon] debug, false)") Boolean debug;
    @Option(names = "--drain", description = {"what to do about processes holding a GPU before it is unbound:",
            "terminate (SIGTERM, SIGKILL after the grace), wait (up to the grace), kill (SIGKILL), notify-only (list, refuse)",
            "(default: [drain] mode, terminate)"}) String drainMode;
    @Option(names = "--drain-grace-ms", description = "terminate: SIGTERM to SIGKILL; wait: how long (default: [drain] grace, 10000)") Long graceMs;
    @Option(names = "--protect", paramLabel = "COMM", description = {"never signal a process with this comm (repeatable; added to Xorg, Xwayland,",
            "gnome-shell, kwin_wayland, sddm, gdm and the gdm/sddm/display-manager units; replaces [drain] protect)"}) java.util.List<String> protect;
    @Option(names = "--log-format", description = {"text (time level event key=value … — message) or json",
            "(one object per line: time, level, event, the same keys, msg) (default: [daemon] log_format, text)"}) String logFormat;
    @Option(names = "--force", negatable = true, description = "unbind even when holders remain after the drain (their descriptors then see errors) (default: [drain] force, false)") Boolean force;
    @Option(names = "--retain-days", description = {"journal retention: recoveries older than this are deleted, at start and daily",
            "(the last of each device and unfinished ones are always kept) (default: [daemon] retain_days, 90)"}) Long retainDays;
    @Option(names = "--retain-mb", description = "journal retention: the oldest recoveries are deleted while the journal is larger (default: [daemon] retain_mb, 64)") Long retainMb;
    @Option(names = "--metrics-listen", paramLabel = "HOST:PORT|off", description = {"where /metrics and /healthz are served (docs/metrics.md): an IP address and port,",
            "e.g. 127.0.0.1:9464 or [::1]:9464, or off; loopback only unless [daemon] metrics_allow_remote",
            "(default: [daemon] metrics_listen, 127.0.0.1:9464; off with a virtual --sysfs)"}) String metricsListen;

    @Option(names = "--socket", paramLabel = "PATH", description = {"where `unwedge handle-uevent` hands udev's copies of uevents over",
            "(default: " + SOCKET + ", or STATE-DIR/uevent.sock with a virtual --sysfs)"}) Path socket;

    /** The daemon's socket for udev's copies of uevents, on the real /sys (RuntimeDirectory=unwedge in the unit). */
    static final String SOCKET = "/run/unwedge/uevent.sock";
    static final Path DEFAULT_SOCKET = Path.of(SOCKET);

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
        // the file and the options, every usage error before anything starts
        var config = effectiveConfig();
        var settings = config.daemon();
        if (!Files.isDirectory(root.devices())) throw new Main.UsageError(root.root() + " has no devices/ directory: not a sysfs root");
        Path state = settings.stateDir();
        Files.createDirectories(state);
        // under systemd with stdout to the journal, each line carries its priority (<3> err … <7> debug)
        var log = new EventLog(System.out, InstantSource.system(), settings.debug() ? EventLog.Level.DEBUG : EventLog.Level.INFO,
                settings.logFormat(), JournalStream.isStdout(System.getenv()));
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
            var supervisorSettings = supervisorSettings(config, proc, dev);
            // bound now, under the lock (a stale file a dead daemon left is replaced); served from READY on
            var udev = bindUeventSocket(socketPath(socket, sysfs, state), log);
            var servedBy = new java.util.concurrent.atomic.AtomicReference<Supervisor>();
            try (var journal = Journal.open(state, InstantSource.system(), log);
                 var retention = Retention.start(journal, log, Duration.ofDays(settings.retainDays()), (long) settings.retainMb() << 20,
                         config.safetyMemory(), Retention.DAILY);
                 var sdNotify = SdNotify.fromEnvironment(System.getenv())) {
                var notifier = new SystemdNotifier(sdNotify, log);
                var heartbeat = new LoopHeartbeat();
                // WatchdogSec=: ping at half the interval while the event loop is alive (LoopHeartbeat says what
                // stuck is), from READY on: before it, TimeoutStartSec= is what bounds a start that hangs
                var watchdogInterval = SdNotify.watchdogInterval(System.getenv(), ProcessHandle.current().pid());
                var watchdog = watchdogInterval.map(interval -> new Watchdog(heartbeat, interval, notifier, log));
                var source = NetlinkUeventSource.open();
                var topology = new Topology(root);
                var metrics = new MetricsRegistry(); // counts each recovery's report, for /metrics
                log.listen(metrics); // and the journal's failures, from the lines logged for them
                var supervisor = new Supervisor(source, topology, supervisorSettings, log, metrics, Optional.of(journal),
                        notifier.afterReady(() -> {
                            watchdog.ifPresent(Watchdog::start);
                            udev.ifPresent(s -> UdevHandOff.serve(s, servedBy.get(), log));
                        }), heartbeat);
                servedBy.set(supervisor);
                // SIGINT/SIGTERM: no new recovery starts, recoveries in flight finish, then the loop ends and
                // the daemon exits 0: a requested stop is not a failure
                for (var name : new String[] {"TERM", "INT"}) {
                    sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> {
                        log.info("daemon-signal", "signal", "SIG" + sig.getName());
                        Thread.ofPlatform().name("unwedge-stop").start(supervisor::stop);
                    });
                }
                // the same "alive" as the watchdog's, with the unit's WatchdogSec= when not under one
                var health = Health.of(heartbeat, watchdogInterval.orElse(HEALTH_STUCK_AFTER));
                var sources = new MetricsServer.Sources(supervisor::stats, () -> topology.cards().size(), () -> journal.quarantined().size(),
                        health, Main.Version.number());
                try (var server = startMetrics(settings, metrics, sources, log)) {
                    supervisor.run();
                } finally {
                    watchdog.ifPresent(Watchdog::close);
                    udev.ifPresent(UeventSocket::close);
                }
            }
        }
        return ExitCode.OK.code;
    }

    /** How long the event loop may work on one delivery before /healthz says it is stuck, without a watchdog (the unit's WatchdogSec=). */
    static final Duration HEALTH_STUCK_AFTER = Duration.ofSeconds(30);

    /**
     * The metrics endpoint, bound before READY (so READY means it is served), or nothing when it is off or
     * cannot be bound: recovering GPUs matters more than being scraped, so that is an error line, not a stop.
     */
    private static AutoCloseable startMetrics(Config.Daemon settings, MetricsRegistry metrics, MetricsServer.Sources sources, EventLog log) {
        if (!(settings.metricsListen() instanceof ListenAddress.At at)) {
            log.info("metrics-off", "no /metrics or /healthz ([daemon] metrics_listen, --metrics-listen)");
            return () -> {};
        }
        try {
            var server = MetricsServer.start(at, settings.metricsAllowRemote(), metrics, sources, log);
            log.info("metrics-listening", "address", server.describe(), "serving http://" + server.describe() + "/metrics and /healthz");
            return server;
        } catch (IOException | RuntimeException e) {
            log.error("metrics-failed", "address", at, "error", e.toString(), "running without /metrics and /healthz");
            return () -> {};
        }
    }

    /** The supervisor's settings from the effective config: [drain] with its per-driver and per-device tables, [timeouts], the policies. */
    static Supervisor.Settings supervisorSettings(Config config, Path proc, Path dev) {
        return new Supervisor.Settings(config.timeouts(), config.daemon().dryRun(), config.drain().policy(), proc, Optional.ofNullable(dev),
                config.recoveryPolicy(), config::drainFor, config.telemetryPolicy(), Optional.of(config.daemon().stateDir()));
    }

    /** {@code --socket}, else {@link #DEFAULT_SOCKET} on the real /sys, else {@code STATE-DIR/uevent.sock} beside a virtual one. */
    static Path socketPath(Path option, Path sysfs, Path state) {
        if (option != null) return option.toAbsolutePath();
        return sysfs == null ? DEFAULT_SOCKET : state.resolve("uevent.sock");
    }

    /**
     * The socket udev's copies are handed over on, or nothing when it cannot be bound: an error line, not a stop,
     * because the kernel's own events are still heard (handle-uevent then finds no daemon and says so).
     */
    static Optional<UeventSocket> bindUeventSocket(Path path, EventLog log) {
        try {
            return Optional.of(UeventSocket.bind(path));
        } catch (IOException | IllegalArgumentException e) {
            log.error("uevent-socket-failed", "path", path, "error", e.toString(), "udev's copies of uevents cannot be handed over; the kernel's are still heard");
            return Optional.empty();
        }
    }

    /**
     * The settings this daemon runs with: the config file's (see {@link #loadConfig}), each overridden by its
     * option when that is given. The state directory, when neither names one, is the virtual host's
     * {@code DIR/state} beside a {@code --sysfs}, else {@code [daemon] state_dir}'s default.
     */
    Config effectiveConfig() throws IOException {
        var file = loadConfig();
        var d = file.daemon();
        Path state;
        if (stateDir != null) state = stateDir.toAbsolutePath();
        else if (!d.stateDir().equals(Config.Daemon.DEFAULT.stateDir()) || sysfs == null) state = d.stateDir();
        else state = sysfs.toAbsolutePath().normalize().getParent().resolve("state");
        var format = logFormat == null ? d.logFormat() : EventLog.Format.parse(logFormat)
                .orElseThrow(() -> new Main.UsageError("--log-format must be text or json, not '" + logFormat + "'"));
        var daemon = new Config.Daemon(state, dryRun != null ? dryRun : d.dryRun(), format, debug != null ? debug : d.debug(),
                atLeastOne(retainDays, "--retain-days", d.retainDays()), atLeastOne(retainMb, "--retain-mb", d.retainMb()),
                metricsListen(d), d.metricsAllowRemote());
        var t = file.timeouts();
        var timeouts = new Timeouts(ms(writeMs, t.write()), ms(unbindMs, t.unbind()), ms(bindMs, t.bind()), ms(settleMs, t.settle()),
                t.reset(), t.powerOff());
        var dr = file.drain();
        var mode = drainMode == null ? dr.mode() : DrainPolicy.Mode.parse(drainMode)
                .orElseThrow(() -> new Main.UsageError("--drain must be terminate, wait, kill or notify-only, not '" + drainMode + "'"));
        if (graceMs != null && graceMs < 0) throw new Main.UsageError("--drain-grace-ms must not be negative");
        Config.Drain drain;
        try {
            drain = new Config.Drain(mode, ms(graceMs, dr.grace()), force != null ? force : dr.force(),
                    protect != null ? protect : dr.protect(), dr.drivers(), dr.devices());
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("--protect: " + e.getMessage()); // the file's were checked when it was read
        }
        return file.withDaemon(daemon).withTimeouts(timeouts).withDrain(drain);
    }

    /**
     * The config file: {@code --config FILE} (missing is an error), else {@code /etc/unwedge/unwedge.toml} when
     * acting on the real /sys (missing is the defaults). A virtual host reads only a named file: a rehearsal
     * must not pick up production settings (its journal would land in the production state directory).
     */
    Config loadConfig() throws IOException {
        return loadConfig(configFile, sysfs);
    }

    /** {@link #loadConfig()} for any command that reads the daemon's configuration (plan does). */
    static Config loadConfig(Path configFile, Path sysfs) throws IOException {
        Path file = configFile != null ? configFile : sysfs == null ? Config.DEFAULT_FILE : null;
        if (file == null) return Config.DEFAULT;
        try {
            return Config.load(file);
        } catch (NoSuchFileException e) {
            if (configFile == null) return Config.DEFAULT;
            throw new Main.UsageError("--config " + file + ": no such file");
        } catch (AccessDeniedException e) {
            throw new AccessDeniedException(file.toString(), null, "the config file cannot be read");
        } catch (ConfigException e) {
            int n = e.problems().size();
            throw new Main.UsageError(file + ": " + n + (n == 1 ? " problem" : " problems") + " (`unwedge config check` shows them too):\n" + e.getMessage());
        }
    }

    /**
     * {@code --metrics-listen}, else the file's. With a virtual {@code --sysfs} a {@code metrics_listen} left at
     * its default means off: a rehearsal is no service to scrape, and beside a production daemon it would
     * take its port.
     */
    private ListenAddress metricsListen(Config.Daemon d) {
        if (metricsListen == null) return sysfs != null && d.metricsListen().equals(ListenAddress.DEFAULT) ? ListenAddress.OFF : d.metricsListen();
        ListenAddress a;
        try {
            a = ListenAddress.parse(metricsListen);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("--metrics-listen " + e.getMessage() + " (e.g. --metrics-listen 127.0.0.1:9464, [::1]:9464 or off)");
        }
        if (a instanceof ListenAddress.At at && !at.isLoopback() && !d.metricsAllowRemote()) {
            throw new Main.UsageError("--metrics-listen " + at + " is not a loopback address: " + ListenAddress.REMOTE_REFUSED
                    + "; set metrics_allow_remote = true in [daemon] of the config file to serve it beyond this host anyway");
        }
        return a;
    }

    private static Duration ms(Long option, Duration fromFile) {
        return option == null ? fromFile : Duration.ofMillis(option);
    }

    private static int atLeastOne(Long option, String name, int fromFile) {
        if (option == null) return fromFile;
        if (option < 1) throw new Main.UsageError(name + " must be at least 1");
        if (option > Integer.MAX_VALUE) throw new Main.UsageError(name + " is too large: " + option);
        return option.intValue();
    }
}
