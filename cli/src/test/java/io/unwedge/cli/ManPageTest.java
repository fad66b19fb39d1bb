package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assumptions.assumeThat;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.LocalDate;
import java.util.List;
import java.util.concurrent.TimeUnit;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** unwedge(8) is the command line's model in troff: every command and option --help knows, and groff has nothing to say about it. */
class ManPageTest {

    @TempDir Path dir;

    private final String page = ManPage.render(Main.commandLine(), "0.1.0", LocalDate.of(2026, 11, 26));

    @Test
    void everyVisibleCommandAndOptionIsInTheRenderedPage() throws Exception {
        String text = format(page);
        var commands = ManPage.visible(Main.commandLine().getCommandSpec());
        // the tree as the help has it: sim's and config's subcommands included
        assertThat(commands).extracting(c -> c.qualifiedName())
                .contains("unwedge daemon", "unwedge handle-uevent", "unwedge config check", "unwedge sim create", "unwedge sim client", "unwedge help");
        for (var spec : commands) {
            String section = section(text, spec.qualifiedName());
            for (var option : ManPage.visibleOptions(spec)) {
                assertThat(section).as("%s in %s", option.longestName(), spec.qualifiedName()).contains(option.longestName());
            }
            for (var p : spec.positionalParameters()) {
                if (!p.hidden()) assertThat(section).as("%s in %s", p.paramLabel(), spec.qualifiedName()).contains(p.paramLabel());
            }
            for (String line : spec.usageMessage().description()) {
                String first = line.split("%n")[0].strip();
                if (first.length() > 20) assertThat(section.replaceAll("\\s+", " ")).contains(first.substring(0, 20));
            }
        }
        for (var code : ExitCode.values()) assertThat(text).contains(code.meaning.substring(0, Math.min(20, code.meaning.length())));
        assertThat(text).contains("NAME", "SYNOPSIS", "DESCRIPTION", "COMMANDS", "EXIT STATUS", "ENVIRONMENT", "FILES", "SEE ALSO",
                "/etc/unwedge/unwedge.toml", "/var/lib/unwedge/");
    }

    @Test
    void groffReportsNoWarnings() throws Exception {
        Path file = dir.resolve("unwedge.8");
        Files.writeString(file, page);
        var run = run(List.of("groff", "-man", "-Tutf8", "-ww", "-z", file.toString()));
        assertThat(run.err).isEmpty();
        assertThat(run.code).isZero();
        // and groff does complain where there is something to complain about: the check can fail
        Files.writeString(file, page + ".BOGUS macro\n\\q\n");
        assertThat(run(List.of("groff", "-man", "-Tutf8", "-ww", "-z", file.toString())).err).isNotEmpty();
    }

    @Test
    void troffControlCharactersInTextAreEscaped() {
        assertThat(ManPage.text(".hidden")).isEqualTo("\\&.hidden");
        assertThat(ManPage.text("'quoted")).isEqualTo("\\&'quoted");
        assertThat(ManPage.text("a\\b --x \"y\"")).isEqualTo("a\\eb \\-\\-x \\(dqy\\(dq");
        assertThat(ManPage.text("time … \u2014 message")).isEqualTo("time \\[u2026] \\[u2014] message");
    }

    @Test
    void mainWritesThePageWithTheDateOfItsCaller() throws Exception {
        Path out = dir.resolve("out.8");
        var pb = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-cp", System.getProperty("java.class.path"), "io.unwedge.cli.ManPage", out.toString());
        pb.environment().put("SOURCE_DATE_EPOCH", "1798243200"); // 2026-12-26
        pb.redirectErrorStream(true);
        var p = pb.start();
        String said = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(p.exitValue()).as(said).isZero();
        assertThat(Files.readString(out)).startsWith(".\\\" Generated").contains(".TH UNWEDGE 8 \"2026-12-26\"");

        pb.environment().put("SOURCE_DATE_EPOCH", "yesterday");
        var bad = pb.start();
        String err = new String(bad.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(bad.waitFor(60, TimeUnit.SECONDS)).isTrue();
        assertThat(bad.exitValue()).isEqualTo(ExitCode.USAGE.code);
        assertThat(err).contains("SOURCE_DATE_EPOCH is not a number of seconds: yesterday");
    }

    /** The page as a reader sees it: plain ASCII, no bold or underline. */
    private String format(String troff) throws Exception {
        Path file = dir.resolve("page.8");
        Files.writeString(file, troff);
        var run = run(List.of("groff", "-man", "-Tascii", "-P-cbou", "-rLL=200n", file.toString()));
        assertThat(run.code).as(run.err).isZero();
        return run.out;
    }

    /** The text from a command's heading to the next heading at its level or above. */
    private static String section(String text, String name) {
        int start = text.indexOf("\n   " + name + "\n");
        assertThat(start).as("a section for %s", name).isNotNegative();
        int end = text.indexOf("\n   unwedge ", start + name.length() + 4);
        int top = text.indexOf("\nEXIT STATUS", start);
        return text.substring(start, end < 0 || end > top ? top : end);
    }

    private record Run(int code, String out, String err) {}

    private static Run run(List<String> command) throws IOException, InterruptedException {
        // off CI a machine without groff skips; CI must have it
        if ("true".equals(System.getenv("CI"))) assertThat(Path.of("/usr/bin/groff")).as("groff (apt-get install groff-base)").exists();
        else assumeThat(Path.of("/usr/bin/groff")).as("groff (apt-get install groff-base)").exists();
        var p = new ProcessBuilder(command).start();
        var out = p.getInputStream().readAllBytes();
        var err = p.getErrorStream().readAllBytes();
        assertThat(p.waitFor(60, TimeUnit.SECONDS)).isTrue();
        return new Run(p.exitValue(), new String(out, StandardCharsets.UTF_8), new String(err, StandardCharsets.UTF_8));
    }
}
