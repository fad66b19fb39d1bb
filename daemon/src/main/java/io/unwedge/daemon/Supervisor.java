package io.unwedge.daemon;

import io.unwedge.core.Devpath;
import io.unwedge.core.Duplicates;
import io.unwedge.core.GpuDevice;
import io.unwedge.core.PciAddress;
import io.unwedge.core.WedgedEvent;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.daemon.journal.Journal;
import io.unwedge.host.netlink.Delivery;
import io.unwedge.host.netlink.UeventSource;
import io.unwedge.host.sysfs.Devcoredumps;
import io.unwedge.host.sysfs.Topology;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Path;
import java.time.InstantSource;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The daemon's event loop: reads the uevent source, recognises wedges and hands each to its device's
 * actor; every other uevent about a device goes to that device's actor too, because a recovery in flight
 * waits on them. Independent devices recover in parallel, each device serially.
 *
 * <p>Stopping is graceful: no new recovery starts, recoveries in flight finish (bounded by their
 * timeouts) while the source is still read, then the source is closed.
 *
 * <p>A second way in, {@link #deliver}: udev's copy of an event, handed over through the daemon's socket. It
 * is dispatched as the source's are, so one wedge may be heard twice; {@link Duplicates} lets each SEQNUM of
 * a device through once.
 */
public final class Supervisor {

    /**
     * What the daemon was told to do, besides where to look.
     *
     * @param drain what to do about processes holding a device before it is unbound
     * @param proc  the procfs root the holder scan reads (signals go only to pids of a live one)
     * @param dev       the device node root; empty: {@code /dev} beside the real /sys, {@code DIR/dev} beside {@code DIR/sys}
     * @param telemetry what a {@code WEDGED=none} gets: devcoredumps saved, repeat offences and their action
     * @param stateDir  where devcoredumps are saved (under {@code devcoredump/}); empty: the journal's directory,
     *                  else {@code DIR/state} beside {@code DIR/sys}, or {@code /var/lib/unwedge} beside the real /sys
     */
    public record Settings(Timeouts timeouts, boolean dryRun, DrainPolicy drain, Path proc, Optional<Path> dev, RecoveryPolicy policy,
                           DrainChooser drainFor, Telemetry.Policy telemetry, Optional<Path> stateDir) {
        public Settings {
            Objects.requireNonNull(timeouts);
            Objects.requireNonNull(policy);
            Objects.requireNonNull(drainFor);
            Objects.requireNonNull(drain);
            Objects.requireNonNull(proc);
            Objects.requireNonNull(dev);
            Objects.requireNonNull(telemetry);
            Objects.requireNonNull(stateDir);
        }

        /** The default telemetry policy, dumps beside the journal. */
        public Settings(Timeouts timeouts, boolean dryRun, DrainPolicy drain, Path proc, Optional<Path> dev, RecoveryPolicy policy,
                        DrainChooser drainFor) {
            this(timeouts, dryRun, drain, proc, dev, policy, drainFor, Telemetry.Policy.DEFAULT, Optional.empty());
        }

        /** The default drain policy, the live /proc, the node root beside the sysfs root. */
        public Settings(Timeouts timeouts, boolean dryRun) {
            this(timeouts, dryRun, DrainPolicy.DEFAULT, Path.of("/proc"), Optional.empty(), RecoveryPolicy.DEFAULT);
        }

        /** The default recovery policy. */
        public Settings(Timeouts timeouts, boolean dryRun, DrainPolicy drain, Path proc, Optional<Path> dev) {
            this(timeouts, dryRun, drain, proc, dev, RecoveryPolicy.DEFAULT);
        }

        /** {@code drain} for every device. */
        public Settings(Timeouts timeouts, boolean dryRun, DrainPolicy drain, Path proc, Optional<Path> dev, RecoveryPolicy policy) {
            this(timeouts, dryRun, drain, proc, dev, policy, (driver, bdf) -> drain);
        }
    }

    /** The drain policy of one device (the configuration's per-driver and per-device tables). */
    @FunctionalInterface
    public interface DrainChooser {
        DrainPolicy policyFor(String driver, PciAddress bdf);
    }

    /** What became of one uevent given to {@link #deliver}. */
    public record Dispatched(Outcome outcome, String detail) {
        public Dispatched {
            Objects.requireNonNull(outcome, "outcome");
            Objects.requireNonNull(detail, "detail");
        }

        public enum Outcome {
            /** a wedge, handed to its device's actor */
            TAKEN,
            /** a wedge already taken (the same SEQNUM, or an older one of the device) */
            DUPLICATE,
            /** not a wedge; a device's actor was told if a recovery of it may wait on it */
            NOT_WEDGED,
            /** a wedge, but the daemon is stopping: the device stays wedged */
            STOPPING,
            /** dropped before dispatch (an untrusted sender, not a uevent), counted by kind */
            DROPPED
        }
    }

    /** Counted since start; the metrics endpoint will read these. */
    public record Stats(long events, long wedges, long ignoredWedges, long spoofed, long malformed, long truncated,
                        long overflows) {}

    private final UeventSource source;
    private final Topology topology;
    private final Settings settings;
    private final Optional<java.time.Instant> booted; // when the running kernel booted: a restart leaves an earlier boot's recoveries alone
    private final EventLog log;
    private final RecoveryListener listener;
    private final Optional<Journal> journal;
    private final Drain drain;
    private final DisruptionGate gate;
    private final DeviceHistory history;
    private final Commands commands;
    private final Telemetry telemetry;
    private final ServiceNotifier notifier;
    private final LoopHeartbeat heartbeat;
    private final Map<PciAddress, DeviceActor> actors = new ConcurrentHashMap<>();
    private final ExecutorService writers = Executors.newVirtualThreadPerTaskExecutor();
    private final AtomicLong events = new AtomicLong(), wedges = new AtomicLong(), ignored = new AtomicLong(),
            spoofed = new AtomicLong(), malformed = new AtomicLong(), truncated = new AtomicLong(), overflows = new AtomicLong();
    private final AtomicLong duplicates = new AtomicLong();
    /** Taking a wedge (judging its SEQNUM, posting it) and starting to stop exclude each other. */
    private final Object taking = new Object();
    private Duplicates heard = Duplicates.NONE; // guarded by taking
    private volatile boolean stopping;

    /** @param journal where each recovery and its steps are recorded; without one nothing is */
    public Supervisor(UeventSource source, Topology topology, Settings settings, EventLog log, RecoveryListener listener,
                      Optional<Journal> journal) {
        this(source, topology, settings, log, listener, journal, ServiceNotifier.NONE, new LoopHeartbeat());
    }

    /**
     * @param notifier  told when the daemon is ready, a status after each recovery, and that it is stopping
     * @param heartbeat where the loop records that it runs, for the {@link Watchdog}
     */
    public Supervisor(UeventSource source, Topology topology, Settings settings, EventLog log, RecoveryListener listener,
                      Optional<Journal> journal, ServiceNotifier notifier, LoopHeartbeat heartbeat) {
        this.source = source;
        this.topology = topology;
        this.settings = settings;
        this.booted = io.unwedge.host.procfs.BootTime.of(settings.proc());
        this.log = log;
        this.notifier = Objects.requireNonNull(notifier);
        this.heartbeat = Objects.requireNonNull(heartbeat);
        this.listener = report -> {
            try {
                listener.finished(report);
            } finally {
                notifier.status(summary(topology.cards().size(), report));
            }
        };
        this.journal = journal;
        this.gate = new DisruptionGate(settings.policy().safety().maxConcurrent());
        this.history = journal.<DeviceHistory>map(JournalHistory::new).orElseGet(DeviceHistory::inMemory);
        this.commands = new HookCommands(settings.policy().hookTimeout());
        Path dev = settings.dev().orElseGet(() -> topology.sysfs().isRealSys() ? Path.of("/dev") : topology.sysfs().root().resolveSibling("dev"));
        try {
            this.drain = new Drain(settings.proc(), topology.sysfs(), dev, settings.drain(), settings.drainFor()::policyFor, log);
        } catch (io.unwedge.host.os.OsException e) {
            throw new UncheckedIOException(e);
        }
        Path state = settings.stateDir().or(() -> journal.map(j -> j.file().getParent())).orElseGet(() -> topology.sysfs().isRealSys()
                ? io.unwedge.daemon.config.Config.Daemon.DEFAULT.stateDir() : topology.sysfs().root().resolveSibling("state"));
        this.telemetry = new Telemetry(settings.telemetry(),
                new Devcoredumps(topology.sysfs(), journal.map(Journal::clock).orElseGet(InstantSource::system)), state, settings.proc(),
                journal, log, new HookCommands(settings.telemetry().hookTimeout()), settings.drainFor());
    }

    /** Reads events until the source is closed (by {@link #stop()} or from outside). */
    public void run() throws IOException {
        var cards = topology.cards();
        log.info("daemon-start", "sysfs", topology.sysfs().root(), "cards", cards.size(), "dry_run", settings.dryRun(),
                "drain", settings.drain().mode(), "grace_ms", settings.drain().grace().toMillis(), "force", settings.drain().force(),
                "proc", settings.proc(), "dev", drain.dev(),
                "journal", journal.map(Journal::file).orElse(null), describe(cards));
        int unfinished = reconcile();
        // Ready: the socket was bound before the supervisor was built, and every recovery an earlier daemon
        // left unfinished is now with its actor. Their reconciliation needs this loop (their waits read the
        // events it delivers), so ready cannot wait for them to end; the status says they are under way.
        notifier.ready(cards.size() + " cards" + (unfinished > 0 ? ", reconciling " + unfinished + " unfinished recoveries" : ", listening"));
        try {
            loop();
        } finally {
            heartbeat.ended();
        }
    }

    private void loop() throws IOException {
        while (true) {
            heartbeat.waiting();
            var delivery = source.receive();
            heartbeat.working();
            switch (delivery) {
                case Delivery.Received(var uevent, var nanos) -> {
                    events.incrementAndGet();
                    dispatch(uevent, nanos);
                }
                case Delivery.Dropped d -> dropped(d);
                case Delivery.Overflow o -> {
                    overflows.incrementAndGet();
                    // sysfs says nothing of a wedge (it has no wedged attribute to read back): a lost one is not found
                    // again, so the operator is told which devices it may have been of
                    var cards = topology.cards();
                    log.error("netlink-overflow", "cards", String.join(",", cards.stream().map(GpuDevice::card).toList()),
                            "events were lost (the socket's receive buffer overflowed): a wedge among them cannot be read back "
                                    + "from sysfs and would go unrecovered; check these devices (dmesg, unwedge status)");
                    resync(cards);
                }
                case Delivery.Closed c -> {
                    log.info("daemon-stop", "events", events.get(), "wedges", wedges.get());
                    return;
                }
            }
        }
    }

    private void dropped(Delivery.Dropped d) {
        switch (d.kind()) {
            case SPOOFED -> spoofed.incrementAndGet();
            case MALFORMED -> malformed.incrementAndGet();
            case TRUNCATED -> truncated.incrementAndGet();
        }
        log.warn("uevent-dropped", "kind", d.kind(), "detail", d.detail(), "ignoring message");
    }

    /**
     * A delivery from outside the source (udev's copy, through the daemon's socket), on the caller's thread:
     * counted, logged and dispatched exactly as the source's are.
     */
    public Dispatched deliver(Delivery delivery) {
        return switch (delivery) {
            case Delivery.Received(var uevent, var nanos) -> {
                events.incrementAndGet();
                yield dispatch(uevent, nanos);
            }
            case Delivery.Dropped d -> {
                dropped(d);
                yield new Dispatched(Dispatched.Outcome.DROPPED, d.detail());
            }
            case Delivery.Overflow o -> throw new IllegalArgumentException("an overflow is the source's own");
            case Delivery.Closed c -> throw new IllegalArgumentException("a closed source is the source's own");
        };
    }

    private Dispatched dispatch(io.unwedge.core.Uevent uevent, long nanos) {
        switch (WedgedEvent.recognise(uevent)) {
            case WedgedEvent.Wedged(var event) -> {
                synchronized (taking) {
                    if (stopping) {
                        wedges.incrementAndGet();
                        ignored.incrementAndGet();
                        log.warn("wedge-ignored", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(),
                                "daemon is stopping; the device stays wedged");
                        return new Dispatched(Dispatched.Outcome.STOPPING, "the daemon is stopping; " + event.card() + " stays wedged");
                    }
                    switch (heard.judge(event)) {
                        case Duplicates.Repeated r -> {
                            duplicates.incrementAndGet(); // one wedge heard twice counts once, in wedges
                            log.info("wedge-duplicate", "card", event.card(), "bdf", event.bdf(), "seqnum", event.seqnum(), r.reason() + "; ignoring");
                            return new Dispatched(Dispatched.Outcome.DUPLICATE, event.card() + " " + event.bdf() + " seqnum "
                                    + Long.toUnsignedString(event.seqnum()) + ": " + r.reason());
                        }
                        case Duplicates.Fresh f -> heard = f.next();
                    }
                    wedges.incrementAndGet();
                    actor(event.bdf()).post(new ActorMessage.Wedge(event, nanos)); // first: the log line can wait, the GPU cannot
                }
                log.info("wedged", "card", event.card(), "bdf", event.bdf(), "methods", event.rawMethods(),
                        "seqnum", event.seqnum(), "task", event.task().orElse(null));
                return new Dispatched(Dispatched.Outcome.TAKEN, event.card() + " " + event.bdf() + " seqnum " + Long.toUnsignedString(event.seqnum())
                        + " WEDGED=" + event.rawMethods());
            }
            case WedgedEvent.NotWedged(var reason, var suspicious) -> {
                if (suspicious) {
                    ignored.incrementAndGet();
                    log.warn("wedge-ignored", "devpath", uevent.devpath(), "seqnum", uevent.get("SEQNUM"), reason);
                } else {
                    log.debug("uevent", "action", uevent.action(), "devpath", uevent.devpath(), "seqnum", uevent.get("SEQNUM"), reason);
                }
                // a recovery in flight waits on its device's remove/unbind/add/bind
                // and, in a reset, on its sibling functions' (all functions of a PCI device share an actor's attention)
                if (Devpath.check(uevent.devpath()) instanceof Devpath.Checked.Ok(var devpath)) {
                    devpath.nearestFunction().ifPresent(f -> actors.forEach((bdf, a) -> {
                        if (bdf.domain() == f.domain() && bdf.bus() == f.bus() && bdf.device() == f.device()) a.post(new ActorMessage.Observed(uevent));
                    }));
                }
                return new Dispatched(Dispatched.Outcome.NOT_WEDGED, reason);
            }
        }
    }

    /**
     * At start, before any event is read: every recovery an earlier daemon began and never ended goes to its
     * device's actor to be reconciled with sysfs ({@link Restart}); the actors' waits then read the events
     * the loop delivers. Devices an earlier recovery left unbound, and that still are, are said.
     */
    private int reconcile() {
        if (journal.isEmpty()) return 0;
        List<io.unwedge.daemon.journal.RecoveryRow> unfinished;
        List<Journal.LeftUnbound> leftUnbound;
        try {
            unfinished = journal.get().unfinished();
            leftUnbound = journal.get().leftUnbound();
        } catch (java.io.IOException e) {
            log.error("restart-failed", "error", e.getMessage(), "recoveries left unfinished by an earlier daemon are not reconciled");
            return 0;
        }
        var resumed = new java.util.HashSet<PciAddress>();
        for (var r : unfinished) resumed.add(r.bdf());
        for (var l : leftUnbound) {
            if (resumed.contains(l.bdf()) || topology.functionDir(l.bdf()).isEmpty() || !topology.isUnbound(l.bdf())) continue;
            log.warn("left-unbound", "bdf", l.bdf(), "recovery", l.recoveryId(), "driver", l.driver().orElse(null),
                    "an earlier recovery unbound this device and it has no driver now; bind it by hand: echo " + l.bdf() + " > "
                            + topology.sysfs().root().resolve("bus/pci/drivers").resolve(l.driver().orElse("<driver>")).resolve("bind"));
        }
        if (unfinished.isEmpty()) return 0;
        log.info("restart-unfinished", "recoveries", unfinished.size(), "dry_run", settings.dryRun(),
                settings.dryRun() ? "dry run: reconciling nothing, they stay unfinished" : "reconciling each with sysfs");
        if (settings.dryRun()) return 0;
        for (var r : unfinished) actor(r.bdf()).post(new ActorMessage.Resume(r));
        return unfinished.size();
    }

    /** The service status after a recovery: {@code "3 cards, last: card1 recovered 412 ms"}. */
    static String summary(int cards, RecoveryReport report) {
        return cards + " cards, last: " + report.event().card() + " " + report.result() + " " + report.totalMillis() + " ms";
    }

    private DeviceActor actor(PciAddress bdf) {
        return actors.computeIfAbsent(bdf, b -> {
            var writer = new SysfsWriter(writers, settings.timeouts().write());
            var a = new DeviceActor(b, (w, mailbox) -> new Recovery(w.event(), w.receivedNanos(), w.continues(), topology, settings.policy(),
                    settings.timeouts(), settings.dryRun(), log, mailbox, writer, journal, drain, gate, history, commands, telemetry),
                    (r, mailbox) -> new Restart(r.recovery(), topology, settings.timeouts(), log, mailbox, writer, journal.orElseThrow(), gate, booted),
                    listener, log);
            a.start();
            return a;
        });
    }

    /** @param cards the cards sysfs has now */
    private void resync(List<GpuDevice> cards) {
        for (var a : actors.values()) a.post(new ActorMessage.Resync());
        log.info("resync", "cards", cards.size(), describe(cards));
    }

    /** Stops taking new wedges, lets recoveries in flight end, then closes the source. */
    public void stop() {
        synchronized (taking) { // a wedge being taken now gets its actor before the actors are told to stop
            if (stopping) return;
            stopping = true;
        }
        notifier.stopping();
        log.info("daemon-stopping", "recoveries in flight finish first");
        for (var a : actors.values()) a.post(new ActorMessage.Stop());
        drain.stop(); // a drain in flight has unbound nothing yet: it ends refused rather than sitting out a grace period
        long deadline = System.currentTimeMillis() + settings.timeouts().worstCase().toMillis() + 1000;
        for (var a : actors.values()) {
            try {
                a.join(Math.max(1, deadline - System.currentTimeMillis()));
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                break;
            }
            if (a.alive()) log.error("daemon-stop-timeout", "a recovery did not end in time");
        }
        writers.shutdownNow();
        drain.close();
        source.close();
    }

    /** Wedges heard a second time (the kernel's and udev's copy of one) and ignored; not in {@link Stats#wedges()}. */
    public long duplicateWedges() {
        return duplicates.get();
    }

    public Stats stats() {
        return new Stats(events.get(), wedges.get(), ignored.get(), spoofed.get(), malformed.get(), truncated.get(), overflows.get());
    }

    private static String describe(List<GpuDevice> cards) {
        return String.join(", ", cards.stream().map(GpuDevice::toString).toList());
    }
}
