package io.unwedge.cli;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

/** Runs the packaged {@code unwedge} as a separate process, with the JDK the tests run on. */
final class Commands {

    record Result(int code, String out) {}

    static List<String> java() {
        String jar = System.getenv("UNWEDGE_JAR");
        if (jar == null) throw new IllegalStateException("UNWEDGE_JAR is not set (run through mvn verify)");
        return List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-XX:+UseSerialGC", "-XX:TieredStopAtLevel=1", "-jar", jar);
    }

    static Result run(long timeoutSeconds, String... args) throws IOException, InterruptedException {
        var cmd = new ArrayList<>(java());
        cmd.addAll(List.of(args));
        return exec(cmd, timeoutSeconds);
    }

    static Result exec(List<String> cmd, long timeoutSeconds) throws IOException, InterruptedException {
        var p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
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
