package io.unwedge.host.sysfs;

import io.unwedge.core.PciAddress;
import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.nio.channels.Channels;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.security.MessageDigest;
import java.security.NoSuchAlgorithmException;
import java.time.InstantSource;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Objects;
import java.util.Optional;
import java.util.regex.Pattern;

/**
 * A device's coredumps (contract §6): {@code <sysfs>/class/devcoredump/devcd<m>}, each with a {@code data}
 * file and a {@code failing_device} link to the device that produced it. The kernel keeps a dump until
 * something writes to its {@code data} (or for 5 minutes, xe an hour) and discards a new dump of the same
 * device while an unread one exists: so a dump is read and then freed, and the next hang's dump can be taken.
 *
 * <h2>Which dumps are a device's</h2>
 * Like {@link Topology}: the {@code devcd<m>} directory and the device its {@code failing_device} link
 * resolves to must both lie inside {@code <sysfs>/devices}, and the device's directory must be named by the
 * BDF. A link that leads anywhere else is not followed further and the dump is left alone.
 *
 * <h2>Collecting</h2>
 * Each {@code data} is streamed (its size in sysfs says nothing; read to the end) to
 * {@code <dest>/<BDF>-<UTC time>-devcd<m>.bin}, written under a temporary name, synced and renamed, at most
 * {@code maxBytes} per dump (the rest is left unread, and the result says truncated), hashed (SHA-256) as it
 * is written, so the hash is of exactly the bytes kept, without reading the copy again. Then the dump is freed
 * by writing {@code 1} to {@code data}, truncated or not: keeping it would only make the kernel drop the
 * next one. A dump that expires before or while it is read is an ordinary {@link Vanished}, not an error.
 * {@code data} is opened without following links: the kernel's is a file, and a link there would copy
 * whatever it points at.
 */
public final class Devcoredumps {

    private static final Pattern NAME = Pattern.compile("devcd(0|[1-9][0-9]*)");
    private static final DateTimeFormatter STAMP =
            DateTimeFormatter.ofPattern("yyyyMMdd'T'HHmmss'Z'", Locale.ROOT).withZone(ZoneOffset.UTC);
    private static final int BUFFER = 64 * 1024;

    /** Opens a dump's {@code data} for reading; a seam for tests that need a dump to expire mid-read. */
    interface DataSource {
        InputStream open(Path data) throws IOException;
    }

    private final Sysfs sysfs;
    private final InstantSource clock;
    private final DataSource source;

    public Devcoredumps(Sysfs sysfs, InstantSource clock) {
        this(sysfs, clock, data -> Files.newInputStream(data, LinkOption.NOFOLLOW_LINKS));
    }

    Devcoredumps(Sysfs sysfs, InstantSource clock, DataSource source) {
        this.sysfs = Objects.requireNonNull(sysfs);
        this.clock = Objects.requireNonNull(clock);
        this.source = Objects.requireNonNull(source);
    }

    /** A dump of the device: its name ({@code devcd<m>}) and real directory. */
    public record Dump(String name, Path dir) {
        public Path data() {
            return dir.resolve("data");
        }
    }

    /** What collecting one dump gave; {@code source} is its {@code devcd<m>} name. */
    public sealed interface Collected permits Saved, Vanished, Failed {
        String source();
    }

    /**
     * Saved to {@code file}: {@code bytes} of it, cut at the limit when {@code truncated}; {@code sha256} (lower-case
     * hex) is of exactly those bytes. {@code notFreed} is empty when the dump was freed, else why it could not be.
     */
    public record Saved(String source, Path file, long bytes, String sha256, boolean truncated, Optional<String> notFreed)
            implements Collected {
        public boolean freed() {
            return notFreed.isEmpty();
        }
    }

    /** The dump went away (expired, or freed by someone else) before it was read whole; nothing was kept. */
    public record Vanished(String source, long bytesRead, String reason) implements Collected {}

    /** It could not be read or saved; it was left in place, not freed. */
    public record Failed(String source, String reason) implements Collected {}

    /** The device's dumps now, oldest first; empty when there are none (or no devcoredump support at all). */
    public List<Dump> of(PciAddress bdf) {
        Path devicesReal;
        try {
            devicesReal = sysfs.devices().toRealPath();
        } catch (IOException e) {
            return List.of();
        }
        var out = new ArrayList<Dump>();
        try (var entries = Files.list(sysfs.classDevcoredump())) {
            for (var link : (Iterable<Path>) entries::iterator) {
                String name = link.getFileName().toString();
                if (!NAME.matcher(name).matches()) continue;
                try {
                    Path dir = link.toRealPath();
                    if (!dir.startsWith(devicesReal)) continue; // not the kernel's: leave it alone
                    Path failing = dir.resolve("failing_device").toRealPath();
                    if (failing.startsWith(devicesReal) && failing.getFileName().toString().equals(bdf.toString())) {
                        out.add(new Dump(name, dir));
                    }
                } catch (IOException e) {
                    // gone while we looked (expired or freed), or no failing_device: not this device's
                }
            }
        } catch (IOException e) {
            return List.of();
        }
        out.sort(Comparator.comparingLong(d -> Long.parseLong(d.name().substring("devcd".length()))));
        return out;
    }

    /**
     * Saves every dump of {@code bdf} into {@code destDir} (created if missing), at most {@code maxBytes} each,
     * and frees them. One result per dump, oldest first.
     *
     * @throws IOException when {@code destDir} cannot be created
     */
    public List<Collected> collect(PciAddress bdf, Path destDir, long maxBytes) throws IOException {
        Objects.requireNonNull(bdf, "bdf");
        if (maxBytes < 1) throw new IllegalArgumentException("a devcoredump size limit must be at least 1 byte: " + maxBytes);
        Files.createDirectories(destDir);
        String stamp = STAMP.format(clock.instant());
        var out = new ArrayList<Collected>();
        for (var dump : of(bdf)) out.add(collectOne(dump, destDir.resolve(bdf + "-" + stamp + "-" + dump.name() + ".bin"), maxBytes));
        return out;
    }

    private Collected collectOne(Dump dump, Path target, long maxBytes) {
        Path data = dump.data();
        String name = dump.name();
        if (Files.isSymbolicLink(data)) return new Failed(name, data + " is a symbolic link, not the kernel's attribute; left alone");
        if (Files.exists(target, LinkOption.NOFOLLOW_LINKS)) return new Failed(name, target + " exists already; not overwritten");
        Path partial = target.resolveSibling("." + target.getFileName() + ".partial");
        InputStream opened;
        try {
            opened = source.open(data);
        } catch (NoSuchFileException e) {
            return new Vanished(name, 0, "gone before it was read (expired or freed)");
        } catch (IOException e) {
            return new Failed(name, "cannot open " + data + ": " + e);
        }
        long copied = 0;
        boolean truncated;
        MessageDigest sha256 = sha256();
        try (InputStream in = opened;
             FileChannel ch = FileChannel.open(partial, StandardOpenOption.CREATE, StandardOpenOption.TRUNCATE_EXISTING,
                     StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS)) {
            OutputStream out = Channels.newOutputStream(ch);
            byte[] buf = new byte[BUFFER];
            while (true) {
                int want = (int) Math.min(buf.length, maxBytes - copied);
                if (want == 0) {
                    truncated = read(in, buf, 1) > 0; // one byte more tells a cut dump from one that fits exactly
                    break;
                }
                int n = read(in, buf, want);
                if (n < 0) {
                    truncated = false;
                    break;
                }
                out.write(buf, 0, n);
                sha256.update(buf, 0, n);
                copied += n;
            }
            ch.force(true);
        } catch (ReadFailed e) {
            deleteQuietly(partial);
            if (!Files.exists(data, LinkOption.NOFOLLOW_LINKS)) {
                return new Vanished(name, copied, "expired while being read, after " + copied + " bytes (" + e.getCause().getMessage() + ")");
            }
            return new Failed(name, "reading " + data + " failed after " + copied + " bytes: " + e.getCause().getMessage());
        } catch (IOException e) {
            deleteQuietly(partial);
            return new Failed(name, "cannot save it to " + target + ": " + e);
        }
        try {
            Files.move(partial, target, StandardCopyOption.ATOMIC_MOVE);
        } catch (IOException e) {
            deleteQuietly(partial);
            return new Failed(name, "cannot rename " + partial + " to " + target + ": " + e);
        }
        Optional<String> notFreed;
        try (var dir = java.nio.channels.FileChannel.open(target.getParent(), java.nio.file.StandardOpenOption.READ)) {
            // the rename durable too, before the kernel's copy is freed: else a power loss could lose both
            dir.force(true);
        } catch (IOException e) {
            return new Saved(name, target, copied, HexFormat.of().formatHex(sha256.digest()), truncated,
                    Optional.of("left in the kernel: the copy's directory could not be synced (" + e + ")"));
        }
        try {
            Sysfs.writeAttribute(data, "1");
            notFreed = Optional.empty();
        } catch (NoSuchFileException e) {
            notFreed = Optional.of("it was gone already (expired or freed by someone else)");
        } catch (IOException e) {
            notFreed = Optional.of("writing 1 to " + data + " failed: " + e);
        }
        return new Saved(name, target, copied, HexFormat.of().formatHex(sha256.digest()), truncated, notFreed);
    }

    private static MessageDigest sha256() {
        try {
            return MessageDigest.getInstance("SHA-256");
        } catch (NoSuchAlgorithmException e) {
            throw new AssertionError("every Java platform has SHA-256", e);
        }
    }

    /** A read error, told apart from an error writing the copy. */
    private static final class ReadFailed extends IOException {
        ReadFailed(IOException cause) {
            super(cause);
        }
    }

    private static int read(InputStream in, byte[] buf, int len) throws ReadFailed {
        try {
            return in.read(buf, 0, len);
        } catch (IOException e) {
            throw new ReadFailed(e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException ignored) {
            // a leftover partial file is named as one; the next collection of the same dump replaces it
        }
    }
}
