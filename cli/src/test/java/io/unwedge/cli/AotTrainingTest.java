package io.unwedge.cli;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The AOT training's commands all end as it expects: if one changes its exit code, this says so, not a missing cache. */
class AotTrainingTest {

    @TempDir Path scratch;

    @Test
    void everyCommandEndsAsExpectedAndEverythingStaysInTheScratchDirectory() throws Exception {
        assertThat(AotTraining.train(scratch)).isEmpty();
        assertThat(scratch.resolve("lab/sys/class/drm/card1")).exists();
        assertThat(scratch.resolve("lab/state/journal.db")).isRegularFile();
        try (Stream<Path> top = Files.list(scratch)) {
            assertThat(top.map(p -> p.getFileName().toString())).containsExactlyInAnyOrder("lab", "unwedge.toml");
        }
    }

    @Test
    void aCommandThatEndsOtherwiseIsNamed() throws Exception {
        Files.createDirectories(scratch.resolve("lab")); // sim create refuses a root that is already there
        Files.writeString(scratch.resolve("lab/occupied"), "x");
        var failed = AotTraining.train(scratch);
        assertThat(failed).singleElement().asString().startsWith("unwedge sim create --root " + scratch.resolve("lab")).contains("expected [0]");
    }
}
