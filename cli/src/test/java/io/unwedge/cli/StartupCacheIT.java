package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.FileTime;
import java.time.Instant;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * {@code ./unwedge}'s AOT cache, on a copy of the script beside a copy of the packaged jar and its lib/ (a
 * tree with a build stamp and no sources, so the script never builds): the cache is trained on first use
 * and accepted by the JVM; a cache the JVM refuses, a stale one and a failed training each leave the
 * command working with nothing on stderr and nothing but its own output on stdout.
 */
class StartupCacheIT {

    @TempDir Path tree;

    private Path target;
    private Path jar;
    private Path aot;

    record Out(int code, String stdout, String stderr) {}

    @BeforeEach
    void copyTheScriptAndThePackagedCommand() throws IOException {
        Path repo = Path.of(System.getProperty("user.dir")).getParent();
        Path packaged = Path.of(System.getenv("UNWEDGE_JAR"));
        Files.copy(repo.resolve("unwedge"), tree.resolve("unwedge"), StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(tree.resolve("scripts"));
        Files.copy(repo.resolve("scripts/jdk.sh"), tree.resolve("scripts/jdk.sh"), StandardCopyOption.COPY_ATTRIBUTES);
        target = Files.createDirectories(tree.resolve("cli/target"));
        jar = target.resolve("unwedge.jar");
        aot = target.resolve("unwedge.aot");
        Files.copy(packaged, jar, StandardCopyOption.COPY_ATTRIBUTES);
        Files.createDirectories(target.resolve("lib"));
        try (var libs = Files.list(packaged.resolveSibling("lib"))) {
            for (var lib : libs.toList()) Files.copy(lib, target.resolve("lib").resolve(lib.getFileName()), StandardCopyOption.COPY_ATTRIBUTES);
        }
        Files.createFile(target.resolve(".built"));
    }

    @Test
    void trainedOnFirstUseAcceptedByTheJvmAndARefusedOrStaleCacheIsSilent() throws Exception {
        var first = unwedge(Map.of(), "--version");
        assertVersionOnly(first);
        assertThat(aot).as("the cache, after the first run").isRegularFile();
        assertThat(Files.readString(target.resolve("build.log"))).contains("start-up cache made");
        assertThat(Files.readString(target.resolve("aot-training.log"))).contains("aot-training: unwedge users --all", "AOTCache creation is complete");
        // AOTMode=on makes the JVM fail rather than run without it: the cache fits this jar, its lib/ and the CLI's options
        var strict = exec(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:AOTCache=" + aot, "-XX:AOTMode=on", "-jar", jar.toString(), "--version"), Map.of());
        assertVersionOnly(strict);

        // a cache the JVM refuses (newer than the jar, so the script offers it): the refusal is not printed
        Files.writeString(aot, "not an AOT cache");
        assertVersionOnly(unwedge(Map.of(), "--version"));
        var refused = exec(List.of(java(), "-XX:AOTCache=" + aot, "-jar", jar.toString(), "--version"), Map.of());
        assertThat(refused.stdout() + refused.stderr()).as("what the JVM prints without -Xlog:aot=off").contains("[aot]");

        // the jar rebuilt after the cache: the cache is not offered, and is made again, silently
        Files.setLastModifiedTime(jar, FileTime.from(Instant.now()));
        assertVersionOnly(unwedge(Map.of(), "--version"));
        assertThat(Files.getLastModifiedTime(aot).compareTo(Files.getLastModifiedTime(jar))).as("cache made again after the jar").isPositive();
        assertVersionOnly(exec(List.of(java(), "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1",
                "-XX:AOTCache=" + aot, "-XX:AOTMode=on", "-jar", jar.toString(), "--version"), Map.of()));
    }

    @Test
    void aFailedTrainingLeavesNoCacheANoteInTheBuildLogAndIsNotRetriedEachRun() throws Exception {
        var env = Map.of("TMPDIR", tree.resolve("no-such-dir").toString()); // no scratch directory for the training
        assertVersionOnly(unwedge(env, "--version"));
        assertThat(aot).doesNotExist();
        assertThat(target).isDirectoryNotContaining(p -> p.getFileName().toString().endsWith(".tmp"));
        var log = Files.readString(target.resolve("build.log"));
        assertThat(log).contains("no start-up cache: the training exited 73").contains("running without -XX:AOTCache");
        assertVersionOnly(unwedge(env, "--version"));
        assertThat(Files.readString(target.resolve("build.log"))).as("one try per build and JDK").isEqualTo(log);
    }

    @Test
    void unwedgeAotOffNeitherTrainsNorUsesACache() throws Exception {
        assertVersionOnly(unwedge(Map.of("UNWEDGE_AOT", "off"), "--version"));
        assertThat(aot).doesNotExist();
        assertThat(target.resolve("unwedge.aot.jdk")).doesNotExist();
    }

    private static void assertVersionOnly(Out r) {
        assertThat(r.stderr()).as("stderr").isEmpty();
        assertThat(r.code()).as(r.stdout()).isZero();
        assertThat(r.stdout().lines().toList()).as("stdout").singleElement().asString().startsWith("unwedge ");
    }

    private Out unwedge(Map<String, String> env, String... args) throws Exception {
        var cmd = new ArrayList<>(List.of(tree.resolve("unwedge").toString()));
        cmd.addAll(List.of(args));
        return exec(cmd, env);
    }

    private static String java() {
        return Path.of(System.getProperty("java.home"), "bin", "java").toString();
    }

    private static Out exec(List<String> cmd, Map<String, String> env) throws Exception {
        var pb = new ProcessBuilder(cmd).redirectInput(new File("/dev/null"));
        pb.environment().put("JAVA_HOME", System.getProperty("java.home")); // the JDK the tests run on
        pb.environment().remove("UNWEDGE_AOT");
        pb.environment().putAll(env);
        var p = pb.start();
        var err = new StringBuilder();
        var reader = Thread.ofVirtual().start(() -> {
            try {
                err.append(new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (!p.waitFor(300, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            throw new AssertionError("timed out: " + cmd + "\n" + out);
        }
        reader.join(2000);
        return new Out(p.exitValue(), out, err.toString());
    }
}
