package io.unwedge.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the packaged {@code unwedge} as a separate process, with the JDK the tests run on. */
final class Commands {

    record Result(int code, String out) {}

    static List<String> java(String... jvmOptions) {
        String jar = System.getenv("UNWEDGE_JAR");
        if (jar == null) throw new IllegalStateException("UNWEDGE_JAR is not set (run through mvn verify)");
        var cmd = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1"));
        cmd.addAll(sqliteNative(Path.of(jar)));
        cmd.addAll(List.of(jvmOptions));
        cmd.addAll(List.of("-jar", jar));
        return List.copyOf(cmd);
    }

    /**
     * SQLite's native library as the build unpacked it beside the jar, chosen as ./unwedge chooses it: by the
     * JVM's CPU and C library from its release file; none when it does not say.
     */
    static List<String> sqliteNative(Path jar) {
        var release = new java.util.HashMap<String, String>();
        try {
            for (var line : Files.readAllLines(Path.of(System.getProperty("java.home"), "release"))) {
                int eq = line.indexOf('=');
                if (eq > 0) release.put(line.substring(0, eq), line.substring(eq + 1).replace("\"", ""));
            }
        } catch (IOException e) {
            return List.of();
        }
        String arch = switch (release.getOrDefault("OS_ARCH", "")) {
            case "x86_64", "aarch64", "riscv64" -> release.get("OS_ARCH");
            case "x86", "i386", "i486", "i586", "i686" -> "x86";
            case "ppc64le" -> "ppc64";
            default -> "";
        };
        String libc = switch (release.getOrDefault("LIBC", "")) {
            case "gnu" -> "Linux";
            case "musl" -> "Linux-Musl";
            default -> "";
        };
        Path dir = jar.resolveSibling("native/org/sqlite/native/" + libc + "/" + arch);
        return !arch.isEmpty() && !libc.isEmpty() && Files.isRegularFile(dir.resolve("libsqlitejdbc.so"))
                ? List.of("-Dorg.sqlite.lib.path=" + dir, "-Dorg.sqlite.lib.name=libsqlitejdbc.so") : List.of();
    }

    static Result run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        var cmd = new ArrayList<>(java());
        cmd.addAll(List.of(args));
        return exec(cmd, timeoutSeconds);
    }

    static Result exec(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        return exec(cmd, java.util.Map.of(), timeoutSeconds);
    }

    /** As {@link #exec(List, long)}, with {@code env} added to the environment. */
    static Result exec(List<String> cmd, java.util.Map<String, String> env, long timeoutSeconds) throws IOException, InterruptedException {
        var pb = new ProcessBuilder(cmd).redirectErrorStream(true);
        pb.environment().putAll(env);
        var p = pb.start();
        var out = new StringBuilder();
        var reader = Thread.ofVirtual().start(() -> {
            try {
                out.append(new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8));
            } catch (IOException ignored) {
                // the process is gone
            }
        });
        if (!p.waitFor(timeoutSeconds, TimeUnit.SECONDS)) {
            p.destroyForcibly();
            reader.join(2000);
            throw new AssertionError("timed out after " + timeoutSeconds + " s: " + cmd + "\n" + out);
        }
        reader.join(2000);
        return new Result(p.exitValue(), out.toString());
    }
}
