package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import com.github.dockerjava.api.DockerClient;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A developer whose laptop runs Podman instead of Docker, with {@code DOCKER_HOST} naming Podman's socket: the runs get
 * their PostgreSQL container from Podman, and where an image cannot be had they are told the registry's reason. Podman
 * reports a failed pull inside a response that says OK, where Docker answers with an error status, and docker-java's
 * own pull callback cannot read it (a {@code NullPointerException} on the missing status). Each run is a JVM of its
 * own, as Testcontainers settles on an engine once per JVM.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class PodmanTest {

    /** A registry that does not exist: its name never resolves. */
    private static final String PREFIX = "registry.mirror.invalid/hub/";
    /** What the resolver's message says before the engine's reason. */
    private static final String NOT_PULLED = "could not be pulled: ";

    @TempDir
    static Path directory;

    private static PodmanEngine podman;

    @BeforeAll
    static void startPodman() throws Exception {
        podman = PodmanEngine.start(directory);
        // Pulled into Docker first where Docker lacks it too (a developer's machine with the default image).
        ImageOfTheContainerTests.id(DockerClientFactory.instance().client());
        podman.copyFromDocker(ImageOfTheContainerTests.name());
    }

    @AfterAll
    static void stopPodman() {
        if (podman != null) {
            podman.close();
        }
    }

    @Test
    void aRunOnPodmanGetsItsContainerFromPodman() throws Exception {
        long since = Instant.now().getEpochSecond() - 1;
        SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true",
                "TESTCONTAINERS_RYUK_DISABLED", "true"));

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
        assertThat(podman.startsOf(ImageOfTheContainerTests.name(), since))
                .as("the container was Podman's, not the Docker engine's").isEqualTo(1);
        assertThat(run.output().toString()).as("the log says which engine it used")
                .contains("since the Docker engine at " + podman.dockerHost() + " answered");
    }

    @Test
    void aRunOnPodmanWhoseStoreHasRyuksImageStartsRyukThereAndThenItsContainer(@TempDir Path context)
            throws Exception {
        DockerClient docker = DockerClientFactory.instance().client();
        String ryuk = RyukStandIn.build(docker, context);
        try {
            podman.copyFromDocker(ryuk);
            long since = Instant.now().getEpochSecond() - 1;
            // Ryuk unprivileged, as the Ryuk test on Docker has it; Testcontainers mounts Podman's socket into it.
            SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true",
                    "TESTCONTAINERS_RYUK_CONTAINER_IMAGE", ryuk, "TESTCONTAINERS_RYUK_CONTAINER_PRIVILEGED", "false"));

            run.assertPassed();
            assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
            assertThat(podman.startsOf(ryuk, since)).as("Testcontainers started its Ryuk on Podman").isEqualTo(1);
            assertThat(podman.startsOf(ImageOfTheContainerTests.name(), since)).isEqualTo(1);
        } finally {
            podman.remove(ryuk);
            docker.removeImageCmd(ryuk).withForce(true).exec();
        }
    }

    @Test
    void aRunOnPodmanWithoutRyuksImageFallsBackNamingTheRegistrysReason() throws Exception {
        SeparateTestRun run = run(Map.of("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX));

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
        String warning = run.output().toString().lines()
                .filter(line -> line.contains("WARN") && line.contains(DatabaseResolver.class.getSimpleName()))
                .findFirst().orElseThrow(() -> new AssertionError("no WARN of the resolver in:\n" + run.output()));
        assertThat(warning).contains(PREFIX + "testcontainers/ryuk:").contains("TESTCONTAINERS_RYUK_DISABLED=true")
                .contains("The Docker engine at " + podman.dockerHost() + " answered");
        assertEnginesReason(warning);
        assertThat(run.output().toString().lines().filter(line -> line.contains(" ERROR "))).isEmpty();
    }

    @Test
    void aRunOnPodmanThatRequiresAMissingImageFailsNamingTheRegistrysReason() throws Exception {
        String missing = PREFIX + "postgres:18";
        SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true",
                "TESTCONTAINERS_RYUK_DISABLED", "true", DatabaseResolver.IMAGE_ENV, missing));

        String output = run.assertFailed();
        assertThat(podman.has(missing)).isFalse();
        String failure = output.lines().filter(line -> line.contains("Testcontainers was asked for")).findFirst()
                .orElseThrow(() -> new AssertionError("no failure of the resolver in:\n" + output));
        assertThat(failure).contains(missing);
        assertEnginesReason(failure);
    }

    /**
     * The engine's own reason follows the resolver's words: it names the registry it could not reach, where
     * docker-java's callback gave only its {@code NullPointerException}.
     */
    private static void assertEnginesReason(String message) {
        assertThat(message).contains(NOT_PULLED).doesNotContain("NullPointerException").doesNotContain("Cannot invoke");
        assertThat(message.substring(message.indexOf(NOT_PULLED) + NOT_PULLED.length()))
                .contains("registry.mirror.invalid");
    }

    /** A developer's run with {@code DOCKER_HOST} naming Podman's socket. */
    private static SeparateTestRun run(Map<String, String> settings) throws Exception {
        Map<String, String> environment = new HashMap<>();
        // The developer's own choices only, whatever the build's run was told.
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, null);
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put("TESTCONTAINERS_RYUK_DISABLED", null);
        environment.put("TESTCONTAINERS_HOST_OVERRIDE", null);
        environment.put(DatabaseResolver.IMAGE_ENV, ImageOfTheContainerTests.name());
        environment.putAll(settings);
        environment.put("DOCKER_HOST", podman.dockerHost());
        return SeparateTestRun.of(DevelopersCase.class, environment, List.of());
    }
}
