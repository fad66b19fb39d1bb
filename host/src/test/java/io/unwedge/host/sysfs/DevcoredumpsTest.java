package io.unwedge.host.sysfs;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import io.unwedge.core.PciAddress;
import io.unwedge.host.sysfs.Devcoredumps.Collected;
import io.unwedge.host.sysfs.Devcoredumps.Dump;
import io.unwedge.host.sysfs.Devcoredumps.Failed;
import io.unwedge.host.sysfs.Devcoredumps.Saved;
import io.unwedge.host.sysfs.Devcoredumps.Vanished;
import java.io.ByteArrayInputStream;
import java.io.FilterInputStream;
import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.InstantSource;
import java.util.Comparator;
import java.util.List;
import java.util.Optional;
import java.util.Random;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Dumps in a temporary tree shaped like the kernel's: regular files for {@code data}, symlinks as sysfs has them. */
class DevcoredumpsTest {

    static final PciAddress GPU = PciAddress.parse("0000:03:00.0").orElseThrow();
    static final PciAddress OTHER = PciAddress.parse("0000:06:00.0").orElseThrow();
    static final InstantSource CLOCK = InstantSource.fixed(Instant.parse("2026-11-25T10:00:00.250Z"));
    static final String STAMP = "20261125T100000Z";

    @TempDir Path dir;
    Path sys, dest;
    Sysfs sysfs;

    @BeforeEach
    void tree() throws IOException {
        sys = dir.resolve("sys");
        dest = dir.resolve("state/devcoredump");
        Files.createDirectories(sys.resolve("devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0/drm/card0"));
        Files.createDirectories(sys.resolve("devices/pci0000:00/0000:00:02.0/0000:06:00.0/drm/card1"));
        Files.createDirectories(sys.resolve("devices/virtual/devcoredump"));
        Files.createDirectories(sys.resolve("class/devcoredump"));
        sysfs = new Sysfs(sys);
    }

    /** {@code devices/virtual/devcoredump/devcd<m>} with its data and failing_device link, and the class link to it. */
    Path devcd(int m, String failingDevice, byte[] data) throws IOException {
        Path d = Files.createDirectories(sys.resolve("devices/virtual/devcoredump/devcd" + m));
        if (data != null) Files.write(d.resolve("data"), data);
        Files.createSymbolicLink(d.resolve("failing_device"), Path.of(failingDevice));
        Files.createSymbolicLink(sys.resolve("class/devcoredump/devcd" + m), Path.of("../../devices/virtual/devcoredump/devcd" + m));
        return d;
    }

    static final String TO_GPU = "../../../pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0";
    static final String TO_OTHER = "../../../pci0000:00/0000:00:02.0/0000:06:00.0";

    static byte[] bytes(int n, long seed) {
        var b = new byte[n];
        new Random(seed).nextBytes(b);
        return b;
    }

    static String sha256(byte[] b) {
        try {
            return java.util.HexFormat.of().formatHex(java.security.MessageDigest.getInstance("SHA-256").digest(b));
        } catch (java.security.NoSuchAlgorithmException e) {
            throw new AssertionError(e);
        }
    }

    String dataOf(Path devcd) throws IOException {
        return Files.readString(devcd.resolve("data"), StandardCharsets.ISO_8859_1);
    }

    List<String> destFiles() throws IOException {
        if (!Files.exists(dest)) return List.of();
        try (var s = Files.list(dest)) {
            return s.map(p -> p.getFileName().toString()).sorted().toList();
        }
    }

    @Test
    void theDumpsOfADeviceAreThoseWhoseFailingDeviceIsItInsideSys() throws IOException {
        devcd(1, TO_GPU, bytes(10, 1));
        devcd(2, TO_OTHER, bytes(10, 2));
        devcd(12, TO_GPU, bytes(10, 3));
        // a failing device named like the GPU, but outside sys
        Path outside = Files.createDirectories(dir.resolve("elsewhere/0000:03:00.0"));
        devcd(3, outside.toString(), bytes(10, 4));
        // a class entry leading out of sys/devices, to a directory whose failing_device is the GPU
        Path stray = Files.createDirectories(dir.resolve("stray/devcd4"));
        Files.write(stray.resolve("data"), bytes(10, 5));
        Files.createSymbolicLink(stray.resolve("failing_device"), sys.resolve("devices/pci0000:00/0000:00:01.0/0000:01:00.0/0000:02:01.0/0000:03:00.0"));
        Files.createSymbolicLink(sys.resolve("class/devcoredump/devcd4"), stray);
        // a dangling failing_device, and names that are not devcd<m>
        devcd(5, "../../../pci0000:00/0000:00:09.0/0000:03:00.0", bytes(10, 6));
        Files.createDirectories(sys.resolve("class/devcoredump/devcd07"));
        Files.createDirectories(sys.resolve("class/devcoredump/other"));

        var dumps = new Devcoredumps(sysfs, CLOCK);
        assertThat(dumps.of(GPU)).extracting(Dump::name).containsExactly("devcd1", "devcd12");
        assertThat(dumps.of(GPU).getFirst().dir()).isEqualTo(sys.resolve("devices/virtual/devcoredump/devcd1").toRealPath());
        assertThat(dumps.of(OTHER)).extracting(Dump::name).containsExactly("devcd2");
        assertThat(dumps.of(PciAddress.parse("0000:09:00.0").orElseThrow())).isEmpty();
    }

    @Test
    void collectingSavesEachDumpUnderItsNameFreesItAndLeavesOtherDevicesAlone() throws IOException {
        byte[] first = bytes(300_000, 7), second = bytes(17, 8), others = bytes(99, 9);
        Path d1 = devcd(1, TO_GPU, first);
        Path d2 = devcd(2, TO_OTHER, others);
        Path d3 = devcd(3, TO_GPU, second);
        Path outside = Files.createDirectories(dir.resolve("elsewhere/0000:03:00.0"));
        Path d4 = devcd(4, outside.toString(), bytes(5, 10));

        List<Collected> got = new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 1 << 20);

        Path f1 = dest.resolve("0000:03:00.0-" + STAMP + "-devcd1.bin"), f3 = dest.resolve("0000:03:00.0-" + STAMP + "-devcd3.bin");
        assertThat(got).containsExactly(new Saved("devcd1", f1, first.length, sha256(first), false, Optional.empty()),
                new Saved("devcd3", f3, second.length, sha256(second), false, Optional.empty()));
        assertThat(((Saved) got.getFirst()).sha256()).as("of the file as saved").isEqualTo(sha256(Files.readAllBytes(f1)))
                .matches("[0-9a-f]{64}");
        assertThat(got).allSatisfy(c -> assertThat(((Saved) c).freed()).isTrue());
        assertThat(Files.readAllBytes(f1)).isEqualTo(first);
        assertThat(Files.readAllBytes(f3)).isEqualTo(second);
        assertThat(dataOf(d1)).as("freed as the kernel wants: a write to data").isEqualTo("1");
        assertThat(dataOf(d3)).isEqualTo("1");
        assertThat(Files.readAllBytes(d2.resolve("data"))).as("another device's dump").isEqualTo(others);
        assertThat(Files.readAllBytes(d4.resolve("data"))).as("one whose failing device is outside sys").isEqualTo(bytes(5, 10));
        assertThat(destFiles()).as("no temporary file left").containsExactly(f1.getFileName().toString(), f3.getFileName().toString());
    }

    @Test
    void aDumpOverTheLimitIsCutAndSaidSoAndOneExactlyAtItIsNot() throws IOException {
        byte[] big = bytes(10_000, 11), exact = bytes(4096, 12);
        Path d1 = devcd(1, TO_GPU, big);
        devcd(2, TO_GPU, exact);
        var got = new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 4096);
        assertThat(got).hasSize(2);
        var cut = (Saved) got.get(0);
        assertThat(cut.truncated()).isTrue();
        assertThat(cut.bytes()).isEqualTo(4096);
        assertThat(Files.readAllBytes(cut.file())).isEqualTo(java.util.Arrays.copyOf(big, 4096));
        assertThat(cut.sha256()).as("of the bytes kept, not of the whole dump").isEqualTo(sha256(Files.readAllBytes(cut.file())))
                .isNotEqualTo(sha256(big));
        assertThat(cut.freed()).as("freed all the same: a kept dump would make the kernel drop the next").isTrue();
        assertThat(dataOf(d1)).isEqualTo("1");
        var whole = (Saved) got.get(1);
        assertThat(whole.truncated()).isFalse();
        assertThat(Files.readAllBytes(whole.file())).isEqualTo(exact);
        assertThat(whole.sha256()).isEqualTo(sha256(exact));
        assertThatThrownBy(() -> new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 0)).isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("at least 1 byte: 0");
    }

    @Test
    void aMissingDataFileIsADumpThatVanishedAndALinkedOneIsLeftAlone() throws IOException {
        devcd(1, TO_GPU, null);
        Path secret = Files.writeString(dir.resolve("secret"), "root's secret");
        Path d2 = devcd(2, TO_GPU, null);
        Files.createSymbolicLink(d2.resolve("data"), secret);
        var got = new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 1 << 20);
        assertThat(got.get(0)).isEqualTo(new Vanished("devcd1", 0, "gone before it was read (expired or freed)"));
        assertThat(got.get(1)).isInstanceOfSatisfying(Failed.class, f -> {
            assertThat(f.source()).isEqualTo("devcd2");
            assertThat(f.reason()).contains("symbolic link");
        });
        assertThat(Files.readString(secret)).isEqualTo("root's secret");
        assertThat(destFiles()).isEmpty();
    }

    @Test
    void theHashIsOfTheBytesSavedAcrossShortReadsAndACutThatSplitsTheBuffer() throws IOException {
        byte[] big = bytes(300_000, 16);
        devcd(1, TO_GPU, big);
        // reads of odd sizes, as a pipe or the kernel's attribute may give them
        Devcoredumps.DataSource dribbling = data -> new FilterInputStream(Files.newInputStream(data)) {
            int turn;

            @Override
            public int read(byte[] b, int off, int len) throws IOException {
                return super.read(b, off, Math.min(len, 1 + 7919 * (++turn % 5)));
            }
        };
        var got = new Devcoredumps(sysfs, CLOCK, dribbling).collect(GPU, dest, 100_001);
        assertThat(got).singleElement().isInstanceOfSatisfying(Saved.class, s -> {
            assertThat(s.truncated()).isTrue();
            assertThat(s.bytes()).isEqualTo(100_001);
            assertThat(s.sha256()).isEqualTo(sha256(java.util.Arrays.copyOf(big, 100_001)));
            try {
                assertThat(s.sha256()).isEqualTo(sha256(Files.readAllBytes(s.file())));
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
    }

    @Test
    void aDumpThatExpiresWhileBeingReadVanishesAndLeavesNoPartialFile() throws IOException {
        Path d1 = devcd(1, TO_GPU, bytes(200_000, 13));
        byte[] second = bytes(50, 14);
        devcd(2, TO_GPU, second);
        // the kernel's read after the dump is deleted fails with ENODEV: here the directory goes and the read fails
        Devcoredumps.DataSource expiring = data -> {
            InputStream real = Files.newInputStream(data);
            if (!data.startsWith(d1)) return real;
            return new FilterInputStream(real) {
                long n;

                @Override
                public int read(byte[] b, int off, int len) throws IOException {
                    if (n >= 70_000) {
                        deleteTree(d1);
                        throw new IOException("No such device");
                    }
                    int r = super.read(b, off, (int) Math.min(len, 70_000 - n));
                    if (r > 0) n += r;
                    return r;
                }
            };
        };
        var got = new Devcoredumps(sysfs, CLOCK, expiring).collect(GPU, dest, 1 << 20);
        assertThat(got.get(0)).isEqualTo(new Vanished("devcd1", 70_000, "expired while being read, after 70000 bytes (No such device)"));
        assertThat(got.get(1)).isInstanceOfSatisfying(Saved.class, s -> assertThat(s.bytes()).isEqualTo(50));
        assertThat(destFiles()).containsExactly("0000:03:00.0-" + STAMP + "-devcd2.bin");
    }

    @Test
    void aDumpThatExpiresAfterItWasReadIsSavedButNotFreedAndSaysWhy() throws IOException {
        byte[] data = bytes(1000, 15);
        Path d1 = devcd(1, TO_GPU, data);
        Devcoredumps.DataSource expiresAtTheEnd = p -> new ByteArrayInputStream(Files.readAllBytes(p)) {
            @Override
            public void close() throws IOException {
                deleteTree(d1);
            }
        };
        var got = new Devcoredumps(sysfs, CLOCK, expiresAtTheEnd).collect(GPU, dest, 1 << 20);
        assertThat(got).singleElement().isInstanceOfSatisfying(Saved.class, s -> {
            assertThat(s.freed()).isFalse();
            assertThat(s.notFreed()).contains("it was gone already (expired or freed by someone else)");
            assertThat(s.bytes()).isEqualTo(1000);
        });
        assertThat(d1.resolve("data")).as("freeing never creates the attribute").doesNotExist();
    }

    @Test
    void noDevcoredumpSupportMeansNoDumpsAndAnExistingFileIsNeverOverwritten() throws IOException {
        Files.delete(sys.resolve("class/devcoredump"));
        assertThat(new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 100)).isEmpty();
        Files.createDirectories(sys.resolve("class/devcoredump"));
        Path d1 = devcd(1, TO_GPU, bytes(10, 16));
        Files.writeString(dest.resolve("0000:03:00.0-" + STAMP + "-devcd1.bin"), "an earlier collection");
        var got = new Devcoredumps(sysfs, CLOCK).collect(GPU, dest, 100);
        assertThat(got).singleElement().isInstanceOfSatisfying(Failed.class, f -> assertThat(f.reason()).contains("exists already"));
        assertThat(Files.readString(dest.resolve("0000:03:00.0-" + STAMP + "-devcd1.bin"))).isEqualTo("an earlier collection");
        assertThat(Files.readAllBytes(d1.resolve("data"))).as("not saved, so not freed").isEqualTo(bytes(10, 16));
    }

    static void deleteTree(Path p) throws IOException {
        try (var s = Files.walk(p)) {
            for (var q : s.sorted(Comparator.reverseOrder()).toList()) Files.delete(q);
        }
    }
}
