package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.file.Path;
import java.time.Instant;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.async.ResultCallback;
import com.github.dockerjava.api.model.Event;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * Testcontainers' own helper container, Ryuk, which it starts before any other unless
 * {@code TESTCONTAINERS_RYUK_DISABLED=true}, and whose image the resolver looks for first. Where the image is on the
 * machine, a run gets its PostgreSQL container as before. Where it cannot be had (offline, or behind a company mirror
 * of Docker Hub that lacks {@code testcontainers/ryuk}) Testcontainers, left to itself, retries the pull for minutes;
 * the developer is told at once what is missing and how to fix it, rather than "no Docker engine answered". The runs
 * are JVMs of their own, since Testcontainers reads its configuration and starts Ryuk once per JVM.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class TestcontainersRyukTest {

    /**
     * A mirror of Docker Hub, as a developer's settings name it ({@code TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX}): no such
     * registry exists, and the machine has no image under its name.
     */
    private static final String PREFIX = "registry.mirror.invalid/hub/";
    /** Ryuk's image through the mirror, whatever its tag in this Testcontainers version. */
    private static final String MISSING_RYUK = PREFIX + "testcontainers/ryuk:";
    /** What Testcontainers logs while it retries a pull, which it would for minutes. */
    private static final String RETRYING = "Retrying pull";

    @Test
    void aRunWhoseMachineHasRyuksImageGetsItsContainerWithRyukStarted(@TempDir Path context) throws Exception {
        DockerClient docker = DockerClientFactory.instance().client();
        String ryuk = RyukStandIn.build(docker, context);
        try {
            long since = Instant.now().getEpochSecond() - 1;
            // Testcontainers' setting for Ryuk's image, which the resolver's look-up follows as Testcontainers does;
            // and Ryuk unprivileged, as Docker engines inside containers (CI's, here) start no privileged ones.
            SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true",
                    "TESTCONTAINERS_RYUK_CONTAINER_IMAGE", ryuk, "TESTCONTAINERS_RYUK_CONTAINER_PRIVILEGED", "false"));

            run.assertPassed();
            assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
            List<Event> started = new ArrayList<>();
            docker.eventsCmd().withSince(Long.toString(since)).withUntil(Long.toString(Instant.now().getEpochSecond()))
                    .withEventFilter("start").withImageFilter(ryuk)
                    .exec(new ResultCallback.Adapter<Event>() {
                        @Override
                        public void onNext(Event event) {
                            started.add(event);
                        }
                    }).awaitCompletion(1, TimeUnit.MINUTES);
            assertThat(started).as("Testcontainers started its Ryuk, from the image the machine has").hasSize(1);
        } finally {
            docker.removeImageCmd(ryuk).withForce(true).exec();
        }
    }

    @Test
    void aRunFallsBackToEmbeddedWithOneWarningThatNamesRyukAndTheSwitch() throws Exception {
        SeparateTestRun run = run(Map.of("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX));

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
        assertThat(run.output().toString().lines()
                .filter(line -> line.contains("WARN") && line.contains(DatabaseResolver.class.getSimpleName())))
                .singleElement().asString()
                .contains("Ryuk")
                .contains(MISSING_RYUK)
                .contains("TESTCONTAINERS_RYUK_DISABLED=true")
                .doesNotContain("no Docker engine answered");
        assertThat(run.output().toString()).doesNotContain(RETRYING);
        assertThat(run.output().toString().lines().filter(line -> line.contains(" ERROR ")))
                .as("the failed pull is the WARN's to tell, not an ERROR with a stack trace before it").isEmpty();
    }

    @Test
    void aRunThatRequiresTestcontainersFailsWithRyuksCause() throws Exception {
        SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true",
                "TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX));

        assertThat(run.assertFailed())
                .contains("Testcontainers was asked for")
                .contains(MISSING_RYUK)
                .contains("TESTCONTAINERS_RYUK_DISABLED=true")
                .doesNotContain("no Docker engine answered")
                .doesNotContain(RETRYING);
    }

    /** A developer's run with Ryuk enabled, on the Docker engine this JVM uses. */
    private static SeparateTestRun run(Map<String, String> settings) throws Exception {
        Map<String, String> environment = new HashMap<>();
        // The developer's own choice only: none unless the test gives one, whatever the build's run was told.
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, null);
        environment.putAll(settings);
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put("TESTCONTAINERS_RYUK_DISABLED", null);
        environment.put("DOCKER_HOST", DockerClientFactory.instance().getTransportConfig().getDockerHost().toString());
        return SeparateTestRun.of(DevelopersCase.class, environment, List.of());
    }
}
