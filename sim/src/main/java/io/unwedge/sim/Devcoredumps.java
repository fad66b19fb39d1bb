package io.unwedge.sim;

import io.unwedge.core.PciAddress;
import io.unwedge.core.Uevent;
import io.unwedge.host.os.Inotify;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ScheduledExecutorService;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;

/**
 * drivers/base/devcoredump.c on the virtual host: a dump is {@code devices/virtual/devcoredump/devcd<m>}
 * (m from a counter that only grows, as devcd_count), announced with {@code add}; it is freed, with a
 * {@code remove}, when something is written to its {@code data} or when it expires. A new dump of a device
 * that still has one is discarded, as dev_coredumpm() does.
 *
 * <p>A write is seen through inotify (IN_CLOSE_WRITE on {@code data}) and told from an open for writing
 * that wrote nothing by the file's mtime, which stays {@link VirtualHost#UNWRITTEN} until a write.
 */
final class Devcoredumps implements AutoCloseable {

    /** Large enough for any test, small enough that a typo does not fill the disk. */
    static final int MAX_BYTES = 64 << 20;

    /** The seams back into the driver model: the kernel's send, and inotify watches on one instance. */
    interface Kernel {
        void emit(List<Uevent> events) throws IOException;

        int watch(Path path, int mask, Consumer<Inotify.Event> handler) throws IOException;

        void unwatch(int wd);

        void log(String line);
    }

    private record Dump(int number, PciAddress device, int wd, ScheduledFuture<?> expiry) {}

    private final VirtualHost host;
    private final Kernel kernel;
    private final ScheduledExecutorService timers;
    private final Duration expiry;
    private final Map<Integer, Dump> live = new HashMap<>(); // guarded by this
    private int count; // devcd_count; guarded by this

    Devcoredumps(VirtualHost host, Kernel kernel, ScheduledExecutorService timers, Duration expiry) {
        this.host = host;
        this.kernel = kernel;
        this.timers = timers;
        this.expiry = expiry;
    }

    /** Takes over dumps an earlier run left: they are watched again and expire a full period from now. */
    synchronized void adopt() throws IOException {
        for (Path d : host.devcoredumps()) {
            int m = VirtualHost.devcdNumber(d);
            count = Math.max(count, m);
            Optional<PciAddress> device = Optional.empty();
            try {
                device = PciAddress.parse(d.resolve(Files.readSymbolicLink(d.resolve("failing_device"))).normalize().getFileName().toString());
            } catch (IOException e) {
                // no failing device: still a dump to free
            }
            track(m, device.orElse(null), d);
        }
    }

    /**
     * A dump of {@code function} of {@code bytes} deterministic bytes ({@link #content}); empty when it is
     * discarded because the device has one that has not been freed yet.
     */
    synchronized Optional<String> create(SimGpu g, PciAddress function, String card, int bytes) throws IOException {
        if (bytes < 0 || bytes > MAX_BYTES) throw new SimException("a devcoredump is 0.." + MAX_BYTES + " bytes, not " + bytes);
        for (var d : live.values()) {
            if (function.equals(d.device())) {
                kernel.log("devcoredump of " + function + " discarded: devcd" + d.number() + " is still unread");
                return Optional.empty();
            }
        }
        int m = ++count;
        var add = host.addDevcoredump(m, host.functionDir(g, function), content(g, function, card, bytes));
        track(m, function, host.devcoredumpDir().resolve("devcd" + m));
        kernel.emit(List.of(add));
        kernel.log("devcoredump devcd" + m + " of " + function + " (" + card + "), " + bytes + " bytes, expires in " + expiry.toMillis() + " ms");
        return Optional.of("devcd" + m);
    }

    private void track(int m, PciAddress device, Path dir) throws IOException {
        int wd = kernel.watch(dir.resolve("data"), Inotify.IN_CLOSE_WRITE, e -> written(m));
        var timer = timers.schedule(() -> free(m, "expired"), expiry.toMillis(), TimeUnit.MILLISECONDS);
        live.put(m, new Dump(m, device, wd, timer));
    }

    /** The dump's name, if the function has one now. */
    synchronized Optional<String> of(PciAddress function) {
        return live.values().stream().filter(d -> function.equals(d.device())).map(d -> "devcd" + d.number()).findFirst();
    }

    private void written(int m) {
        Path data = host.devcoredumpDir().resolve("devcd" + m).resolve("data");
        try {
            if (Files.getLastModifiedTime(data).equals(VirtualHost.UNWRITTEN)) return; // opened for writing, nothing written
        } catch (IOException e) {
            return; // freed already
        }
        free(m, "data written");
    }

    private synchronized void free(int m, String why) {
        var d = live.remove(m);
        if (d == null) return;
        d.expiry().cancel(false);
        kernel.unwatch(d.wd());
        try {
            kernel.emit(List.of(host.deleteDevcoredump(m)));
            kernel.log("devcoredump devcd" + m + " freed: " + why);
        } catch (IOException e) {
            kernel.log("error: freeing devcd" + m + ": " + e);
        }
    }

    /**
     * What a dump holds: a header naming the device, then a repeating pattern, exactly {@code bytes} long;
     * the same for the same device and size.
     */
    static byte[] content(SimGpu g, PciAddress function, String card, int bytes) {
        String header = "**** unwedge virtual devcoredump ****\nmodule: " + g.model().driver + "\ndevice: " + function
                + "\ncard: " + card + "\nbytes: " + bytes + "\n";
        var out = new byte[bytes];
        byte[] h = header.getBytes(StandardCharsets.US_ASCII);
        byte[] pattern = "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcde\n".getBytes(StandardCharsets.US_ASCII);
        for (int i = 0; i < bytes; i++) out[i] = i < h.length ? h[i] : pattern[(i - h.length) % pattern.length];
        return out;
    }

    @Override
    public synchronized void close() {
        for (var d : live.values()) d.expiry().cancel(false);
    }
}
