package io.unwedge.daemon;

import io.unwedge.core.GpuDevice;
import io.unwedge.core.holders.DrainPolicy;
import io.unwedge.core.holders.DrainPolicy.Action;
import io.unwedge.core.holders.DrainPolicy.Verdict;
import io.unwedge.core.holders.Holder;
import io.unwedge.daemon.journal.DrainRow;
import io.unwedge.host.os.Inotify;
import io.unwedge.host.os.OsException;
import io.unwedge.host.os.Pidfd;
import io.unwedge.host.os.Pollable;
import io.unwedge.host.os.Wakeup;
import io.unwedge.host.procfs.HolderScan;
import io.unwedge.host.sysfs.Sysfs;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;

/**
 * The drain step: makes a device free before it is unbound (contract §4: no process may still use it).
 *
 * <h2>The loop</h2>
 * Scan the holders of the device's nodes; ask {@link DrainPolicy#decide} what to do about each (by how long
 * this drain has seen it); carry that out; wait on the holders' pidfds until they exit, or let go of the
 * device (a close on its nodes, see {@link #awaitLetGo}), or the policy's next deadline; scan again. A
 * process that opens the device meanwhile is a new holder with its own grace. The loop ends when the device
 * is free, when the policy stops (holders that will not go: refused, or with {@code force} proceeding
 * anyway), when new openers keep coming ({@link #MAX_ROUNDS} scans that found someone new), or when the
 * daemon stops (refused: nothing was unbound).
 *
 * <h2>Who may be signalled</h2>
 * Only a process the scan found holding the device, through a pidfd opened after the scan and checked again
 * through {@code /proc/<pid>} once open (see {@link Pidfd}): a pid recycled in between names a process that
 * does not hold the device, and is left alone; one recycled after the open cannot be reached through the
 * pidfd. The protection rules are applied to the re-checked process too. When the procfs root is not this
 * process's live procfs (a fixture tree), its pids name nothing a signal should reach: the drain only lists.
 */
final class Drain implements AutoCloseable {

    /** How many scans may find a holder not seen before (the first scan included) before the drain gives up. */
    static final int MAX_ROUNDS = 3;
    /** A backstop against a scan that keeps seeing something no pidfd can wait for. */
    private static final int MAX_SCANS = 64;

    /**
     * How the drain ended: {@code proceed} false means the recovery is refused with {@code detail}.
     *
     * @param holders every process the drain found, with what it did about each and how each ended: the
     *                journal's drain rows
     */
    record Result(boolean proceed, String detail, List<DrainRow.Holder> holders) {
        Result {
            holders = List.copyOf(holders);
        }

        Result(boolean proceed, String detail) {
            this(proceed, detail, List.of());
        }
    }

    private final HolderScan scan;
    private final Sysfs sysfs;
    private final Path dev;
    private final Chooser chooser;
    private final boolean live;
    private final EventLog log;
    private final Wakeup stop;

    /** The drain policy for a device: {@code [drain.device."BDF"]} beats {@code [drain.driver.NAME]} beats {@code [drain]}. */
    @FunctionalInterface
    interface Chooser {
        DrainPolicy policyFor(String driver, io.unwedge.core.PciAddress bdf);
    }

    Drain(Path proc, Sysfs sysfs, Path dev, DrainPolicy policy, EventLog log) throws OsException {
        this(proc, sysfs, dev, policy, (driver, bdf) -> policy, log);
    }

    /** @param policy the base policy, said at start; {@code chooser} may refine it per device */
    Drain(Path proc, Sysfs sysfs, Path dev, DrainPolicy policy, Chooser chooser, EventLog log) throws OsException {
        this.scan = new HolderScan(proc);
        this.sysfs = sysfs;
        this.dev = dev;
        this.live = HolderScan.isLive(proc);
        this.chooser = chooser;
        this.log = log;
        this.stop = Wakeup.open();
        if (!live && policy.mode() != DrainPolicy.Mode.NOTIFY_ONLY) {
            log.warn("drain-policy", "proc", proc, "policy", policy.mode(),
                    "the procfs root is not this process's live /proc: its pids are not ours to signal; holders are only listed (notify-only)");
        }
    }

    /** The device's policy; notify-only whatever it says when the procfs root is not our live /proc. */
    DrainPolicy policyFor(GpuDevice device) {
        var p = chooser.policyFor(device.driver().orElse(null), device.bdf());
        return live ? p : new DrainPolicy(DrainPolicy.Mode.NOTIFY_ONLY, p.grace(), p.protection(), p.force());
    }

    Path dev() {
        return dev;
    }

    /** A stopping daemon: a drain in flight ends at once, refused, with nothing unbound. */
    void stop() {
        stop.wake();
    }

    @Override
    public void close() {
        stop.close();
    }

    /** --dry-run: what the drain would do now, logged; nobody is signalled. */
    void preview(GpuDevice device) {
        var policy = policyFor(device);
        var holders = scan.scan(HolderScan.Target.of(device, sysfs, dev));
        var verdict = policy.decide(holders, Duration.ZERO);
        List<Action> actions = switch (verdict) {
            case Verdict.Free f -> List.of();
            case Verdict.Drain d -> d.actions();
            case Verdict.Stop s -> s.actions();
        };
        if (holders.isFree()) {
            log.info("drain-plan", "card", device.card(), "bdf", device.bdf(), "free: nothing would be signalled (dry run)");
        }
        for (var a : actions) {
            var h = a.holder();
            log.info("drain-plan", "card", device.card(), "bdf", device.bdf(), "pid", h.pid(), "comm", h.comm(),
                    "would " + switch (a) {
                        case Action.Send s -> "send " + s.signal() + (s.signal() == DrainPolicy.Signal.TERM && policy.mode() == DrainPolicy.Mode.TERMINATE
                                ? ", then SIGKILL after " + policy.grace().toMillis() + " ms" : "");
                        case Action.Wait w -> "wait up to " + w.lookAgain().toMillis() + " ms for it to exit";
                        case Action.Spare sp -> "leave it alone (" + sp.why() + ")";
                        case Action.Notify n -> "list it and leave it alone (notify-only)";
                        case Action.GiveUp g -> "give up (" + g.why() + ")";
                    } + (verdict instanceof Verdict.Stop && !policy.force() ? "; the recovery would be refused" : "") + " (dry run)");
        }
    }

    /**
     * Runs the drain for {@code device}, which is still bound; returns whether the recovery may unbind it, and
     * how each holder ended.
     */
    Result run(GpuDevice device) {
        var tally = new Tally();
        var r = drain(device, tally);
        return new Result(r.proceed(), r.detail(), tally.rows());
    }

    private Result drain(GpuDevice device, Tally tally) {
        var policy = policyFor(device);
        var target = HolderScan.Target.of(device, sysfs, dev);
        long t0 = System.nanoTime();
        var firstSeen = new HashMap<Integer, Long>();
        var pidfds = new HashMap<Integer, Pidfd>();
        var sent = new HashMap<Integer, Set<DrainPolicy.Signal>>();
        var known = new LinkedHashMap<Integer, String>(); // pid → comm, of holders seen in the last scan
        var told = new HashMap<Integer, String>();         // holders already logged as staying
        int rounds = 0;
        Inotify closes = watchCloses(device);
        try {
            for (int scans = 0; scans < MAX_SCANS; scans++) {
                var holders = scan.scan(target);
                var now = holders.holders().stream().map(Holder::pid).toList();
                for (var gone : new ArrayList<>(known.keySet())) {
                    if (!now.contains(gone)) {
                        ended(device, gone, known.remove(gone), pidfds.get(gone), sent.getOrDefault(gone, Set.of()), tally);
                    }
                }
                for (var u : holders.uncertain()) log.debug("drain-uncertain", "card", device.card(), "bdf", device.bdf(), u);
                if (holders.isFree()) {
                    return new Result(true, firstSeen.isEmpty() ? "free: no process held " + device.card()
                            : "free after " + ms(t0) + " ms: " + firstSeen.size() + " holder(s) gone");
                }
                boolean someoneNew = false;
                long at = System.nanoTime();
                var seen = new ArrayList<DrainPolicy.Seen>();
                for (var h : holders.holders()) {
                    known.put(h.pid(), h.comm());
                    tally.seen(h, at);
                    if (firstSeen.putIfAbsent(h.pid(), at) == null) someoneNew = true;
                    seen.add(new DrainPolicy.Seen(h, Duration.ofNanos(at - firstSeen.get(h.pid()))));
                }
                if (someoneNew && ++rounds > MAX_ROUNDS) {
                    return refuse(device, "holders remain: new openers kept appearing (" + MAX_ROUNDS + " rounds): " + list(holders.holders()));
                }
                switch (policy.decide(seen)) {
                    case Verdict.Free f -> {
                        return new Result(true, "free");
                    }
                    case Verdict.Stop s -> {
                        for (var a : s.actions()) staying(device, a, told, tally);
                        if (policy.force()) {
                            log.warn("drain-forced", "card", device.card(), "bdf", device.bdf(), "holders", s.why(),
                                    "proceeding with holders left (force): their descriptors and mappings see errors after the rebind");
                            return new Result(true, "forced with holders remaining: " + s.why());
                        }
                        return refuse(device, "holders remain: " + s.why());
                    }
                    case Verdict.Drain d -> {
                        var waitFor = new ArrayList<Pidfd>();
                        for (var a : d.actions()) {
                            if (a.stays()) {
                                staying(device, a, told, tally);
                                continue;
                            }
                            if (a instanceof Action.Send) tally.meant(a.holder().pid());
                            var pidfd = pidfd(pidfds, a.holder().pid());
                            if (pidfd.isEmpty()) continue; // exited since the scan
                            if (a instanceof Action.Send s && sent.computeIfAbsent(s.holder().pid(), p -> EnumSet.noneOf(DrainPolicy.Signal.class)).add(s.signal())) {
                                send(device, target, pidfd.get(), s, tally);
                            }
                            waitFor.add(pidfd.get());
                        }
                        long deadline = System.nanoTime() + d.lookAgain().toNanos();
                        if (awaitLetGo(waitFor, closes, target, deadline) == Wakeup.Ended.WOKEN) {
                            return refuse(device, "daemon stopping: drain abandoned, holders remain: " + list(holders.holders()));
                        }
                    }
                }
            }
            return refuse(device, "holders remain after " + MAX_SCANS + " scans: " + String.join(", ", known.entrySet().stream()
                    .map(e -> e.getKey() + " " + e.getValue()).toList()));
        } catch (OsException e) {
            return refuse(device, "drain failed: " + e.getMessage());
        } finally {
            for (var p : pidfds.values()) p.close();
            if (closes != null) closes.close();
        }
    }

    /**
     * Waits until every holder in {@code waiting} has exited (its pidfd) or let go of the device, the
     * deadline passes, or the daemon stops. Letting go without exiting wakes no pidfd, so the device's node
     * files are watched for closes (inotify: the last descriptor of an open file on the node was closed):
     * on one, the holders still waited for are looked at again, one by one. A holder that only unmaps, or
     * closes a descriptor another process still shares, wakes nothing: the deadline's rescan finds it.
     */
    private Wakeup.Ended awaitLetGo(List<Pidfd> waiting, Inotify closes, HolderScan.Target target, long deadline) throws OsException {
        var pending = new ArrayList<>(waiting);
        while (!pending.isEmpty()) {
            var fds = new ArrayList<Pollable>(pending);
            if (closes != null) fds.add(closes);
            var any = stop.awaitAny(fds, deadline);
            if (any.ended() != Wakeup.Ended.READY) return any.ended();
            boolean closed = closes != null && any.isReady(pending.size());
            for (int i = pending.size() - 1; i >= 0; i--) if (any.isReady(i)) pending.remove(i);
            if (closed) {
                closes.takeReady(); // which descriptor closed does not matter: who still holds the device does
                pending.removeIf(p -> scan.scan(p.pid(), target).isEmpty());
            }
        }
        return Wakeup.Ended.READY;
    }

    /** An inotify on the device's node files for closes; null when none can be watched (the drain then wakes on exits and deadlines only). */
    private Inotify watchCloses(GpuDevice device) {
        Inotify in;
        try {
            in = Inotify.open();
        } catch (OsException e) {
            log.debug("drain-closes-unwatched", "card", device.card(), "bdf", device.bdf(), e.getMessage() + ", waking on exits and deadlines only");
            return null;
        }
        int watched = 0;
        for (var node : HolderScan.Target.nodes(device, sysfs, dev)) {
            try {
                in.watch(node, Inotify.IN_CLOSE_WRITE | Inotify.IN_CLOSE_NOWRITE);
                watched++;
            } catch (OsException e) {
                log.debug("drain-closes-unwatched", "card", device.card(), "bdf", device.bdf(), "node", node, e.getMessage() + ", ignoring");
            }
        }
        if (watched > 0) return in;
        in.close();
        return null;
    }

    private Optional<Pidfd> pidfd(Map<Integer, Pidfd> pidfds, int pid) throws OsException {
        var p = pidfds.get(pid);
        if (p != null) return Optional.of(p);
        var opened = Pidfd.open(pid);
        opened.ifPresent(o -> pidfds.put(pid, o));
        return opened;
    }

    /** The signal, to the process the pidfd names, once /proc says it still holds the device and is not protected. */
    private void send(GpuDevice device, HolderScan.Target target, Pidfd pidfd, Action.Send s, Tally tally) throws OsException {
        var h = s.holder();
        var again = scan.scan(h.pid(), target);
        if (again.isEmpty()) {
            log.info("drain-not-signalled", "card", device.card(), "bdf", device.bdf(), "pid", h.pid(), "comm", h.comm(),
                    "signal", s.signal(), "no longer holds the device (exited, let go, or its pid was reused)");
            return;
        }
        var why = policyFor(device).protection().why(again.get());
        if (why.isPresent()) tally.staying(h.pid(), DrainRow.Outcome.PROTECTED);
        if (why.isPresent() || !again.get().comm().equals(h.comm())) {
            log.warn("drain-not-signalled", "card", device.card(), "bdf", device.bdf(), "pid", h.pid(), "comm", again.get().comm(),
                    "signal", s.signal(), why.orElse("its comm changed from " + h.comm() + " since the scan") + ", leaving it alone");
            return;
        }
        boolean delivered = pidfd.signal(s.signal().number);
        if (delivered) tally.signalled(h.pid(), s.signal());
        log.info("drain-signal", "card", device.card(), "bdf", device.bdf(), "pid", h.pid(), "comm", h.comm(), "signal", s.signal(),
                "holds", holds(again.get()),
                delivered ? (s.signal() == DrainPolicy.Signal.TERM ? "SIGKILL follows in " + s.lookAgain().toMillis() + " ms if it stays"
                        : "it has " + s.lookAgain().toMillis() + " ms to be gone") : "it had already exited");
    }

    private void staying(GpuDevice device, Action a, Map<Integer, String> told, Tally tally) {
        var h = a.holder();
        tally.staying(h.pid(), switch (a) {
            case Action.Spare sp -> DrainRow.Outcome.PROTECTED;
            case Action.Notify n -> DrainRow.Outcome.NOTIFIED;
            default -> DrainRow.Outcome.REMAINED;
        });
        String why = switch (a) {
            case Action.Spare sp -> sp.why() + ": never signalled";
            case Action.Notify n -> "notify-only: not signalled";
            case Action.GiveUp g -> g.why();
            default -> "";
        };
        if (why.equals(told.put(h.pid(), why))) return;
        log.warn("drain-holder", "card", device.card(), "bdf", device.bdf(), "pid", h.pid(), "comm", h.comm(), "uid",
                h.uid().isPresent() ? h.uid().getAsInt() : null, "unit", h.placement().unit().orElse(null), "holds", holds(h), why);
    }

    /** How a holder that is no longer in the scan ended. */
    private void ended(GpuDevice device, int pid, String comm, Pidfd pidfd, Set<DrainPolicy.Signal> sent, Tally tally) {
        String how;
        DrainRow.Outcome outcome;
        try {
            if (pidfd != null && pidfd.hasExited()) {
                how = sent.contains(DrainPolicy.Signal.KILL) ? "killed (SIGKILL)"
                        : sent.contains(DrainPolicy.Signal.TERM) ? "exited after SIGTERM" : "exited on its own";
                outcome = sent.contains(DrainPolicy.Signal.KILL) ? DrainRow.Outcome.KILLED
                        : sent.isEmpty() && tally.wasMeant(pid) ? DrainRow.Outcome.GONE_BEFORE_SIGNAL : DrainRow.Outcome.EXITED;
            } else if (pidfd != null) {
                how = "let go of the device and still runs";
                outcome = sent.isEmpty() && tally.wasMeant(pid) ? DrainRow.Outcome.GONE_BEFORE_SIGNAL : DrainRow.Outcome.RELEASED;
            } else {
                how = "gone";
                outcome = sent.isEmpty() ? DrainRow.Outcome.GONE_BEFORE_SIGNAL : DrainRow.Outcome.EXITED;
            }
        } catch (OsException e) {
            how = "gone (" + e.getMessage() + ")";
            outcome = sent.isEmpty() ? DrainRow.Outcome.GONE_BEFORE_SIGNAL : DrainRow.Outcome.EXITED;
        }
        tally.gone(pid, outcome, System.nanoTime());
        log.info("drain-holder-gone", "card", device.card(), "bdf", device.bdf(), "pid", pid, "comm", comm, how);
    }

    /**
     * What one drain saw and did, holder by holder, for the journal's rows: each holder as last scanned, the
     * strongest signal it was sent, and its end. Kept beside the loop, not in it: the loop decides, this only
     * records.
     */
    private static final class Tally {
        private static final class Entry {
            Holder last;
            long firstSeen;
            boolean meant; // a signal was decided for it
            Optional<DrainPolicy.Signal> signal = Optional.empty();
            DrainRow.Outcome staying; // how it stays, while it does
            DrainRow.Outcome ended;   // how it went, once gone
            Long exitMillis;
        }

        private final Map<Integer, Entry> entries = new LinkedHashMap<>();

        void seen(Holder h, long atNanos) {
            var e = entries.computeIfAbsent(h.pid(), p -> new Entry());
            if (e.last == null || e.ended != null) {
                // new, or a pid seen gone and found holding again (reused): a holder of its own from here
                e.firstSeen = atNanos;
                e.ended = null;
                e.exitMillis = null;
            }
            e.last = h;
        }

        void meant(int pid) {
            var e = entries.get(pid);
            if (e != null) e.meant = true;
        }

        boolean wasMeant(int pid) {
            var e = entries.get(pid);
            return e != null && e.meant;
        }

        void signalled(int pid, DrainPolicy.Signal signal) {
            var e = entries.get(pid);
            // SIGKILL is the strongest: a later SIGTERM never replaces it
            if (e != null && (e.signal.isEmpty() || signal == DrainPolicy.Signal.KILL)) e.signal = Optional.of(signal);
        }

        void staying(int pid, DrainRow.Outcome how) {
            var e = entries.get(pid);
            if (e != null) e.staying = how;
        }

        void gone(int pid, DrainRow.Outcome how, long atNanos) {
            var e = entries.get(pid);
            if (e == null) return;
            e.ended = how;
            e.exitMillis = Math.max(0, (atNanos - e.firstSeen) / 1_000_000);
        }

        /** One row per holder: how it went, or, still there at the end, how it stayed (remained unless it was spared). */
        List<DrainRow.Holder> rows() {
            var out = new ArrayList<DrainRow.Holder>();
            for (var e : entries.values()) {
                var h = e.last;
                var outcome = e.ended != null ? e.ended : e.staying != null ? e.staying : DrainRow.Outcome.REMAINED;
                out.add(new DrainRow.Holder(h.pid(), h.comm(), h.uid().isPresent() ? Optional.of(h.uid().getAsInt()) : Optional.empty(),
                        h.placement().unit(), h.placement().container(), h.fds().size(), h.mappings().size(), h.clients().size(),
                        e.signal, outcome, e.ended != null ? Optional.of(e.exitMillis) : Optional.empty()));
            }
            return out;
        }
    }

    private Result refuse(GpuDevice device, String detail) {
        log.warn("drain-refused", "card", device.card(), "bdf", device.bdf(), detail);
        return new Result(false, detail);
    }

    private static String list(List<Holder> holders) {
        return String.join(", ", holders.stream().map(h -> h.pid() + " " + h.comm()).toList());
    }

    private static String holds(Holder h) {
        return h.fds().size() + " fd(s), " + h.mappings().size() + " mapping(s)";
    }

    private static long ms(long t0) {
        return (System.nanoTime() - t0) / 1_000_000;
    }
}
