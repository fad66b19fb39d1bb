package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.TaskInfo;
import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.UeventSink;
import io.unwedge.host.os.Errno;
import io.unwedge.host.os.Inotify;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.concurrent.Callable;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.function.Consumer;

/**
 * The virtual host's kernel and drivers: reacts to writes to the tree's attributes as the PCI core,
 * pciehp and the drivers would, and delivers every uevent through a {@link UeventSink} (the real kernel,
 * in a private network namespace). Honours the driver's half of the wedge contract: a wedged device stays
 * wedged, and announces it with exactly the uevent drm_dev_wedged_event() sends, until it is unbound.
 *
 * <h2>What it models</h2>
 * <ul>
 * <li>{@code drivers/<drv>/bind}, {@code unbind}: probe (with its delay and faults) and remove, with the
 *     kernel's uevents in its order. The audio function ({@code .1}) is driven by {@code snd_hda_intel}.
 * <li>{@code <BDF>/reset} (write 1): pci_reset_function() with the first method {@code reset_method}
 *     enabled when the write was made (a real write returns once the reset is done, so a consumer may
 *     restore its choice right after); allowed while bound. It clears a hardware hang; the driver's wedge ends only at unbind.
 *     {@code reset_method} is a file: a write of an unknown or unsupported method is undone and logged
 *     EINVAL, {@code default} restores the supported list, an empty write disables resets (then ENOTTY).
 * <li>{@code <BDF>/remove}: the driver's remove first (the unbind uevents), then {@code remove}; the
 *     directory and its {@code bus/pci/devices} link go. On a switch port, everything below it goes too. {@code bus/pci/rescan}: every removed function
 *     whose slot is powered comes back ({@code add}) and is probed (drivers_autoprobe=1).
 * <li>{@code bus/pci/slots/<N>/power}: 0 unbinds and removes everything below the slot's port, deepest
 *     first, and powers it off; 1 powers on, enumerates (bridges, then functions) and probes. Writing the
 *     state it is in says ENODEV (pciehp), anything but 0 or 1 EINVAL.
 * <li>devcoredumps ({@link Devcoredumps}), xe's survivability mode, and the faults of {@code sim fault}.
 * </ul>
 *
 * <h2>The hardware's health</h2>
 * A wedge whose methods include {@code rebind} (or {@code none}) is the driver's state alone: unbinding
 * ends it (xe FLRs in its remove). A wedge that asks for {@code bus-reset} and not less leaves the hardware
 * {@link Health#HUNG}: every probe fails with EIO until a function reset, a re-enumeration (remove +
 * rescan) or a slot power cycle. One that asks for {@code cold-reset} and not less leaves it
 * {@link Health#DEAD}, as the {@code dead-until-cold-reset} fault does: only a slot power cycle helps.
 *
 * <h2>Ordering</h2>
 * The attributes are FIFOs, one value per write, so two writers racing are two requests, as in sysfs;
 * one inotify thread reads them all in the order they were written ({@link FifoAttribute}). Everything
 * done to one card (both its functions, its slot) runs on the card's one worker in that order: a
 * {@code bind} written after a {@code reset} is probed after the reset is done. Cards are independent. Requests from {@code unwedge sim wedge} and friends arrive as
 * files renamed into {@code sim/requests}. Errors a real write would return (-EXXX) go to
 * {@code sim/errors.log}, one line each, since a FIFO cannot fail a write.
 */
public final class DriverModel implements AutoCloseable {

    /**
     * @param probeDelay        how long the hardware takes: each GPU probe, and each function reset
     * @param devcoredumpExpiry how long a devcoredump lives unread (the kernel's default: 5 minutes)
     */
    public record Settings(Duration probeDelay, Duration devcoredumpExpiry) {
        public static final Duration DEFAULT_DEVCOREDUMP_EXPIRY = Duration.ofMinutes(5);

        public Settings {
            if (probeDelay.isNegative()) throw new IllegalArgumentException("the probe delay cannot be negative: " + probeDelay);
            if (devcoredumpExpiry.isNegative() || devcoredumpExpiry.isZero()) {
                throw new IllegalArgumentException("the devcoredump expiry must be positive: " + devcoredumpExpiry);
            }
        }

        public static Settings of(Duration probeDelay) {
            return new Settings(probeDelay, DEFAULT_DEVCOREDUMP_EXPIRY);
        }
    }

    /** The state of a function's hardware, beside the driver's wedged state. */
    public enum Health {
        HEALTHY,
        /** hung: probes fail with EIO until a function reset, a remove + rescan, or a slot power cycle */
        HUNG,
        /** dead: probes fail with EIO until a slot power cycle; resets and rebinds do not help */
        DEAD
    }

    /** The attributes {@link #failWrite} can make fail. */
    public static final Set<String> FAILABLE = Set.of("bind", "unbind", "reset", "reset_method", "remove", "power");

    /** The reset methods the kernel knows (pci_reset_fn_methods), in its order. */
    static final List<String> KERNEL_RESET_METHODS = List.of("device_specific", "acpi", "flr", "af_flr", "pm", "bus", "cxl_bus");

    /** One physical card: its functions and its slot share one worker, so their operations are ordered. */
    static final class CardState {
        final SimGpu gpu;
        final ExecutorService worker = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("sim-card-", 0).factory());
        final List<FunctionState> functions = new ArrayList<>();
        final Map<PciAddress, FifoAttribute> bridgeRemoves = new HashMap<>(); // worker only, after start
        volatile boolean powered = true;

        CardState(SimGpu gpu) {
            this.gpu = gpu;
        }

        FunctionState gpuFunction() {
            return functions.getFirst();
        }
    }

    /** One PCI function: the driver's state, the hardware's, and the fault injection knobs. */
    static final class FunctionState {
        final CardState card;
        final PciFunction fn;
        volatile String wedged; // the WEDGED= value sent, until unbind
        volatile List<RecoveryMethod> lastWedge;
        volatile Health health = Health.HEALTHY;
        volatile int probeFailures;
        volatile Duration probeDelay;
        volatile Duration rewedgeAfter;
        volatile boolean resetRemoved; // the no-reset fault
        volatile boolean needsFlash; // xe survivability: the firmware must be flashed
        volatile List<String> resetMethods = List.of();
        final Map<String, Integer> failWrites = new ConcurrentHashMap<>();
        long bindGeneration; // worker only: which driver instance a re-wedge timer belongs to
        // worker only: this function's attributes, read while it is present
        FifoAttribute remove;
        FifoAttribute reset;
        int resetMethodWatch = -1;

        FunctionState(CardState card, PciFunction fn, Duration probeDelay) {
            this.card = card;
            this.fn = fn;
            this.probeDelay = probeDelay;
        }

        PciAddress bdf() {
            return fn.bdf();
        }

        String driver() {
            return fn.driver().orElseThrow();
        }

        boolean hasReset() {
            return fn.isGpu() && card.gpu.reset() && !resetRemoved;
        }
    }

    private final VirtualHost host;
    private final UeventSink sink;
    private final Consumer<String> log;
    private final Settings settings;
    private final Map<PciAddress, FunctionState> functions = new LinkedHashMap<>();
    private final List<CardState> cards = new ArrayList<>();
    private final Map<FifoAttribute, Integer> attributes = new ConcurrentHashMap<>(); // → its inotify watch
    private final Object emitLock = new Object();
    private final Object watchLock = new Object();
    private final Map<Integer, Consumer<Inotify.Event>> watches = new HashMap<>(); // guarded by watchLock
    private final ScheduledExecutorService timers = Executors.newSingleThreadScheduledExecutor(Thread.ofVirtual().name("sim-timer").factory());
    private final Devcoredumps devcoredumps;
    private Thread watcher;
    private Inotify inotify;
    private volatile boolean closed;

    public DriverModel(VirtualHost host, UeventSink sink, Duration probeDelay, Consumer<String> log) {
        this(host, sink, Settings.of(probeDelay), log);
    }

    public DriverModel(VirtualHost host, UeventSink sink, Settings settings, Consumer<String> log) {
        this.host = host;
        this.sink = sink;
        this.log = log;
        this.settings = settings;
        for (var g : host.gpus()) {
            var card = new CardState(g);
            for (var fn : VirtualHost.functions(g)) {
                var s = new FunctionState(card, fn, fn.isGpu() ? settings.probeDelay() : Duration.ZERO);
                if (fn.isGpu()) s.resetMethods = VirtualHost.supportedResetMethods(g);
                card.functions.add(s);
                functions.put(fn.bdf(), s);
            }
            cards.add(card);
        }
        devcoredumps = new Devcoredumps(host, new Devcoredumps.Kernel() {
            @Override
            public void emit(List<Uevent> events) throws IOException {
                DriverModel.this.emit(events);
            }

            @Override
            public int watch(Path path, int mask, Consumer<Inotify.Event> handler) throws IOException {
                return DriverModel.this.watch(path, mask, handler);
            }

            @Override
            public void unwatch(int wd) {
                DriverModel.this.unwatch(wd);
            }

            @Override
            public void log(String line) {
                log.accept(line);
            }
        }, timers, settings.devcoredumpExpiry());
    }

    /** Starts reading the tree's FIFOs, watching {@code reset_method}s, devcoredumps and requests. */
    public void start() throws IOException {
        var off = poweredOff();
        for (var card : cards) card.powered = card.gpu.slot().isEmpty() || !off.contains(card.gpu.slot().get());
        inotify = Inotify.open();
        watcher = Thread.ofPlatform().daemon().name("sim-inotify").start(this::readInotify);
        for (var driver : functions.values().stream().map(FunctionState::driver).distinct().toList()) {
            Path dir = host.sys().resolve("bus/pci/drivers").resolve(driver);
            for (var op : List.of("bind", "unbind")) {
                attribute(dir.resolve(op), value -> driverWrite(driver, op, value));
            }
        }
        attribute(host.sys().resolve("bus/pci/rescan"), this::rescanWrite);
        for (var card : cards) {
            if (card.gpu.slot().isPresent()) {
                String slot = card.gpu.slot().get();
                attribute(host.slotsDir().resolve(slot).resolve("power"), value -> powerWrite(card, value));
            }
            for (var b : card.gpu.cardBridges()) presentBridge(card, b);
            for (var s : card.functions) {
                if (!host.isPresent(s.bdf())) continue;
                if (s.hasReset()) {
                    // a choice written in an earlier run stands, as long as it is one the function supports
                    if (readResetMethodsFile(s) instanceof ResetMethods.Valid(var list)) s.resetMethods = list;
                    else host.addResetAttributes(card.gpu, renderResetMethods(s.resetMethods));
                }
                if (s.fn.isGpu() && card.gpu.model() == GpuModel.XE && host.survivabilityMode(card.gpu).isPresent()) s.needsFlash = true;
                presentFunction(s);
            }
        }
        devcoredumps.adopt();
        var requests = new Requests(this, host, this::error);
        watch(host.requests(), Inotify.IN_MOVED_TO | Inotify.IN_CLOSE_WRITE, e -> {
            if (e.name().endsWith(".req")) requests.handle(host.requests().resolve(e.name()));
        });
        requests.handleWaiting();
    }

    /** Opens a FIFO attribute and reads it from now on, in write order with every other (see {@link FifoAttribute}). */
    private FifoAttribute attribute(Path fifo, Consumer<String> onValue) throws IOException {
        var a = FifoAttribute.open(fifo, onValue, this::error);
        try {
            attributes.put(a, watch(fifo, Inotify.IN_MODIFY, e -> a.drain()));
        } catch (IOException | RuntimeException e) {
            a.close();
            throw e;
        }
        a.drain(); // written between the open (which let a blocked writer through) and the watch
        return a;
    }

    private void closeAttribute(FifoAttribute a) {
        if (a == null) return;
        var wd = attributes.remove(a);
        if (wd != null) unwatch(wd);
        a.close();
    }

    /** A present function's own attributes are read: remove, and reset and reset_method when it has them. */
    private void presentFunction(FunctionState s) throws IOException {
        Path dir = host.functionDir(s.card.gpu, s.bdf());
        s.remove = attribute(dir.resolve("remove"), value -> removeWrite(s, value));
        if (s.hasReset()) {
            s.reset = attribute(dir.resolve("reset"), value -> resetWrite(s, value));
            s.resetMethodWatch = watchResetMethod(s, dir);
        }
    }

    /**
     * The function's directory, not the file: the sim corrects {@code reset_method} by a rename
     * ({@link #replace}), which makes no IN_CLOSE_WRITE, so every close seen is a writer's. Watching the
     * file, the sim's own write could be judged late, after the next writer had truncated it.
     */
    private int watchResetMethod(FunctionState s, Path dir) throws IOException {
        return watch(dir, Inotify.IN_CLOSE_WRITE | Inotify.IN_ONLYDIR, e -> {
            if (e.name().equals("reset_method")) resetMethodWritten(s);
        });
    }

    /** A bridge of the card's switch: its {@code remove} is read while it is there. */
    private void presentBridge(CardState card, PciAddress bridge) throws IOException {
        if (!host.isPresent(bridge) || card.bridgeRemoves.containsKey(bridge)) return;
        card.bridgeRemoves.put(bridge, attribute(host.functionDir(card.gpu, bridge).resolve("remove"),
                value -> bridgeRemoveWrite(card, bridge, value)));
    }

    /** The function is gone from the tree: nothing reads its attributes any more. */
    private void absentFunction(FunctionState s) {
        closeAttribute(s.remove);
        s.remove = null;
        dropReset(s);
    }

    private void dropReset(FunctionState s) {
        closeAttribute(s.reset);
        s.reset = null;
        if (s.resetMethodWatch >= 0) unwatch(s.resetMethodWatch);
        s.resetMethodWatch = -1;
    }

    // ---- the driver core: bind and unbind -------------------------------------------------------

    private void driverWrite(String driver, String op, String value) {
        var s = PciAddress.parse(value).map(functions::get).filter(f -> f.driver().equals(driver)).orElse(null);
        if (s == null || !host.isPresent(s.bdf())) {
            error(op + " " + value + ": ENODEV (no such device for " + driver + ")");
            return;
        }
        if (injected(s, op)) return;
        onWorker(s.card, op + " " + s.bdf(), () -> {
            if (op.equals("unbind")) unbind(s);
            else bind(s, "bind");
        });
    }

    private void unbind(FunctionState s) throws IOException {
        if (!host.isPresent(s.bdf())) {
            error("unbind " + s.bdf() + ": ENODEV (removed)");
            return;
        }
        if (host.driverOf(s.bdf()).isEmpty()) {
            error("unbind " + s.bdf() + ": ENODEV (not bound to " + s.driver() + ")");
            return;
        }
        driverRemove(s);
    }

    /** The driver's remove(): for a GPU the minors go and the wedge ends (xe also FLRs here). */
    private void driverRemove(FunctionState s) throws IOException {
        s.bindGeneration++; // a pending re-wedge belongs to the instance going away
        log.accept("unbind " + s.bdf() + " from " + s.driver());
        if (s.fn.isGpu()) {
            s.wedged = null;
            emit(host.detach(s.card.gpu));
        } else {
            emit(List.of(host.unbind(s.fn)));
        }
    }

    /** A probe: by a write to {@code bind} ({@code op} "bind"), or the automatic one after enumeration. */
    private void bind(FunctionState s, String op) throws IOException {
        if (!host.isPresent(s.bdf())) {
            error(op + " " + s.bdf() + ": ENODEV (removed)");
            return;
        }
        if (host.driverOf(s.bdf()).isPresent()) {
            error(op + " " + s.bdf() + ": EBUSY (already bound)");
            return;
        }
        sleep(s.probeDelay);
        var g = s.card.gpu;
        String failed = switch (s.health) {
            case DEAD -> "the device is dead until a slot power cycle";
            case HUNG -> "the device is hung: it needs a reset";
            case HEALTHY -> null;
        };
        if (failed == null && s.probeFailures > 0) {
            s.probeFailures--;
            failed = "injected fault, " + s.probeFailures + " more";
        }
        if (failed != null) {
            error(op + " " + s.bdf() + ": probe failed: EIO (" + failed + ")");
            return;
        }
        s.bindGeneration++;
        if (!s.fn.isGpu()) {
            log.accept("bind " + s.bdf() + " to " + s.driver());
            emit(List.of(host.bind(s.fn)));
            return;
        }
        if (s.needsFlash) {
            // xe's boot survivability mode: bound, but no DRM device until the firmware is flashed
            host.writeSurvivabilityMode(g, "Boot");
            log.accept("bind " + s.bdf() + " to " + s.driver() + ": survivability mode (Boot), no card: the firmware needs flashing");
            emit(List.of(host.bind(s.fn)));
            return;
        }
        synchronized (this) { // minor numbers are a host-wide allocation
            int card = lowestFree(host.cardsInUse(), host.firstCard());
            int render = lowestFree(host.rendersInUse(), VirtualHost.RENDER_BASE);
            log.accept("bind " + s.bdf() + " to " + s.driver() + ": card" + card + " renderD" + render);
            emit(host.attach(g, card, render));
        }
        var after = s.rewedgeAfter;
        if (after != null) {
            s.rewedgeAfter = null;
            long generation = s.bindGeneration;
            log.accept("re-wedge of " + s.bdf() + " in " + after.toMillis() + " ms (injected fault)");
            timers.schedule(() -> s.card.worker.execute(() -> rewedge(s, generation)), after.toMillis(), TimeUnit.MILLISECONDS);
        }
    }

    private void rewedge(FunctionState s, long generation) {
        try {
            if (closed || s.bindGeneration != generation || s.wedged != null) return;
            String card = host.cardOf(s.card.gpu);
            if (card == null) return;
            var methods = s.lastWedge;
            if (methods == null) {
                methods = List.of(RecoveryMethod.REBIND, RecoveryMethod.BUS_RESET);
                log.accept("re-wedge of " + s.bdf() + ": no earlier wedge to repeat, using xe's rebind,bus-reset");
            }
            declareWedged(s, card, methods, Optional.empty());
        } catch (IOException | RuntimeException e) {
            error("re-wedge " + s.bdf() + ": " + e);
        }
    }

    private static int lowestFree(List<Integer> used, int from) {
        int n = from;
        while (used.contains(n)) n++;
        return n;
    }

    // ---- the PCI core: reset, remove, rescan; pciehp: slot power ----------------------------------

    private void resetWrite(FunctionState s, String value) {
        if (injected(s, "reset")) return;
        if (!unsigned(value).equals(Optional.of(1L))) { // reset_store(): kstrtoul, then val != 1 is EINVAL
            error("reset " + s.bdf() + ": EINVAL (write 1, not '" + value + "')");
            return;
        }
        // the methods in force when the write was made: every reset_method write before it has been judged
        // (same inotify thread), and one after it (a consumer restoring its choice) must not count
        var methods = s.resetMethods;
        onWorker(s.card, "reset " + s.bdf(), () -> reset(s, methods));
    }

    private void reset(FunctionState s, List<String> methods) throws IOException {
        if (!host.isPresent(s.bdf())) return; // removed before its turn: the write's file is gone
        if (methods.isEmpty()) {
            error("reset " + s.bdf() + ": ENOTTY (every reset method disabled in reset_method)");
            return;
        }
        sleep(s.probeDelay);
        String method = methods.getFirst();
        if (s.health == Health.DEAD) {
            log.accept("reset " + s.bdf() + " (" + method + "): done, but the device is still dead (it needs a slot power cycle)");
            return;
        }
        s.health = Health.HEALTHY;
        log.accept("reset " + s.bdf() + " (" + method + ")" + (s.wedged != null ? ": the hardware is reset; the driver stays wedged until unbound" : ""));
    }

    private ResetMethods readResetMethodsFile(FunctionState s) {
        try {
            return parseResetMethods(Files.readString(host.functionDir(s.card.gpu).resolve("reset_method")),
                    VirtualHost.supportedResetMethods(s.card.gpu));
        } catch (IOException e) {
            return new ResetMethods.Invalid("no reset_method: " + e.getMessage());
        }
    }

    sealed interface ResetMethods {
        record Valid(List<String> methods) implements ResetMethods {}

        record Invalid(String reason) implements ResetMethods {}
    }

    /** reset_method_store(): empty disables, {@code default} restores, otherwise every name must be supported. */
    static ResetMethods parseResetMethods(String written, List<String> supported) {
        String v = written.strip();
        if (v.isEmpty()) return new ResetMethods.Valid(List.of());
        if (v.equals("default")) return new ResetMethods.Valid(supported);
        var out = new ArrayList<String>();
        for (String name : v.split("\\s+")) {
            if (!KERNEL_RESET_METHODS.contains(name)) return new ResetMethods.Invalid("unknown reset method '" + name + "'");
            if (!supported.contains(name)) return new ResetMethods.Invalid("unsupported reset method '" + name + "'");
            out.add(name);
        }
        return new ResetMethods.Valid(List.copyOf(out));
    }

    static String renderResetMethods(List<String> methods) {
        return methods.isEmpty() ? "" : String.join(" ", methods) + "\n";
    }

    /**
     * A write to {@code reset_method} has been closed: judge it; an invalid one is undone. What is judged is
     * the file as it is when the event is handled: writes racing back to back can be judged by the last
     * one's content (a regular file cannot return per write() as sysfs does).
     */
    private void resetMethodWritten(FunctionState s) {
        Path file = host.functionDir(s.card.gpu).resolve("reset_method");
        String content;
        try {
            content = Files.readString(file);
        } catch (IOException e) {
            return; // the function went
        }
        // zero bytes are no write: sysfs never calls a store for one (disabling every method takes "\n"), and an
        // empty file is what a writer leaves between its truncate and its write
        if (content.isEmpty()) return;
        String current = renderResetMethods(s.resetMethods);
        if (content.equals(current) && s.failWrites.get("reset_method") == null) return; // nothing changed
        Integer errno = s.failWrites.remove("reset_method");
        var parsed = errno != null ? new ResetMethods.Invalid("injected fault")
                : parseResetMethods(content, VirtualHost.supportedResetMethods(s.card.gpu));
        try {
            switch (parsed) {
                case ResetMethods.Invalid(var reason) -> {
                    replace(file, current);
                    error("reset_method " + s.bdf() + ": " + (errno != null ? Errno.name(errno) : "EINVAL") + " (" + reason + ")");
                }
                case ResetMethods.Valid(var list) -> {
                    s.resetMethods = list;
                    String shown = renderResetMethods(list);
                    if (!shown.equals(content)) replace(file, shown);
                    log.accept("reset_method " + s.bdf() + ": " + (list.isEmpty() ? "(every method disabled)" : String.join(" ", list)));
                }
            }
        } catch (IOException e) {
            // the function went while we answered
        }
    }

    /** Writes {@code file} whole by a rename from {@code sim/}: no reader sees half of it, no IN_CLOSE_WRITE names it. */
    private void replace(Path file, String content) throws IOException {
        if (!Files.exists(file)) return; // the function went
        Path tmp = Files.createTempFile(host.simDir(), file.getFileName().toString(), ".tmp");
        try {
            Files.writeString(tmp, content);
            Files.setPosixFilePermissions(tmp, PosixFilePermissions.fromString("rw-r--r--")); // as sysfs shows it
            Files.move(tmp, file, StandardCopyOption.ATOMIC_MOVE, StandardCopyOption.REPLACE_EXISTING);
        } finally {
            Files.deleteIfExists(tmp);
        }
    }

    private void removeWrite(FunctionState s, String value) {
        if (injected(s, "remove")) return;
        var n = unsigned(value);
        if (n.isEmpty()) {
            error("remove " + s.bdf() + ": EINVAL (not a number: '" + value + "')");
            return;
        }
        if (n.get() == 0) return; // remove_store(): 0 does nothing
        onWorker(s.card, "remove " + s.bdf(), () -> {
            if (!host.isPresent(s.bdf())) return;
            stopAndRemove(List.of(s), List.of());
            log.accept("remove " + s.bdf());
        });
    }

    /** {@code remove} of a switch port: the port, the ports below it and the card's functions go. */
    private void bridgeRemoveWrite(CardState card, PciAddress bridge, String value) {
        var n = unsigned(value);
        if (n.isEmpty()) {
            error("remove " + bridge + ": EINVAL (not a number: '" + value + "')");
            return;
        }
        if (n.get() == 0) return;
        onWorker(card, "remove " + bridge, () -> {
            if (!host.isPresent(bridge)) return;
            var below = card.gpu.cardBridges();
            stopAndRemove(card.functions, below.subList(below.indexOf(bridge), below.size()));
            log.accept("remove " + bridge + " and everything below it");
        });
    }

    /**
     * pci_stop_and_remove_bus_device() for {@code fns} (and the bridges above them, deepest last): every
     * driver's remove first (functions in reverse order), then the {@code remove} uevents, deepest first.
     */
    private void stopAndRemove(List<FunctionState> fns, List<PciAddress> bridges) throws IOException {
        for (var s : fns.reversed()) {
            if (host.isPresent(s.bdf()) && host.driverOf(s.bdf()).isPresent()) driverRemove(s);
        }
        var events = new ArrayList<Uevent>();
        for (var s : fns) {
            absentFunction(s);
            host.removeFunction(s.fn).ifPresent(events::add);
        }
        var card = fns.getFirst().card;
        for (var b : bridges.reversed()) {
            closeAttribute(card.bridgeRemoves.remove(b));
            host.removeFunction(PciFunction.bridge(card.gpu, b)).ifPresent(events::add);
        }
        emit(events);
    }

    private void rescanWrite(String value) {
        var n = unsigned(value);
        if (n.isEmpty()) {
            error("rescan: EINVAL (not a number: '" + value + "')");
            return;
        }
        if (n.get() == 0) return;
        for (var card : cards) {
            onWorker(card, "rescan", () -> {
                if (card.powered) enumerate(card, "rescan");
            });
        }
    }

    /**
     * pci_scan_slot() and pci_bus_add_devices(): functions not there appear ({@code add}, bridges first),
     * then each new one is probed. Functions already there are left alone, bound or not.
     */
    private void enumerate(CardState card, String op) throws IOException {
        var g = card.gpu;
        var events = new ArrayList<Uevent>();
        var bridges = new ArrayList<PciAddress>();
        for (var b : g.bridges()) host.addFunction(PciFunction.bridge(g, b)).ifPresent(e -> {
            events.add(e);
            bridges.add(b);
        });
        var added = new ArrayList<FunctionState>();
        for (var s : card.functions) {
            var add = host.addFunction(s.fn);
            if (add.isEmpty()) continue;
            events.add(add.get());
            added.add(s);
            if (s.health == Health.HUNG) s.health = Health.HEALTHY; // re-enumeration re-initialises the function
            if (s.hasReset()) {
                s.resetMethods = VirtualHost.supportedResetMethods(g); // a new pci_dev: the default list again
                host.addResetAttributes(g, renderResetMethods(s.resetMethods));
            }
        }
        emit(events);
        for (var b : bridges) presentBridge(card, b);
        for (var s : added) {
            presentFunction(s);
            log.accept(op + ": " + s.bdf() + " found");
        }
        for (var s : added) bind(s, op);
    }

    private void powerWrite(CardState card, String value) {
        String slot = card.gpu.slot().orElseThrow();
        for (var s : card.functions) {
            if (injected(s, "power", "power slot " + slot + " (" + s.bdf() + ")")) return;
        }
        var n = unsigned(value);
        if (n.isEmpty() || n.get() > 1) {
            error("power slot " + slot + ": EINVAL (write 0 or 1, not '" + value + "')");
            return;
        }
        boolean on = n.get() == 1;
        onWorker(card, "power slot " + slot, () -> {
            if (card.powered == on) {
                error("power slot " + slot + ": ENODEV (already " + (on ? "on" : "off") + ")");
                return;
            }
            if (on) {
                card.powered = true;
                savePower();
                log.accept("power slot " + slot + ": on");
                enumerate(card, "power");
            } else {
                // the state first: whoever reads it after the last uevent finds it final
                card.powered = false;
                for (var s : card.functions) s.health = Health.HEALTHY; // the power cycle clears any hang
                savePower();
                stopAndRemove(card.functions, card.gpu.bridgesInSlot());
                log.accept("power slot " + slot + ": off");
            }
        });
    }

    /** Slots powered off, kept across runs in {@code sim/powered-off}: the tree cannot say it (power is a FIFO). */
    private Set<String> poweredOff() throws IOException {
        Path file = host.simDir().resolve("powered-off");
        if (!Files.exists(file)) return Set.of();
        var out = new TreeSet<String>();
        for (var line : Files.readAllLines(file)) if (!line.isBlank()) out.add(line.strip());
        return out;
    }

    private synchronized void savePower() throws IOException {
        var b = new StringBuilder();
        for (var c : cards) if (!c.powered) b.append(c.gpu.slot().orElseThrow()).append('\n');
        Path tmp = host.simDir().resolve("powered-off.tmp");
        Files.writeString(tmp, b);
        Files.move(tmp, host.simDir().resolve("powered-off"), StandardCopyOption.ATOMIC_MOVE);
    }

    private static Optional<Long> unsigned(String value) {
        try {
            long n = value.startsWith("0x") ? Long.parseLong(value.substring(2), 16) : Long.parseLong(value);
            return n < 0 ? Optional.empty() : Optional.of(n);
        } catch (NumberFormatException e) {
            return Optional.empty();
        }
    }

    // ---- the driver's side of the wedge contract -----------------------------------------------

    /**
     * Declares the GPU that has {@code card} wedged and sends the event drm_dev_wedged_event() sends.
     * The value is built as the kernel builds it: tokens in bit order, cut at the 32-byte buffer.
     */
    public String wedge(String card, List<RecoveryMethod> methods, Optional<TaskInfo> task) throws IOException {
        var s = byCard(card);
        return call(s.card, () -> {
            requireCard(s, card);
            return declareWedged(s, card, methods, task);
        });
    }

    /** As {@link #wedge}, with a devcoredump of {@code bytes} taken first, as xe dumps before it wedges. */
    public String wedge(String card, List<RecoveryMethod> methods, Optional<TaskInfo> task, int devcoredumpBytes) throws IOException {
        var s = byCard(card);
        return call(s.card, () -> {
            requireCard(s, card);
            if (s.wedged != null) throw alreadyWedged(card, s);
            var dump = devcoredumps.create(s.card.gpu, s.bdf(), card, devcoredumpBytes);
            return declareWedged(s, card, methods, task) + " " + dump.orElse("(devcoredump discarded: an unread one exists)");
        });
    }

    /**
     * Sends the wedged event of a card that is wedged already once more, as a driver that reports every reset
     * it fails does (amdgpu may; xe sends one per wedge): the same WEDGED value, from the same driver instance.
     */
    public String repeatWedge(String card) throws IOException {
        var s = byCard(card);
        return call(s.card, () -> {
            requireCard(s, card);
            if (s.wedged == null) throw new SimException(card + " is not wedged: nothing to repeat");
            emit(List.of(wedgedUevent(s, card, s.wedged, Optional.empty())));
            log.accept("wedged again (repeated) " + card + " " + s.bdf() + " WEDGED=" + s.wedged);
            return s.wedged;
        });
    }

    private Uevent wedgedUevent(FunctionState s, String card, String value, Optional<TaskInfo> task) {
        int minor = Integer.parseInt(card.substring(4));
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("WEDGED", value);
        task.ifPresent(t -> {
            f.put("PID", Integer.toString(t.pid()));
            f.put("TASK", t.comm());
        });
        f.put("MAJOR", Integer.toString(VirtualHost.DRM_MAJOR));
        f.put("MINOR", Integer.toString(minor));
        f.put("DEVNAME", "dri/" + card);
        f.put("DEVTYPE", "drm_minor");
        return Uevent.of("change", s.card.gpu.devpath() + "/drm/" + card, f);
    }

    private String declareWedged(FunctionState s, String card, List<RecoveryMethod> methods, Optional<TaskInfo> task) throws IOException {
        if (s.wedged != null) throw alreadyWedged(card, s);
        var sorted = methods.stream().distinct().sorted().toList();
        String value = kernelValue(sorted);
        s.wedged = value;
        s.lastWedge = sorted;
        // what the hardware is left needing, by the least method the driver asks for (see the class comment)
        if (!sorted.contains(RecoveryMethod.REBIND) && !sorted.contains(RecoveryMethod.NONE)) {
            if (sorted.contains(RecoveryMethod.BUS_RESET)) {
                if (s.health == Health.HEALTHY) s.health = Health.HUNG;
            } else if (sorted.contains(RecoveryMethod.COLD_RESET)) {
                s.health = Health.DEAD;
            }
        }
        emit(List.of(wedgedUevent(s, card, value, task)));
        log.accept("wedged " + card + " " + s.bdf() + " WEDGED=" + value + task.map(t -> " PID=" + t.pid() + " TASK=" + t.comm()).orElse(""));
        return value;
    }

    private static SimException alreadyWedged(String card, FunctionState s) {
        return new SimException(card + " is already wedged (WEDGED=" + s.wedged + "); it stays so until rebound");
    }

    /**
     * As drm_dev_wedged_event() writes it: "token," per method into char[32] after "WEDGED=", each
     * scnprintf capped at 31 characters, then the last character written (normally the comma) cut.
     */
    static String kernelValue(List<RecoveryMethod> methods) {
        if (methods.isEmpty() || methods.contains(RecoveryMethod.UNKNOWN)) return "unknown";
        var b = new StringBuilder("WEDGED=");
        for (var m : methods) {
            b.append(m.token()).append(',');
            if (b.length() >= 31) {
                b.setLength(31);
                break;
            }
        }
        b.setLength(b.length() - 1);
        return b.substring("WEDGED=".length());
    }

    /** A display hotplug: a drm change without WEDGED, which a consumer must ignore. */
    public void hotplug(String card) throws IOException {
        var s = byCard(card);
        var f = new LinkedHashMap<String, String>();
        f.put("SUBSYSTEM", "drm");
        f.put("HOTPLUG", "1");
        f.put("MAJOR", Integer.toString(VirtualHost.DRM_MAJOR));
        f.put("MINOR", card.substring(4));
        f.put("DEVNAME", "dri/" + card);
        f.put("DEVTYPE", "drm_minor");
        emit(List.of(Uevent.of("change", s.card.gpu.devpath() + "/drm/" + card, f)));
        log.accept("hotplug " + card);
    }

    /**
     * A devcoredump of the GPU that has {@code card}, {@code bytes} long. Returns its name ({@code devcd3}),
     * or empty when it was discarded because the GPU has an unread one.
     */
    public Optional<String> devcoredump(String card, int bytes) throws IOException {
        var s = byCard(card);
        return call(s.card, () -> {
            requireCard(s, card);
            return devcoredumps.create(s.card.gpu, s.bdf(), card, bytes);
        });
    }

    /** The devcoredump the function has now ({@code devcd3}), if any. */
    public Optional<String> devcoredumpOf(PciAddress bdf) throws SimException {
        return devcoredumps.of(state(bdf).bdf());
    }

    /**
     * xe's runtime survivability mode: {@code survivability_mode} appears ("Survivability mode type:
     * Runtime") and the card is wedged with {@code vendor-specific}. Until {@link #flash}, every probe
     * comes up in boot survivability mode: bound, without a card.
     */
    public String survivability(String card) throws IOException {
        var s = byCard(card);
        if (s.card.gpu.model() != GpuModel.XE) {
            throw new SimException("survivability mode is xe's; " + card + " is driven by " + s.card.gpu.model().driver);
        }
        return call(s.card, () -> {
            requireCard(s, card);
            if (s.wedged != null) throw alreadyWedged(card, s);
            s.needsFlash = true;
            host.writeSurvivabilityMode(s.card.gpu, "Runtime");
            return declareWedged(s, card, List.of(RecoveryMethod.VENDOR_SPECIFIC), Optional.empty());
        });
    }

    /** The firmware has been flashed: {@code survivability_mode} goes; the next probe brings the card back. */
    public String flash(PciAddress bdf) throws IOException {
        var s = state(bdf);
        if (!s.fn.isGpu()) throw new SimException(bdf + " is an audio function; flash the GPU, " + s.card.gpu.bdf());
        return call(s.card, () -> {
            if (!s.needsFlash) throw new SimException(bdf + " is not in survivability mode: nothing to flash");
            s.needsFlash = false;
            host.deleteSurvivabilityMode(s.card.gpu);
            boolean boundWithoutCard = host.driverOf(bdf).isPresent() && host.cardOf(s.card.gpu) == null;
            log.accept("flashed " + bdf + (boundWithoutCard ? "; still in boot survivability mode until rebound" : ""));
            return "flashed " + bdf + (boundWithoutCard ? "; rebind it to leave boot survivability mode" : "");
        });
    }

    // ---- faults ----------------------------------------------------------------------------------

    /** The next {@code n} probes of the function fail with EIO, as a driver whose firmware will not load. */
    public void failProbes(PciAddress bdf, int n) throws SimException {
        if (n < 0) throw new SimException("probe failures cannot be negative: " + n);
        state(bdf).probeFailures = n;
    }

    public void probeDelay(PciAddress bdf, Duration delay) throws SimException {
        if (delay.isNegative()) throw new SimException("the probe delay cannot be negative: " + delay);
        state(bdf).probeDelay = delay;
    }

    /**
     * After the next successful probe, the new driver instance wedges again {@code after} it, with the
     * methods of the last wedge (xe's rebind,bus-reset if there was none). A rebind before then cancels it.
     */
    public void rewedgeAfter(PciAddress bdf, Duration after) throws SimException {
        var s = gpuState(bdf, "re-wedge");
        if (after.isNegative()) throw new SimException("the re-wedge delay cannot be negative: " + after);
        s.rewedgeAfter = after;
    }

    /** Every probe fails until a slot power cycle; resets and rebinds do not help. */
    public void deadUntilColdReset(PciAddress bdf) throws SimException {
        state(bdf).health = Health.DEAD;
    }

    /**
     * The next write to {@code attribute} of this function ({@code power}: of its slot) has no effect and
     * errors.log names {@code errno}, e.g. {@code failWrite(bdf, "reset", "ENOTTY")}.
     */
    public void failWrite(PciAddress bdf, String attribute, String errno) throws SimException {
        var s = state(bdf);
        if (!FAILABLE.contains(attribute)) throw new SimException("cannot fail writes to '" + attribute + "'; one of " + new TreeSet<>(FAILABLE));
        int number = errnoNamed(errno).orElseThrow(() -> new SimException("not an errno name: '" + errno + "' (e.g. EBUSY, ENOTTY, ENODEV)"));
        if ((attribute.equals("reset") || attribute.equals("reset_method")) && !s.hasReset()) throw new SimException(bdf + " has no " + attribute);
        if (attribute.equals("power") && s.card.gpu.slot().isEmpty()) throw new SimException(bdf + " is in no slot: it has no power to fail");
        s.failWrites.put(attribute, number);
    }

    /** The GPU function loses {@code reset} and {@code reset_method}: a consumer must remove and rescan instead. */
    public void noReset(PciAddress bdf) throws IOException {
        var s = gpuState(bdf, "no-reset");
        call(s.card, () -> {
            s.resetRemoved = true;
            dropReset(s);
            if (host.isPresent(bdf)) host.removeResetAttributes(s.card.gpu);
            return null;
        });
    }

    /** Every fault off: probe failures, re-wedge, failing writes, no-reset; the hardware healthy again. */
    public void clearFaults(PciAddress bdf) throws IOException {
        var s = state(bdf);
        call(s.card, () -> {
            s.probeFailures = 0;
            s.rewedgeAfter = null;
            s.failWrites.clear();
            s.health = Health.HEALTHY;
            if (s.resetRemoved) {
                s.resetRemoved = false;
                if (s.hasReset() && host.isPresent(bdf)) {
                    s.resetMethods = VirtualHost.supportedResetMethods(s.card.gpu);
                    host.addResetAttributes(s.card.gpu, renderResetMethods(s.resetMethods));
                    Path dir = host.functionDir(s.card.gpu);
                    s.reset = attribute(dir.resolve("reset"), value -> resetWrite(s, value));
                    s.resetMethodWatch = watchResetMethod(s, dir);
                }
            }
            return null;
        });
    }

    private static Optional<Integer> errnoNamed(String name) {
        for (int n = 1; n < 200; n++) if (Errno.name(n).equals(name)) return Optional.of(n);
        return Optional.empty();
    }

    /** Consumes an injected failure of {@code attribute}; says so in errors.log. */
    private boolean injected(FunctionState s, String attribute) {
        return injected(s, attribute, attribute + " " + s.bdf());
    }

    private boolean injected(FunctionState s, String attribute, String what) {
        Integer errno = s.failWrites.remove(attribute);
        if (errno == null) return false;
        error(what + ": " + Errno.name(errno) + " (injected fault)");
        return true;
    }

    // ---- what tests and tools may ask -------------------------------------------------------------

    /** The WEDGED= value the GPU was wedged with, empty when it is not wedged. */
    public Optional<String> wedgedWith(PciAddress bdf) throws SimException {
        return Optional.ofNullable(state(bdf).wedged);
    }

    public Health health(PciAddress bdf) throws SimException {
        return state(bdf).health;
    }

    /** Whether the card's slot is powered; a card in no slot always is. */
    public boolean isPowered(SimGpu g) throws SimException {
        return state(g.bdf()).card.powered;
    }

    private FunctionState state(PciAddress bdf) throws SimException {
        var s = functions.get(bdf);
        if (s == null) throw new SimException("no virtual GPU function " + bdf);
        return s;
    }

    private FunctionState gpuState(PciAddress bdf, String what) throws SimException {
        var s = state(bdf);
        if (!s.fn.isGpu()) throw new SimException(what + " is a GPU fault; " + bdf + " is an audio function");
        return s;
    }

    private FunctionState byCard(String card) throws IOException {
        if (!card.matches("card(0|[1-9][0-9]*)")) throw new SimException("not a primary minor: " + card);
        for (var c : cards) {
            if (card.equals(host.cardOf(c.gpu))) return c.gpuFunction();
        }
        throw new SimException("no bound GPU has " + card);
    }

    private void requireCard(FunctionState s, String card) throws IOException {
        if (!card.equals(host.cardOf(s.card.gpu))) throw new SimException("no bound GPU has " + card);
    }

    // ---- plumbing ----------------------------------------------------------------------------------

    @FunctionalInterface
    private interface Work {
        void run() throws IOException;
    }

    /** Queues {@code work} on the card's worker; its failure is logged as the failure of {@code what}. */
    private void onWorker(CardState card, String what, Work work) {
        try {
            card.worker.execute(() -> {
                if (closed) return;
                try {
                    work.run();
                } catch (IOException | RuntimeException e) {
                    error(what + ": " + e);
                }
            });
        } catch (java.util.concurrent.RejectedExecutionException e) {
            // closing
        }
    }

    /** Runs {@code work} on the card's worker and waits for it: ordered with the writes before it. */
    private <T> T call(CardState card, Callable<T> work) throws IOException {
        var f = card.worker.submit(work);
        try {
            return f.get(30, TimeUnit.SECONDS);
        } catch (ExecutionException e) {
            if (e.getCause() instanceof IOException io) throw io;
            if (e.getCause() instanceof RuntimeException re) throw re;
            throw new IOException(e.getCause());
        } catch (TimeoutException e) {
            throw new SimException("the card at " + card.gpu.bdf() + " is busy for more than 30 s");
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new java.io.InterruptedIOException("waiting for the card at " + card.gpu.bdf());
        }
    }

    private void emit(List<Uevent> events) throws IOException {
        synchronized (emitLock) { // the kernel's SEQNUM order is the order of sends
            for (var e : events) sink.send(e);
        }
    }

    private int watch(Path path, int mask, Consumer<Inotify.Event> handler) throws IOException {
        synchronized (watchLock) { // so the reader never sees an event of a watch it does not know yet
            int wd = inotify.watch(path, mask);
            watches.put(wd, handler);
            return wd;
        }
    }

    private void unwatch(int wd) {
        synchronized (watchLock) {
            watches.remove(wd);
        }
        inotify.unwatch(wd);
    }

    private void readInotify() {
        try {
            while (!closed) {
                var events = inotify.take();
                if (events.isEmpty()) return;
                for (var e : events) {
                    if (e.is(Inotify.IN_Q_OVERFLOW)) {
                        // events were lost: read every attribute now (their order is lost too), so no write waits
                        error("inotify: queue overflow; writes may be handled out of order");
                        for (var a : attributes.keySet()) a.drain();
                        continue;
                    }
                    Consumer<Inotify.Event> handler;
                    synchronized (watchLock) {
                        handler = e.is(Inotify.IN_IGNORED) ? watches.remove(e.wd()) : watches.get(e.wd());
                    }
                    // outside the lock: a handler may add or drop watches
                    if (handler != null && !e.is(Inotify.IN_IGNORED)) {
                        try {
                            handler.accept(e);
                        } catch (RuntimeException ex) {
                            error("handling " + e + ": " + ex);
                        }
                    }
                }
            }
        } catch (IOException e) {
            if (!closed) error("inotify: " + e);
        }
    }

    /** errors.log first, then the log line: whoever hears the line finds the file written. */
    private void error(String message) {
        try {
            Files.writeString(host.simDir().resolve("errors.log"), message + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException e) {
            log.accept("error: writing errors.log: " + e);
        }
        log.accept("error: " + message);
    }

    private static void sleep(Duration d) {
        if (d.isZero()) return;
        try {
            Thread.sleep(d); // the hardware itself: a model of the time it takes, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (inotify != null) inotify.close();
        devcoredumps.close();
        timers.shutdownNow();
        for (var c : cards) {
            c.worker.shutdown();
            try {
                c.worker.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        try {
            if (watcher != null) watcher.join(2000);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
        for (var a : attributes.keySet()) a.close();
        attributes.clear();
    }
}
