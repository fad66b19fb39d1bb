package io.unwedge.host.procfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import io.unwedge.core.holders.DrmClient;
import io.unwedge.core.holders.Holder;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.Set;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** Fixture proc trees built in a temporary directory: the scan's rules, one behaviour per test. */
class HolderScanFixtureTest {

    static final PciAddress BDF = PciAddress.parse("0000:06:00.0").orElseThrow();
    static final PciAddress OTHER = PciAddress.parse("0000:03:00.0").orElseThrow();

    @TempDir Path dir;
    Path proc, card1, render;

    @BeforeEach
    void layout() throws IOException {
        proc = Files.createDirectories(dir.resolve("proc"));
        Files.createDirectories(dir.resolve("dev/dri"));
        card1 = Files.writeString(dir.resolve("dev/dri/card1"), "x".repeat(4096));
        render = Files.writeString(dir.resolve("dev/dri/renderD129"), "x".repeat(4096));
        Files.writeString(dir.resolve("dev/dri/card0"), "other gpu");
    }

    HolderScan.Target target() {
        return HolderScan.Target.of("card1", Optional.of(BDF), Optional.of("xe"), List.of(card1, render), List.of());
    }

    /** A process directory with the metadata files; {@code fds} maps fd number to link target. */
    Path process(int pid, String comm, Map<Integer, Path> fds) throws IOException {
        Path p = Files.createDirectories(proc.resolve(Integer.toString(pid)));
        Files.writeString(p.resolve("comm"), comm + "\n");
        Files.writeString(p.resolve("cmdline"), "/usr/bin/" + comm + "\0--flag\0");
        Files.writeString(p.resolve("status"), "Name:\t" + comm + "\nUid:\t1000\t1000\t1000\t1000\n");
        Files.writeString(p.resolve("cgroup"), "0::/user.slice/user-1000.slice/user@1000.service/app.slice/" + comm + ".service\n");
        Files.writeString(p.resolve("maps"), "");
        Files.createDirectories(p.resolve("fd"));
        Files.createDirectories(p.resolve("fdinfo"));
        for (var e : fds.entrySet()) {
            Files.createSymbolicLink(p.resolve("fd").resolve(e.getKey().toString()), e.getValue());
            Files.writeString(p.resolve("fdinfo").resolve(e.getKey().toString()), "pos:\t0\nflags:\t02100002\n");
        }
        return p;
    }

    static void fdinfo(Path process, int fd, String text) throws IOException {
        Files.writeString(process.resolve("fdinfo").resolve(Integer.toString(fd)), "pos:\t0\n" + text);
    }

    static String mapsLine(Path file, String range) throws IOException {
        Map<String, Object> a = Files.readAttributes(file, "unix:dev,ino");
        var d = DevNum.decode((Long) a.get("dev"));
        return String.format("%s rw-s 00000000 %02x:%02x %d                    %s%n", range, d.major(), d.minor(), a.get("ino"), file);
    }

    @Test
    void aDescriptorOnANodeIsAHolderWithItsMetadata() throws IOException {
        var p = process(100, "glxgears", Map.of(3, card1, 4, dir.resolve("dev/dri/card0")));
        fdinfo(p, 3, "drm-driver:\txe\ndrm-client-id:\t7\ndrm-pdev:\t0000:06:00.0\ndrm-client-name:\tgears\n");
        process(101, "bystander", Map.of(0, dir.resolve("dev/dri/card0")));
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(100);
        var h = r.holders().getFirst();
        assertThat(h.comm()).isEqualTo("glxgears");
        assertThat(h.cmdline()).containsExactly("/usr/bin/glxgears", "--flag");
        assertThat(h.uid()).hasValue(1000);
        assertThat(h.placement().unit()).contains("glxgears.service");
        assertThat(h.fds()).singleElement().satisfies(f -> {
            assertThat(f.fd()).isEqualTo(3);
            assertThat(f.path()).isEqualTo(card1.toString());
            assertThat(f.client()).contains(new DrmClient(BDF, 7));
        });
        assertThat(r.clients()).containsExactly(new DrmClient(BDF, 7));
    }

    @Test
    void theSameNodeByAnotherPathMatchesByItsNumbers() throws IOException {
        // a hard link: another path, the same (st_dev, st_ino), as a container's view of the node is
        Path elsewhere = Files.createLink(dir.resolve("container-card1"), card1);
        process(200, "in-container", Map.of(5, elsewhere));
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(200);
        assertThat(r.holders().getFirst().fds().getFirst().path()).isEqualTo(elsewhere.toString());
    }

    @Test
    void aSameNamedFileIsNotTheNode() throws IOException {
        Path lookalike = Files.writeString(Files.createDirectories(dir.resolve("other/dev/dri")).resolve("card1"), "x");
        process(300, "lookalike", Map.of(3, lookalike));
        assertThat(new HolderScan(proc).scan(target()).isFree()).isTrue();
    }

    @Test
    void aMappingAloneHoldsTheDevice() throws IOException {
        var p = process(400, "mapper", Map.of());
        Files.writeString(p.resolve("maps"), "55d0c0a00000-55d0c0a02000 r--p 00000000 fe:00 1234    /usr/bin/mapper\n"
                + mapsLine(render, "7f5093000000-7f5093001000")
                + "7ffd1a2b3000-7ffd1a2d4000 rw-p 00000000 00:00 0                          [stack]\n");
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(400);
        var h = r.holders().getFirst();
        assertThat(h.mappingsOnly()).isTrue();
        assertThat(h.mappings()).singleElement().satisfies(m -> {
            assertThat(m.range()).isEqualTo("7f5093000000-7f5093001000");
            assertThat(m.perms()).isEqualTo("rw-s");
            assertThat(m.path()).isEqualTo(render.toString());
        });
    }

    @Test
    void anInheritedDescriptorIsTwoHoldersButOneClient() throws IOException {
        for (int pid : new int[] {500, 501}) {
            var p = process(pid, pid == 500 ? "compositor" : "child", Map.of(3, card1));
            fdinfo(p, 3, "drm-driver:\txe\ndrm-client-id:\t12\ndrm-pdev:\t0000:06:00.0\n");
        }
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(500, 501);
        assertThat(r.clients()).containsExactly(new DrmClient(BDF, 12));
    }

    @Test
    void aDrmCharDeviceIsAttributedByPdevEvenWhenItsPathSaysNothing() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
        Path odd = dir.resolve("weird-name");
        var mk = new ProcessBuilder("mknod", odd.toString(), "c", "226", "200").inheritIO().start();
        assertThat(mk.waitFor()).isZero();
        var ours = process(600, "ours", Map.of(3, odd));
        fdinfo(ours, 3, "drm-driver:\txe\ndrm-client-id:\t4\ndrm-pdev:\t0000:06:00.0\n");
        var theirs = process(601, "theirs", Map.of(3, odd));
        fdinfo(theirs, 3, "drm-driver:\txe\ndrm-client-id:\t5\ndrm-pdev:\t0000:03:00.0\n");
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(600);
        assertThat(r.clients()).containsExactly(new DrmClient(BDF, 4));
    }

    @Test
    void anAccelCharDeviceIsAttributedByPdevAsADrmOneIs() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
        Path accel = dir.resolve("accel-node");
        var mk = new ProcessBuilder("mknod", accel.toString(), "c", "261", "7").inheritIO().start();
        assertThat(mk.waitFor()).isZero();
        var ours = process(610, "npu", Map.of(3, accel));
        fdinfo(ours, 3, "drm-driver:\tivpu\ndrm-client-id:\t9\ndrm-pdev:\t0000:06:00.0\n");
        var theirs = process(611, "other-npu", Map.of(3, accel));
        fdinfo(theirs, 3, "drm-driver:\tivpu\ndrm-client-id:\t2\ndrm-pdev:\t0000:03:00.0\n");
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(610);
        assertThat(r.clients()).containsExactly(new DrmClient(BDF, 9));
    }

    @Test
    void aCharNodeMatchesByRdevFromAnyPath() throws Exception {
        Assumptions.assumeTrue("root".equals(System.getProperty("user.name")), "mknod needs root");
        for (var n : List.of("host-card", "container-card")) {
            var mk = new ProcessBuilder("mknod", dir.resolve(n).toString(), "c", "226", "1").inheritIO().start();
            assertThat(mk.waitFor()).isZero();
        }
        var t = HolderScan.Target.of("card1", Optional.of(BDF), Optional.of("xe"), List.of(dir.resolve("host-card")), List.of());
        assertThat(t.rdevs()).containsExactly(new DevNum(226, 1));
        process(700, "contained", Map.of(9, dir.resolve("container-card")));
        assertThat(new HolderScan(proc).scan(t).pids()).containsExactly(700);
    }

    @Test
    void aDmaBufFromDrmIsUncertainNotAHolder() throws IOException {
        var p = process(800, "video", Map.of(7, dir.resolve("dmabuf-placeholder")));
        Files.delete(p.resolve("fd/7"));
        Files.createSymbolicLink(p.resolve("fd/7"), Path.of("/dmabuf:"));
        fdinfo(p, 7, "size:\t8294400\ncount:\t1\nexp_name:\tdrm\nname:\t\n");
        var r = new HolderScan(proc).scan(target());
        assertThat(r.isFree()).isTrue();
        assertThat(r.uncertain()).singleElement().asString().contains("pid 800", "dma-buf", "'drm'");
    }

    @Test
    void goneProcessesOddNamesAndJunkAreSkipped() throws IOException {
        process(900, "holder", Map.of(3, card1));
        Files.createDirectories(proc.resolve("901"));               // exited: only the directory is left
        var half = process(902, "half", Map.of(3, card1));           // exited between fd and comm
        Files.delete(half.resolve("comm"));
        Files.createDirectories(proc.resolve("self"));
        Files.createDirectories(proc.resolve("0123"));
        Files.writeString(proc.resolve("42"), "a file, not a process");
        var odd = process(903, "odd\nname", Map.of());
        Files.createSymbolicLink(odd.resolve("fd/not-a-number"), card1);
        Files.createSymbolicLink(odd.resolve("fd/4"), dir.resolve("dangling"));
        Files.writeString(odd.resolve("maps"), "garbage\n\n- - - - -\nzz-zz rw-s 0 zz:zz notanumber /x\n");
        Files.writeString(odd.resolve("cmdline"), "");
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(900);
    }

    @Test
    void aLargeTreeSharedAmongThreadsFindsWhatOneThreadFinds() throws IOException {
        var expected = new java.util.TreeSet<Integer>();
        for (int pid = 2000; pid < 2400; pid++) {
            var p = process(pid, "p" + pid, pid % 7 == 0 ? Map.of(3, card1) : Map.of(0, dir.resolve("dev/dri/card0")));
            if (pid % 7 == 0) expected.add(pid);
            if (pid % 50 == 0) {
                Files.writeString(p.resolve("maps"), mapsLine(render, "7f5093000000-7f5093001000"));
                expected.add(pid);
            }
        }
        var one = new HolderScan(proc, 1).scan(target());
        var three = new HolderScan(proc, 3).scan(target());
        assertThat(one.pids()).containsExactlyElementsOf(expected);
        assertThat(three).isEqualTo(one);
    }

    @Test
    void aDescriptorPastTheFirstListingBufferIsFound() throws IOException {
        // 2000 entries (24 bytes each) do not fit one 32 KiB getdents64 buffer: the listing must go on to the last
        var fds = new java.util.HashMap<Integer, Path>();
        for (int fd = 0; fd < 2000; fd++) fds.put(fd, dir.resolve("dev/dri/card0"));
        fds.put(1999, card1);
        process(1200, "many-fds", fds);
        var r = new HolderScan(proc).scan(target());
        assertThat(r.pids()).containsExactly(1200);
        assertThat(r.holders().getFirst().fds()).extracting(Holder.HeldFd::fd).containsExactly(1999);
    }

    @Test
    void oneWalkFindsTheHoldersOfEachDevice() throws IOException {
        Path card0 = dir.resolve("dev/dri/card0");
        var other = HolderScan.Target.of("card0", Optional.of(OTHER), Optional.of("i915"), List.of(card0), List.of());
        process(1100, "both", Map.of(3, card1, 4, card0));
        process(1101, "first", Map.of(3, card1));
        var p = process(1102, "second", Map.of());
        Files.writeString(p.resolve("maps"), mapsLine(card0, "7f0000000000-7f0000001000"));
        var p2 = process(1103, "video", Map.of(7, dir.resolve("dmabuf-placeholder")));
        Files.delete(p2.resolve("fd/7"));
        Files.createSymbolicLink(p2.resolve("fd/7"), Path.of("/dmabuf:frame"));
        fdinfo(p2, 7, "size:\t4096\nexp_name:\ti915\n");
        var both = new HolderScan(proc).scan(List.of(target(), other));
        assertThat(both).hasSize(2);
        assertThat(both.get(0).pids()).containsExactly(1100, 1101);
        assertThat(both.get(1).pids()).containsExactly(1100, 1102);
        assertThat(both.get(0).uncertain()).isEmpty();
        assertThat(both.get(1).uncertain()).singleElement().asString().contains("pid 1103", "'i915'", "card0");
        assertThat(both.get(0)).isEqualTo(new HolderScan(proc).scan(target()));
        assertThat(both.get(1)).isEqualTo(new HolderScan(proc).scan(other));
        assertThat(new HolderScan(proc).scan(List.of())).isEmpty();
    }

    @Test
    void nodesThatDoNotExistMatchNothing() throws IOException {
        process(1000, "holder", Map.of(3, card1));
        var t = HolderScan.Target.of("card9", Optional.empty(), Optional.empty(), List.of(dir.resolve("dev/dri/card9")), List.of());
        assertThat(t.files()).isEmpty();
        assertThat(new HolderScan(proc).scan(t).isFree()).isTrue();
        assertThat(new HolderScan(dir.resolve("no-proc")).scan(t).uncertain()).isNotEmpty();
    }

    @Test
    void devNumbersDecodeAndParse() {
        assertThat(DevNum.decode(0xe201L)).isEqualTo(new DevNum(226, 1));
        assertThat(DevNum.parseHex("fe:00")).contains(new DevNum(254, 0));
        assertThat(DevNum.parseDecimal("226:128")).contains(new DevNum(226, 128));
        assertThat(DevNum.parseDecimal("226")).isEmpty();
        assertThat(DevNum.parseHex("-1:2")).isEmpty();
        assertThat(Set.of(DevNum.parseHex("e2:80").orElseThrow())).containsExactly(new DevNum(226, 128));
    }

    @Test
    void aMapsRangeIsLookedUpInMapFilesWithoutItsPadding() throws IOException {
        // maps pads to 8 digits; map_files/ names are %lx-%lx and the kernel refuses a leading zero
        assertThat(HolderScan.mapFilesName("00400000-0040b000")).isEqualTo("400000-40b000");
        assertThat(HolderScan.mapFilesName("00000000-00001000")).isEqualTo("0-1000");
        assertThat(HolderScan.mapFilesName("7f5093000000-7f5093001000")).isEqualTo("7f5093000000-7f5093001000");
        Assumptions.assumeTrue(Files.isDirectory(Path.of("/proc/self/map_files")) && "root".equals(System.getProperty("user.name")),
                "map_files/ is looked up by root only (CAP_SYS_ADMIN)");
        int checked = 0;
        for (var line : Files.readAllLines(Path.of("/proc/self/maps"))) {
            var f = line.split("\\s+", 6);
            if (f.length < 6 || !f[5].startsWith("/")) continue;
            assertThat(Path.of("/proc/self/map_files", HolderScan.mapFilesName(f[0]))).as(line).exists();
            checked++;
        }
        assertThat(checked).as("file-backed mappings of this JVM").isPositive();
    }
}
