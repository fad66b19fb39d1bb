package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.RecoveryMethod;
import io.unwedge.core.TaskInfo;
import io.unwedge.core.Uevent;
import io.unwedge.host.netlink.UeventSink;
import io.unwedge.host.os.Fifo;
import io.unwedge.host.os.Inotify;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.Reader;
import java.io.Writer;
import java.nio.ByteBuffer;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * The virtual host's kernel and drivers: reacts to {@code bind}/{@code unbind} writes as the driver core
 * would and delivers every uevent through a {@link UeventSink} (the real kernel, in a private network
 * namespace). Honours the driver's half of the wedge contract: a wedged device stays wedged, and
 * announces it with exactly the uevent drm_dev_wedged_event() sends, until it is unbound.
 *
 * <p>{@code bind} and {@code unbind} are FIFOs, read one line per write, so two writers racing (two GPUs
 * of one driver recovered at once) are two requests, as they are in sysfs. Requests from
 * {@code unwedge sim wedge} and friends arrive as files renamed into {@code sim/requests}.
 *
 * <p>Work on one GPU is serialised on its own thread; GPUs are independent.
 */
public final class DriverModel implements AutoCloseable {

    /** What the driver model does to one GPU beyond the normal: the fault injection knobs. */
    static final class GpuState {
        final SimGpu gpu;
        final ExecutorService worker = Executors.newSingleThreadExecutor(Thread.ofVirtual().name("sim-gpu-", 0).factory());
        volatile String wedged; // the WEDGED= value sent, until unbind
        volatile int probeFailures;
        volatile Duration probeDelay;

        GpuState(SimGpu gpu, Duration probeDelay) {
            this.gpu = gpu;
            this.probeDelay = probeDelay;
        }
    }

    private static final String STOP = "#stop";

    private final VirtualHost host;
    private final UeventSink sink;
    private final Consumer<String> log;
    private final Map<PciAddress, GpuState> states = new LinkedHashMap<>();
    private final List<Thread> threads = new ArrayList<>();
    private final List<FileChannel> fifos = new ArrayList<>();
    private final Map<String, Object> emitLock = new ConcurrentHashMap<>();
    private Inotify inotify;
    private volatile boolean closed;

    public DriverModel(VirtualHost host, UeventSink sink, Duration probeDelay, Consumer<String> log) {
        this.host = host;
        this.sink = sink;
        this.log = log;
        for (var g : host.gpus()) states.put(g.bdf(), new GpuState(g, probeDelay));
    }

    /** Makes {@code bind}/{@code unbind} FIFOs if they are not yet, and starts listening on them and on requests. */
    public void start() throws IOException {
        for (var driver : host.gpus().stream().map(host::driverDir).distinct().toList()) {
            for (var op : List.of("bind", "unbind")) {
                Path fifo = driver.resolve(op);
                if (!Files.isRegularFile(fifo) && Files.exists(fifo)) {
                    // already a FIFO from an earlier run
                } else {
                    Files.deleteIfExists(fifo);
                    Fifo.create(fifo, 0200);
                }
                // O_RDWR: never blocks on open and keeps a writer, so the reader sees no EOF between the
                // daemon's writes; close() hands the reader its stop line without opening the path again
                var channel = FileChannel.open(fifo, StandardOpenOption.READ, StandardOpenOption.WRITE);
                // a second, write-only descriptor for the stop line (a FileChannel's read and write share
                // a lock, so the reader's own channel cannot be written while it blocks in read)
                fifos.add(FileChannel.open(fifo, StandardOpenOption.WRITE));
                var t = Thread.ofPlatform().daemon().name("sim-" + driver.getFileName() + "-" + op).unstarted(() -> readFifo(fifo, channel, op));
                threads.add(t);
                t.start();
            }
        }
        inotify = Inotify.open();
        inotify.watch(host.requests(), Inotify.IN_MOVED_TO | Inotify.IN_CLOSE_WRITE);
        var t = Thread.ofPlatform().daemon().name("sim-requests").unstarted(this::readRequests);
        threads.add(t);
        t.start();
        // requests left from before start
        try (var s = Files.list(host.requests())) {
            for (Path p : s.filter(p -> p.toString().endsWith(".req")).sorted().toList()) handleRequest(p);
        }
    }

    // ---- the driver core: bind and unbind -------------------------------------------------------

    private void readFifo(Path fifo, FileChannel channel, String op) {
        try (channel; var in = new BufferedReader(new InputStreamReader(Channels.newInputStream(channel), StandardCharsets.US_ASCII))) {
            String line;
            while ((line = in.readLine()) != null) {
                if (closed || line.equals(STOP)) return;
                String request = line.strip();
                if (request.isEmpty()) continue;
                String driver = fifo.getParent().getFileName().toString();
                var bdf = PciAddress.parse(request);
                var state = bdf.map(states::get).filter(s -> s.gpu.model().driver.equals(driver));
                if (state.isEmpty()) {
                    error(op + " " + request + ": ENODEV (no such device for " + driver + ")");
                    continue;
                }
                var s = state.get();
                s.worker.execute(() -> {
                    try {
                        if (op.equals("unbind")) unbind(s);
                        else bind(s);
                    } catch (IOException | RuntimeException e) {
                        error(op + " " + s.gpu.bdf() + ": " + e);
                    }
                });
            }
        } catch (IOException e) {
            if (!closed) error("reading " + fifo + ": " + e);
        }
    }

    private void unbind(GpuState s) throws IOException {
        if (!host.isBound(s.gpu)) {
            error("unbind " + s.gpu.bdf() + ": ENODEV (not bound to " + s.gpu.model().driver + ")");
            return;
        }
        s.wedged = null; // the driver's remove() ends the wedge; xe also FLRs here
        log.accept("unbind " + s.gpu.bdf() + " from " + s.gpu.model().driver);
        emit(host.detach(s.gpu));
    }

    private void bind(GpuState s) throws IOException {
        if (host.isBound(s.gpu)) {
            error("bind " + s.gpu.bdf() + ": EBUSY (already bound)");
            return;
        }
        sleep(s.probeDelay);
        if (s.probeFailures > 0) {
            s.probeFailures--;
            error("bind " + s.gpu.bdf() + ": probe failed: EIO (injected fault, " + s.probeFailures + " more)");
            return;
        }
        int card;
        int render;
        synchronized (this) { // minor numbers are a host-wide allocation
            card = lowestFree(host.cardsInUse(), host.firstCard());
            render = lowestFree(host.rendersInUse(), VirtualHost.RENDER_BASE);
            log.accept("bind " + s.gpu.bdf() + " to " + s.gpu.model().driver + ": card" + card + " renderD" + render);
            emit(host.attach(s.gpu, card, render));
        }
    }

    private static int lowestFree(List<Integer> used, int from) {
        int n = from;
        while (used.contains(n)) n++;
        return n;
    }

    // ---- the driver's side of the wedge contract -----------------------------------------------

    /**
     * Declares the GPU that has {@code card} wedged and sends the event drm_dev_wedged_event() sends.
     * The value is built as the kernel builds it: tokens in bit order, cut at the 32-byte buffer.
     */
    public String wedge(String card, List<RecoveryMethod> methods, Optional<TaskInfo> task) throws IOException {
        var s = byCard(card);
        if (s.wedged != null) throw new SimException(card + " is already wedged (WEDGED=" + s.wedged + "); it stays so until rebound");
        var sorted = methods.stream().distinct().sorted().toList();
        String value = kernelValue(sorted);
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
        s.wedged = value;
        emit(List.of(Uevent.of("change", s.gpu.devpath() + "/drm/" + card, f)));
        log.accept("wedged " + card + " " + s.gpu.bdf() + " WEDGED=" + value + task.map(t -> " PID=" + t.pid() + " TASK=" + t.comm()).orElse(""));
        return value;
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
        emit(List.of(Uevent.of("change", s.gpu.devpath() + "/drm/" + card, f)));
        log.accept("hotplug " + card);
    }

    /** The next {@code n} probes of the GPU fail with EIO, as a driver whose firmware will not load. */
    public void failProbes(PciAddress bdf, int n) throws SimException {
        state(bdf).probeFailures = n;
    }

    public void probeDelay(PciAddress bdf, Duration delay) throws SimException {
        state(bdf).probeDelay = delay;
    }

    /** The WEDGED= value the GPU was wedged with, empty when it is not wedged. */
    public Optional<String> wedgedWith(PciAddress bdf) throws SimException {
        return Optional.ofNullable(state(bdf).wedged);
    }

    private GpuState state(PciAddress bdf) throws SimException {
        var s = states.get(bdf);
        if (s == null) throw new SimException("no virtual GPU " + bdf);
        return s;
    }

    private GpuState byCard(String card) throws IOException {
        if (!card.matches("card(0|[1-9][0-9]*)")) throw new SimException("not a primary minor: " + card);
        for (var s : states.values()) {
            if (card.equals(host.cardOf(s.gpu))) return s;
        }
        throw new SimException("no bound GPU has " + card);
    }

    private void emit(List<Uevent> events) throws IOException {
        synchronized (emitLock) { // the kernel's SEQNUM order is the order of sends
            for (var e : events) sink.send(e);
        }
    }

    // ---- requests from other processes ----------------------------------------------------------

    private void readRequests() {
        try {
            while (!closed) {
                var events = inotify.take();
                if (events.isEmpty()) return;
                for (var e : events) {
                    if (e.name().endsWith(".req")) handleRequest(host.requests().resolve(e.name()));
                }
            }
        } catch (IOException e) {
            if (!closed) error("request watch: " + e);
        }
    }

    private void handleRequest(Path file) {
        if (!Files.exists(file)) return;
        var p = new Properties();
        String result;
        try (Reader r = Files.newBufferedReader(file)) {
            p.load(r);
            result = "ok " + perform(p);
        } catch (SimException e) {
            result = "error " + e.getMessage();
        } catch (IOException | RuntimeException e) {
            result = "error " + e;
        }
        try {
            String id = file.getFileName().toString().replaceFirst("\\.req$", "");
            Path tmp = host.requests().resolve(id + ".done.tmp");
            Files.writeString(tmp, result + "\n");
            Files.move(tmp, host.requests().resolve(id + ".done"), StandardCopyOption.ATOMIC_MOVE);
            Files.deleteIfExists(file);
        } catch (IOException e) {
            error("answering " + file + ": " + e);
        }
    }

    private String perform(Properties p) throws IOException {
        String op = p.getProperty("op", "");
        String card = p.getProperty("card", "");
        return switch (op) {
            case "wedge" -> {
                var methods = new ArrayList<RecoveryMethod>();
                for (var t : p.getProperty("methods", "").split(",")) {
                    methods.add(RecoveryMethod.ofToken(t.strip()).orElseThrow(() -> new SimException("unknown method '" + t + "'")));
                }
                Optional<TaskInfo> task = p.containsKey("pid")
                        ? Optional.of(new TaskInfo(Integer.parseInt(p.getProperty("pid")), p.getProperty("task", "unknown")))
                        : Optional.empty();
                yield "WEDGED=" + wedge(card, methods, task);
            }
            case "hotplug" -> {
                hotplug(card);
                yield "HOTPLUG=1";
            }
            case "fault" -> {
                var bdf = PciAddress.parse(p.getProperty("bdf", "")).orElseThrow(() -> new SimException("bad bdf"));
                if (p.containsKey("probeFailures")) failProbes(bdf, Integer.parseInt(p.getProperty("probeFailures")));
                if (p.containsKey("probeDelayMs")) probeDelay(bdf, Duration.ofMillis(Long.parseLong(p.getProperty("probeDelayMs"))));
                yield "fault set on " + bdf;
            }
            default -> throw new SimException("unknown request op '" + op + "'");
        };
    }

    private void error(String message) {
        log.accept("error: " + message);
        try {
            Files.writeString(host.simDir().resolve("errors.log"), message + "\n",
                    StandardOpenOption.CREATE, StandardOpenOption.APPEND);
        } catch (IOException ignored) {
            // the log line above is what matters
        }
    }

    private static void sleep(Duration d) {
        try {
            Thread.sleep(d); // the probe itself: a model of time the hardware takes, not a wait for a condition
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    @Override
    public void close() {
        if (closed) return;
        closed = true;
        if (inotify != null) inotify.close();
        for (var channel : fifos) {
            try (channel) {
                // the reader holds the pipe open, so this cannot block
                channel.write(ByteBuffer.wrap((STOP + "\n").getBytes(StandardCharsets.US_ASCII)));
            } catch (IOException ignored) {
                // the reader is gone already
            }
        }
        for (var s : states.values()) {
            s.worker.shutdown();
            try {
                s.worker.awaitTermination(5, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
        for (var t : threads) {
            try {
                t.join(2000);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        }
    }
}
