package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A CI job in a container given the host's Docker socket (Docker outside of Docker), sharing the host's network.
 * Inside a container Testcontainers finds the Docker host's address by running a small image of its own unless
 * {@code TESTCONTAINERS_HOST_OVERRIDE} names it; where that image cannot be had (here: a mirror that lacks it, and
 * Testcontainers' pull retries cut to seconds) the run is told to set it, and with it set the job gets its container.
 * The runs are JVMs of their own in containers of the image the container tests use, with this JVM's Java and class
 * path mounted.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class DockerOutsideOfDockerTest {

    private static URI dockerHost;

    @BeforeAll
    static void theEngineIsReachedThroughASocket() throws InterruptedException {
        SeparateTestRun.assumeDockerCommand();
        dockerHost = DockerClientFactory.instance().getTransportConfig().getDockerHost();
        assumeTrue("unix".equals(dockerHost.getScheme()), "a socket to hand the job's container");
    }

    @Test
    void withoutTheHostsAddressTheRunIsToldToGiveIt() throws Exception {
        Map<String, String> environment = job();
        environment.put("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", "registry.mirror.invalid/hub/");
        environment.put("TESTCONTAINERS_PULL_TIMEOUT", "2");
        SeparateTestRun run = run(environment);

        assertThat(run.assertFailed())
                .contains("Testcontainers could not get ready")
                .contains("TESTCONTAINERS_HOST_OVERRIDE");
    }

    @Test
    void withTheHostsAddressTheJobGetsItsContainer() throws Exception {
        Map<String, String> environment = job();
        environment.put("TESTCONTAINERS_HOST_OVERRIDE", "localhost");
        SeparateTestRun run = run(environment);

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
    }

    /** The job's settings: a container required, of the machine's image, Ryuk off as on this machine. */
    private static Map<String, String> job() {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "true");
        environment.put(DatabaseResolver.IMAGE_ENV, ImageOfTheContainerTests.name());
        environment.put("TESTCONTAINERS_RYUK_DISABLED", "true");
        return environment;
    }

    private static SeparateTestRun run(Map<String, String> environment) throws Exception {
        List<String> dockerOptions = new ArrayList<>(List.of("--network", "host"));
        dockerOptions.addAll(List.of("-v", dockerHost.getPath() + ":/var/run/docker.sock"));
        return SeparateTestRun.inContainer(ImageOfTheContainerTests.name(), dockerOptions, DevelopersCase.class,
                environment, List.of());
    }
}
