package io.unwedge.cli;

import io.unwedge.core.Uevent;
import io.unwedge.core.WedgedEvent;
import io.unwedge.daemon.EventLog;
import io.unwedge.daemon.LoopHeartbeat;
import io.unwedge.daemon.RecoveryReport;
import io.unwedge.daemon.ServiceNotifier;
import io.unwedge.daemon.Supervisor;
import io.unwedge.daemon.UdevHandOff;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.NetlinkUeventSource;
import io.unwedge.host.netlink.UeventSocket;
import io.unwedge.host.netlink.UeventSocket.NoReply;
import io.unwedge.host.netlink.UeventSocket.NotListening;
import io.unwedge.host.netlink.UeventSocket.Replied;
import io.unwedge.host.netlink.UeventSocket.Reply;
import io.unwedge.host.os.JournalStream;
import io.unwedge.host.sysfs.Sysfs;
import io.unwedge.host.sysfs.Topology;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.time.InstantSource;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.Callable;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import picocli.CommandLine.Command;
import picocli.CommandLine.Option;

/**
 * udev's one-shot path (packaging/99-unwedge.rules, docs/systemd.md "udev"): the uevent is in the environment,
 * as udev gives it to {@code RUN} programs. A wedge is handed to the running daemon through its socket, which
 * answers at once; with no daemon there, it is recovered here, with the daemon's own wiring (the config file,
 * the journal, the daemon lock, netlink for the device's events while it is recovered), and the process
 * waits for the end. Nothing is done before the socket send that a hand-off does not need: the start-to-exit
 * time is the JVM's and one round trip.
 */
@Command(name = "handle-uevent", mixinStandardHelpOptions = true,
        description = {"For a udev RUN rule (packaging/99-unwedge.rules): reads the uevent from the environment",
                "(ACTION, DEVPATH, SUBSYSTEM, WEDGED, SEQNUM, DEVNAME, DEVTYPE, MAJOR, MINOR, PID, TASK; empty counts as unset)",
                "and hands a wedge to the running daemon through its socket. With no daemon it recovers the device itself,",
                "under the same config file, journal and lock, and exits when that is done. Anything but a wedge exits 0 at once.",
                "Exit: 0 handed over, ignored as a duplicate, or recovered here; 1 failed here, or the daemon did not answer;",
                "2 no uevent in the environment; 4 not allowed on the socket; 5 refused (by the daemon, the policy, or the lock of",
                "a daemon that does not answer)."})
final class HandleUeventCommand implements Callable<Integer> {

    @Option(names = "--sysfs", description = "sysfs root (default: the real /sys)") Path sysfs;
    @Option(names = "--state-dir", description = "state directory, holding journal.db and daemon.lock (default: as the daemon's)") Path stateDir;
    @Option(names = "--config", paramLabel = "FILE", description = "the config file, for a recovery here (default: as the daemon's)") Path configFile;
    @Option(names = "--socket", paramLabel = "PATH", description = {"the daemon's socket (default: " + DaemonCommand.SOCKET
            + ", or STATE-DIR/uevent.sock with a virtual --sysfs)"}) Path socket;

    /**
     * The keys a DRM wedge carries from the kernel (contract §2), in its order. udev adds its own properties
     * (USEC_INITIALIZED, ID_PATH, tags…); they are not the kernel's and are left out, so the uevent handed over
     * (and journaled) is the kernel's message.
     */
    static final List<String> KEYS = List.of(Uevent.ACTION, Uevent.DEVPATH, Uevent.SUBSYSTEM, "WEDGED", "PID", "TASK",
            "MAJOR", "MINOR", "DEVNAME", "DEVTYPE", Uevent.SEQNUM);

    /** Each of connect, send and the reply; the daemon answers before any recovery step. */
    static final Duration REPLY_TIMEOUT = Duration.ofSeconds(10);

    /** Where the uevent comes from; the tests give their own. */
    Map<String, String> environment = System.getenv();

    /**
     * The options as picocli would read them, for the plain cases only: {@code --sysfs DIR}, {@code --sysfs=DIR}
     * and the like for the four options, each at most once. Empty for anything else ({@code --help}, an unknown
     * or repeated option, a missing value): picocli then reads them, and says what is wrong.
     */
    static Optional<HandleUeventCommand> parse(String... args) {
        var c = new HandleUeventCommand();
        for (int i = 0; i < args.length; i++) {
            String name = args[i], value;
            int eq = name.indexOf('=');
            if (eq > 0) {
                value = name.substring(eq + 1);
                name = name.substring(0, eq);
            } else {
                if (i + 1 >= args.length || args[i + 1].startsWith("-")) return Optional.empty(); // picocli's to judge
                value = args[++i];
            }
            if (value.isEmpty()) return Optional.empty();
            Path p = Path.of(value);
            switch (name) {
                case "--sysfs" -> {
                    if (c.sysfs != null) return Optional.empty();
                    c.sysfs = p;
                }
                case "--state-dir" -> {
                    if (c.stateDir != null) return Optional.empty();
                    c.stateDir = p;
                }
                case "--config" -> {
                    if (c.configFile != null) return Optional.empty();
                    c.configFile = p;
                }
                case "--socket" -> {
                    if (c.socket != null) return Optional.empty();
                    c.socket = p;
                }
                default -> {
                    return Optional.empty();
                }
            }
        }
        return Optional.of(c);
    }

    @Override
    public Integer call() throws Exception {
        var uevent = uevent(environment);
        var wedge = switch (WedgedEvent.recognise(uevent)) {
            case WedgedEvent.Wedged w -> w.event();
            case WedgedEvent.NotWedged n -> {
                // the rule lets only wedges through; anything else is none of ours. A broken WEDGED= is worth a line.
                if (n.suspicious()) System.err.println("unwedge: not a wedge, ignoring: " + n.reason());
                yield null;
            }
        };
        if (wedge == null) return ExitCode.OK.code;
        Path path = socketPath();
        // a socket this process may not write is AccessDeniedException: exit 4 (udev runs RUN programs as root)
        return switch (UeventSocket.send(path, uevent, REPLY_TIMEOUT)) {
            case Replied(var reply) -> said(path, reply);
            case NoReply(var why) -> {
                System.err.println("unwedge: the daemon on " + path + " did not answer: " + why + "; whether it took " + wedge.card()
                        + " (seqnum " + Long.toUnsignedString(wedge.seqnum()) + ") only its log can say");
                yield ExitCode.FAILED.code;
            }
            case NotListening(var why) -> alone(uevent, wedge, path, why);
        };
    }

    /** The daemon's reply, said in one line, and its exit code. */
    private static int said(Path path, Reply reply) {
        System.out.println("unwedge: " + path + ": " + reply);
        return switch (reply.verdict()) {
            case ACCEPTED, IGNORED -> ExitCode.OK.code;
            case REFUSED -> ExitCode.REFUSED.code;
            case DENIED -> ExitCode.PERMISSION.code;
            case MALFORMED -> ExitCode.USAGE.code;
        };
    }

    /**
     * The uevent the environment describes, with the kernel's keys in the kernel's order. Empty values are
     * unset ({@code systemd-run --setenv=NAME} passes an unset variable as empty). DEVNAME gets back the
     * kernel's relative form: udev makes it {@code /dev/dri/card0}, the kernel sends {@code dri/card0}.
     */
    static Uevent uevent(Map<String, String> env) {
        String action = value(env, Uevent.ACTION), devpath = value(env, Uevent.DEVPATH);
        if (action == null || devpath == null) {
            String missing = action == null && devpath == null ? "ACTION and DEVPATH are" : (action == null ? "ACTION" : "DEVPATH") + " is";
            throw new Main.UsageError("no uevent in the environment: " + missing + " not set (udev sets ACTION, DEVPATH, SUBSYSTEM, WEDGED, SEQNUM, …"
                    + " for RUN programs; see packaging/99-unwedge.rules)");
        }
        var rest = new LinkedHashMap<String, String>();
        for (var key : KEYS.subList(2, KEYS.size())) {
            var v = value(env, key);
            if (v == null) continue;
            rest.put(key, key.equals("DEVNAME") && v.startsWith("/dev/") ? v.substring("/dev/".length()) : v);
        }
        try {
            return Uevent.of(action, devpath, rest);
        } catch (IllegalArgumentException e) {
            throw new Main.UsageError("the environment is not a uevent: " + e.getMessage());
        }
    }

    private static String value(Map<String, String> env, String key) {
        var v = env.get(key);
        return v == null || v.isEmpty() ? null : v;
    }

    /** The daemon's: {@code --socket}, else /run/unwedge/uevent.sock, else beside a virtual host's state (the config only then). */
    Path socketPath() throws IOException {
        if (socket != null || sysfs == null) return DaemonCommand.socketPath(socket, sysfs, null);
        return DaemonCommand.socketPath(null, sysfs, daemon().effectiveConfig().daemon().stateDir());
    }

    /** The daemon command these options describe, for its config and its checks. */
    private DaemonCommand daemon() {
        var d = new DaemonCommand();
        d.sysfs = sysfs;
        d.stateDir = stateDir;
        d.configFile = configFile;
        d.proc = Path.of("/proc");
        return d;
    }

    /** No daemon: recovered here, as the daemon would, under its lock. */
    private int alone(Uevent uevent, WedgedEvent wedge, Path path, String why) throws Exception {
        var root = sysfs == null ? new Sysfs(Sysfs.REAL_ROOT) : new Sysfs(sysfs);
        if (sysfs != null && root.isRealSys()) throw new Main.Refused("--sysfs names the real /sys; omit --sysfs to run in production");
        var config = daemon().effectiveConfig();
        var settings = config.daemon();
        if (!Files.isDirectory(root.devices())) throw new Main.UsageError(root.root() + " has no devices/ directory: not a sysfs root");
        Path state = settings.stateDir();
        Files.createDirectories(state);
        var log = new EventLog(System.out, InstantSource.system(), settings.debug() ? EventLog.Level.DEBUG : EventLog.Level.INFO,
                settings.logFormat(), JournalStream.isStdout(System.getenv()));
        log.info("handle-uevent-alone", "card", wedge.card(), "bdf", wedge.bdf(), "seqnum", wedge.seqnum(), "socket", path,
                "no daemon (" + why + "): recovering it here");
        Path lockPath = state.resolve("daemon.lock");
        try (var lockFile = FileChannel.open(lockPath, StandardOpenOption.CREATE, StandardOpenOption.WRITE);
             var lock = lockFile.tryLock()) {
            if (lock == null) {
                // its holder may have taken it a moment ago and be about to listen (it binds right after): ask once more
                if (UeventSocket.send(path, uevent, REPLY_TIMEOUT) instanceof Replied(var reply)) return said(path, reply);
                throw new Main.Refused("another unwedge holds " + lockPath + " and does not answer on " + path + "; "
                        + wedge.card() + " is not recovered here");
            }
            return recover(uevent, wedge, root, config, path, log);
        }
    }

    private int recover(Uevent uevent, WedgedEvent wedge, Sysfs root, io.unwedge.daemon.config.Config config, Path path, EventLog log)
            throws Exception {
        // this process serves the socket while it runs: a second wedge meanwhile (another GPU) is handed to it
        var udev = DaemonCommand.bindUeventSocket(path, log);
        try (var journal = Journal.open(config.daemon().stateDir(), InstantSource.system(), log);
             var source = NetlinkUeventSource.open()) {
            var reports = new LinkedBlockingQueue<RecoveryReport>();
            var ready = new CountDownLatch(1);
            var servedBy = new AtomicReference<Supervisor>();
            var supervisor = new Supervisor(source, new Topology(root), DaemonCommand.supervisorSettings(config, Path.of("/proc"), null), log,
                    reports::add, Optional.of(journal), ServiceNotifier.NONE.afterReady(() -> {
                        udev.ifPresent(s -> UdevHandOff.serve(s, servedBy.get(), log));
                        ready.countDown();
                    }), new LoopHeartbeat());
            servedBy.set(supervisor);
            // SIGTERM (systemd stopping the unit): the recovery in flight finishes, as in the daemon
            for (var name : new String[] {"TERM", "INT"}) {
                sun.misc.Signal.handle(new sun.misc.Signal(name), sig -> Thread.ofPlatform().name("unwedge-stop").start(supervisor::stop));
            }
            var failure = new AtomicReference<Exception>();
            var loop = Thread.ofPlatform().name("unwedge-loop").start(() -> {
                try {
                    supervisor.run(); // unfinished recoveries of an earlier run are reconciled first, as at a daemon's start
                } catch (IOException | RuntimeException e) {
                    failure.set(e);
                } finally {
                    ready.countDown();
                }
            });
            try {
                ready.await();
                if (failure.get() != null) throw failure.get();
                var dispatched = supervisor.deliver(new Delivery.Received(uevent, System.nanoTime()));
                if (dispatched.outcome() != Supervisor.Dispatched.Outcome.TAKEN) {
                    log.warn("handle-uevent-not-taken", "card", wedge.card(), "outcome", dispatched.outcome(), dispatched.detail());
                    return ExitCode.REFUSED.code;
                }
                // the actor hands over all of a wedge's reports (one per attempt) at once, at the end of its ladder
                var deadline = config.timeouts().worstCase().multipliedBy(io.unwedge.core.RecoveryMethod.values().length)
                        .plus(config.drain().grace()).plus(Duration.ofMinutes(1));
                var ours = new ArrayList<RecoveryReport>();
                long end = System.nanoTime() + deadline.toNanos();
                while (ours.isEmpty()) {
                    var r = reports.poll(Math.max(0, end - System.nanoTime()), TimeUnit.NANOSECONDS);
                    if (r == null) {
                        log.error("handle-uevent-no-report", "card", wedge.card(), "bdf", wedge.bdf(), "within", deadline,
                                "no end of the recovery was reported; see the journal");
                        return ExitCode.INTERNAL.code;
                    }
                    if (isOurs(r, wedge)) ours.add(r);
                }
                supervisor.stop(); // returns once every recovery in flight, ours and any handed over meanwhile, has ended
                loop.join();
                for (var r : reports) if (isOurs(r, wedge)) ours.add(r);
                var last = ours.getLast();
                log.info("handle-uevent-done", "card", wedge.card(), "bdf", wedge.bdf(), "seqnum", wedge.seqnum(), "result", last.result(),
                        "attempts", ours.size(), last.reason());
                return switch (last.result()) {
                    case RECOVERED, HANDED_OFF, NOTHING_TO_DO, DRY_RUN -> ExitCode.OK.code;
                    case FAILED -> ExitCode.FAILED.code;
                    case REFUSED -> ExitCode.REFUSED.code;
                };
            } finally {
                supervisor.stop();
                loop.join();
                udev.ifPresent(UeventSocket::close);
            }
        } finally {
            udev.ifPresent(UeventSocket::close);
        }
    }

    private static boolean isOurs(RecoveryReport r, WedgedEvent wedge) {
        return r.bdf().equals(wedge.bdf()) && r.event().seqnum() == wedge.seqnum();
    }
}
