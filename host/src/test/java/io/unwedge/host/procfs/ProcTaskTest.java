package io.unwedge.host.procfs;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Optional;
import java.util.OptionalInt;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** One process as a procfs root shows it: a fixture tree for the odd cases, and a child of this test in the real /proc. */
class ProcTaskTest {

    @TempDir Path dir;

    /** {@code <proc>/<pid>} with comm, status, cgroup and, when given, an exe link. */
    Path process(int pid, String comm, String exe) throws Exception {
        Path p = Files.createDirectories(dir.resolve("proc").resolve(Integer.toString(pid)));
        Files.writeString(p.resolve("comm"), comm + "\n");
        Files.writeString(p.resolve("status"), "Name:\t" + comm + "\nUid:\t1000\t1000\t1000\t1000\n");
        Files.writeString(p.resolve("cgroup"), "0::/user.slice/user-1000.slice/session-2.scope\n");
        if (exe != null) Files.createSymbolicLink(p.resolve("exe"), Path.of(exe));
        return p;
    }

    @Test
    void aProcessGivesItsCommWithoutTheNewlineItsExeItsUnitAndItsUid() throws Exception {
        process(4242, "glx gears ", "/usr/bin/glxgears");
        var t = ProcTask.read(dir.resolve("proc"), 4242).orElseThrow();
        assertThat(t.comm()).as("only the kernel's newline goes: a comm may end in a space").isEqualTo("glx gears ");
        assertThat(t.exe()).contains("/usr/bin/glxgears");
        assertThat(t.exeUnknown()).isEmpty();
        assertThat(t.placement().unit()).contains("session-2.scope");
        assertThat(t.uid()).isEqualTo(OptionalInt.of(1000));
    }

    @Test
    void aReplacedBinaryIsStillItsPathAndAMissingExeIsSaidNotGuessed() throws Exception {
        process(7, "glxgears", "/usr/bin/glxgears (deleted)");
        assertThat(ProcTask.read(dir.resolve("proc"), 7).orElseThrow().exe()).contains("/usr/bin/glxgears");
        process(8, "kworker/0:1", null);
        var k = ProcTask.read(dir.resolve("proc"), 8).orElseThrow();
        assertThat(k.exe()).isEmpty();
        assertThat(k.exeUnknown()).hasValueSatisfying(why -> assertThat(why).contains("no executable"));
        process(9, "odd", "relative/path");
        assertThat(ProcTask.read(dir.resolve("proc"), 9).orElseThrow().exeUnknown()).hasValueSatisfying(why -> assertThat(why).contains("not a path"));
    }

    @Test
    void noSuchProcessIsEmpty() throws Exception {
        Files.createDirectories(dir.resolve("proc"));
        assertThat(ProcTask.read(dir.resolve("proc"), 99)).isEmpty();
        assertThat(ProcTask.read(dir.resolve("proc"), 0)).isEmpty();
    }

    @Test
    void aChildInTheRealProcIsItsOwnProgram() throws Exception {
        var p = new ProcessBuilder("sleep", "60").start();
        try {
            var t = ProcTask.read(Path.of("/proc"), (int) p.pid()).orElseThrow();
            assertThat(t.comm()).isEqualTo("sleep");
            assertThat(t.exe()).isEqualTo(Optional.of(Files.readSymbolicLink(Path.of("/proc", Long.toString(p.pid()), "exe")).toString()));
            assertThat(t.exe().orElseThrow()).endsWith("/sleep");
        } finally {
            p.destroyForcibly();
            p.waitFor();
        }
    }
}
