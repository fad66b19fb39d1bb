package io.unwedge.daemon.journal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class SchemaTest {

    @TempDir Path dir;

    @Test
    void aFailedMigrationKeepsSqlitesCodeAndRollsBack() throws Exception {
        try (var c = DriverManager.getConnection("jdbc:sqlite:" + dir.resolve("j.db"))) {
            var migrations = List.of(List.of("CREATE TABLE a (x INTEGER)"), List.of("CREATE TABLE b (y INTEGER)", "INSERT INTO nowhere VALUES (1)"));
            assertThatThrownBy(() -> Schema.migrate(c, migrations)).isInstanceOfSatisfying(SQLException.class, e -> {
                assertThat(e.getMessage()).contains("journal migration to version 2 failed", "nowhere");
                // what tells a corrupt file (SQLITE_CORRUPT, SQLITE_NOTADB) from the rest: kept through the wrapping
                assertThat(e.getErrorCode() & 0xff).isEqualTo(1); // SQLITE_ERROR
            });
            assertThat(Schema.version(c)).as("version 1 stands, version 2 rolled back").isEqualTo(1);
            try (var s = c.createStatement(); var rs = s.executeQuery("SELECT count(*) FROM sqlite_master WHERE name = 'b'")) {
                rs.next();
                assertThat(rs.getInt(1)).isZero();
            }
        }
    }
}
