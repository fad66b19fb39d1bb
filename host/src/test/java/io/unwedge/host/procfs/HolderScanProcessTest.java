package io.unwedge.host.procfs;

import static org.assertj.core.api.Assertions.assertThat;

import io.unwedge.core.PciAddress;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The scan over the real /proc, against children this test starts and always kills. */
class HolderScanProcessTest {

    @TempDir Path dir;
    Path node;
    final List<Process> children = new ArrayList<>();

    @BeforeEach
    void node() throws IOException {
        node = Files.writeString(Files.createDirectories(dir.resolve("dev/dri")).resolve("card1"), "x".repeat(4096));
    }

    @AfterEach
    void kill() {
        for (var p : children) {
            p.descendants().forEach(ProcessHandle::destroy);
            p.destroy();
        }
    }

    HolderScan.Target target() {
        return HolderScan.Target.of("card1", PciAddress.parse("0000:06:00.0"), Optional.of("xe"), List.of(node), List.of());
    }

    /** Starts {@code cmd}, which prints "ready" once it holds what it should; waits for that line. */
    Process start(String... cmd) throws IOException {
        var p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        children.add(p);
        var line = new BufferedReader(new InputStreamReader(p.getInputStream(), StandardCharsets.UTF_8)).readLine();
        assertThat(line).as(String.join(" ", cmd)).isEqualTo("ready");
        return p;
    }

    /** Waits (10 s at most) until {@code p} runs {@code comm}. */
    static void awaitExec(Process p, String comm) throws IOException {
        Path file = Path.of("/proc", Long.toString(p.pid()), "comm");
        long deadline = System.nanoTime() + java.util.concurrent.TimeUnit.SECONDS.toNanos(10);
        while (!Files.readString(file).strip().equals(comm)) {
            if (System.nanoTime() > deadline) throw new AssertionError("pid " + p.pid() + " did not exec " + comm);
            java.util.concurrent.locks.LockSupport.parkNanos(5_000_000);
        }
    }

    @Test
    void aChildWithTheNodeOpenIsFoundWithItsPidAndDescriptor() throws IOException {
        var p = start("bash", "-c", "exec 3<'" + node + "'; echo ready; exec sleep 60");
        awaitExec(p, "sleep"); // "ready" comes before the exec: the name and arguments are sleep's only after it
        var r = new HolderScan(Path.of("/proc")).scan(target());
        assertThat(r.pids()).containsExactly((int) p.pid());
        var h = r.holders().getFirst();
        assertThat(h.comm()).isEqualTo("sleep");
        assertThat(h.cmdline()).containsExactly("sleep", "60");
        assertThat(h.fds()).singleElement().satisfies(f -> {
            assertThat(f.fd()).isEqualTo(3);
            assertThat(f.path()).isEqualTo(node.toString());
        });
        assertThat(h.uid()).hasValue((Integer) Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
    }

    @Test
    void aMappingKeepsHoldingAfterTheDescriptorIsClosed() throws IOException {
        // ctypes, not the mmap module: Python's mmap keeps a dup of the descriptor, a real client need not
        var p = start("python3", "-c", "import ctypes,os,sys,time; libc=ctypes.CDLL(None, use_errno=True); "
                + "libc.mmap.restype=ctypes.c_void_p; "
                + "libc.mmap.argtypes=[ctypes.c_void_p,ctypes.c_size_t,ctypes.c_int,ctypes.c_int,ctypes.c_int,ctypes.c_long]; "
                + "fd=os.open(sys.argv[1], os.O_RDWR); a=libc.mmap(None, 4096, 3, 1, fd, 0); "
                + "assert a not in (None, 2**64-1); os.close(fd); print('ready', flush=True); time.sleep(60)", node.toString());
        var r = new HolderScan(Path.of("/proc")).scan(target());
        assertThat(r.pids()).containsExactly((int) p.pid());
        assertThat(r.holders().getFirst().mappingsOnly()).isTrue();
        assertThat(r.holders().getFirst().mappings()).singleElement().satisfies(m -> assertThat(m.path()).isEqualTo(node.toString()));
    }

    @Test
    void aMappingIsToldAsMapsWritesIt() throws IOException {
        // the scan asks the kernel for numbers (PROCMAP_QUERY) and writes the range and permissions itself
        var p = start("python3", "-c", "import ctypes,os,sys,time; libc=ctypes.CDLL(None, use_errno=True); "
                + "libc.mmap.restype=ctypes.c_void_p; "
                + "libc.mmap.argtypes=[ctypes.c_void_p,ctypes.c_size_t,ctypes.c_int,ctypes.c_int,ctypes.c_int,ctypes.c_long]; "
                + "fd=os.open(sys.argv[1], os.O_RDWR); a=libc.mmap(None, 8192, 1, 1, fd, 0); "
                + "assert a not in (None, 2**64-1); print('ready', flush=True); time.sleep(60)", node.toString());
        var m = new HolderScan(Path.of("/proc")).scan(target()).holders().getFirst().mappings();
        var lines = Files.readAllLines(Path.of("/proc/" + p.pid() + "/maps")).stream().filter(l -> l.endsWith(" " + node)).toList();
        assertThat(lines).singleElement().satisfies(l -> {
            var f = l.split(" +");
            assertThat(m).singleElement().satisfies(mapping -> {
                assertThat(mapping.range()).isEqualTo(f[0]);
                assertThat(mapping.perms()).isEqualTo(f[1]).isEqualTo("r--s");
                assertThat(mapping.path()).isEqualTo(node.toString());
            });
        });
    }

    @Test
    void anInheritedDescriptorHoldsInParentAndChild() throws IOException {
        var p = start("bash", "-c", "exec 3<'" + node + "'; sleep 60 & echo ready; wait");
        var r = new HolderScan(Path.of("/proc")).scan(target());
        long child = p.descendants().findFirst().orElseThrow().pid();
        assertThat(r.pids()).containsExactlyInAnyOrder((int) p.pid(), (int) child);
    }

    @Test
    void aRenamedNodeIsStillTheDevice() throws IOException {
        var t = target();
        var p = start("bash", "-c", "exec 3<'" + node + "'; echo ready; exec sleep 60");
        Files.move(node, dir.resolve("moved"));
        assertThat(new HolderScan(Path.of("/proc")).scan(t).pids()).containsExactly((int) p.pid());
    }

    @Test
    void afterTheChildIsGoneTheDeviceIsFree() throws Exception {
        var p = start("bash", "-c", "exec 3<'" + node + "'; echo ready; exec sleep 60");
        assertThat(new HolderScan(Path.of("/proc")).scan(target()).isFree()).isFalse();
        p.destroy();
        p.waitFor();
        assertThat(new HolderScan(Path.of("/proc")).scan(target()).isFree()).isTrue();
    }
}
