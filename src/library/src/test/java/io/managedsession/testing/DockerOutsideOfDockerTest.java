package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.net.URI;
import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;

import com.github.dockerjava.api.model.Network;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A CI job in a container given the host's Docker socket (Docker outside of Docker), sharing the host's network.
 * Inside a container Testcontainers finds the Docker host's address, unless {@code TESTCONTAINERS_HOST_OVERRIDE} names
 * it, from the gateway of the engine's {@code bridge} network, and where the engine names none by running a small image
 * of its own. Docker 20.10 names none on the start that creates its bridge interface and one on every start after (seen
 * on this machine's engine, started with {@code --iptables=false}). Where that image cannot be had (here: a mirror that
 * lacks it, and Testcontainers' pull retries cut to seconds) the run is told to set the override; where the engine
 * names a gateway the run reaches its container through it; with the override set the job gets its container either
 * way. Which of the first two applies is the engine's to decide, so each runs where it applies. The runs are JVMs of
 * their own in containers of the image the container tests use, with this JVM's Java and class path mounted.
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
    void whereTheEngineNamesNoBridgeGatewayARunWithoutTheHostsAddressIsToldToGiveIt() throws Exception {
        assumeTrue(bridgeGateway().isEmpty(), "an engine whose bridge network names no gateway");
        Map<String, String> environment = job();
        environment.put("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", "registry.mirror.invalid/hub/");
        environment.put("TESTCONTAINERS_PULL_TIMEOUT", "2");
        SeparateTestRun run = run(environment);

        assertThat(run.assertFailed())
                .contains("Testcontainers could not get ready")
                .contains("bridge network names no gateway")
                .contains("TESTCONTAINERS_HOST_OVERRIDE");
    }

    @Test
    void whereTheEngineNamesABridgeGatewayARunWithoutTheHostsAddressReachesItsContainerThroughIt() throws Exception {
        Optional<String> gateway = bridgeGateway();
        assumeTrue(gateway.isPresent(), "an engine whose bridge network names a gateway");
        SeparateTestRun run = run(job());

        run.assertPassed();
        String[] told = run.told().split(" ");
        assertThat(told[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
        assertThat(told[0]).as("the run's server address").startsWith("jdbc:postgresql://" + gateway.get() + ":");
    }

    @Test
    void withTheHostsAddressTheJobGetsItsContainer() throws Exception {
        Map<String, String> environment = job();
        environment.put("TESTCONTAINERS_HOST_OVERRIDE", "localhost");
        SeparateTestRun run = run(environment);

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
    }

    /** The gateway the engine names for its {@code bridge} network, which Testcontainers asks for first. */
    private static Optional<String> bridgeGateway() {
        return DockerClientFactory.instance().client().inspectNetworkCmd().withNetworkId("bridge").exec().getIpam()
                .getConfig().stream().map(Network.Ipam.Config::getGateway)
                .filter(gateway -> gateway != null && !gateway.isBlank()).findAny();
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
