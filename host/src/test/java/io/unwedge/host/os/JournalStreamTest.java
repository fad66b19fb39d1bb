package io.unwedge.host.os;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Map;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class JournalStreamTest {

    @TempDir Path dir;

    @Test
    void theVariableMustNameTheVeryFile() throws Exception {
        var file = Files.createFile(dir.resolve("stream"));
        var attrs = Files.readAttributes(file, "unix:dev,ino");
        String mine = attrs.get("dev") + ":" + attrs.get("ino");
        assertThat(JournalStream.matches(mine, file)).isTrue();
        assertThat(JournalStream.matches(attrs.get("dev") + ":" + ((Long) attrs.get("ino") + 1), file)).isFalse();
        assertThat(JournalStream.matches(null, file)).isFalse();
        assertThat(JournalStream.matches("", file)).isFalse();
        assertThat(JournalStream.matches("8:x", file)).isFalse();
        assertThat(JournalStream.matches(mine, dir.resolve("gone"))).isFalse();
    }

    @Test
    void ourOwnStdoutIsFoundThroughProcSelf() throws Exception {
        var attrs = Files.readAttributes(Path.of("/proc/self/fd/1"), "unix:dev,ino");
        assertThat(JournalStream.isStdout(Map.of("JOURNAL_STREAM", attrs.get("dev") + ":" + attrs.get("ino")))).isTrue();
        assertThat(JournalStream.isStdout(Map.of())).isFalse();
    }
}
