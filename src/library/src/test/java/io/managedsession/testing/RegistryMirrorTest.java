package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.UUID;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.utility.DockerImageName;

import com.github.dockerjava.api.DockerClient;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A developer whose Docker Hub images come from a mirror of the company's, as Testcontainers recommends: its
 * {@code hub.image.name.prefix} (here from {@code TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX}) turns {@code postgres:18} into
 * {@code registry.example/hub/postgres:18}, and only that name is on the machine or reachable. The run is a JVM of its
 * own, since Testcontainers reads its configuration once per JVM.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class RegistryMirrorTest {

    /** The mirror, as a developer's settings name it; the engine never contacts it, since the image is already here. */
    private static final String PREFIX = "registry.mirror.invalid/hub/";

    @Test
    void aDockerHubImageIsTakenFromTheMirrorTestcontainersPrefixesItWith() throws Exception {
        // A Docker Hub name this machine does not have, and the mirror's name for it, which it has: the image the
        // other tests run, tagged as the mirror's.
        DockerImageName hubName = DockerImageName.parse("managed-session-mirror-test/postgres:"
                + UUID.randomUUID().toString().substring(0, 8));
        DockerImageName mirrorName = DockerImageName.parse(PREFIX + hubName.getRepository())
                .withTag(hubName.getVersionPart());
        DockerClient docker = DockerClientFactory.instance().client();
        docker.tagImageCmd(ImageOfTheContainerTests.id(docker), mirrorName.getUnversionedPart(),
                mirrorName.getVersionPart()).exec();
        try {
            Map<String, String> environment = new HashMap<>();
            environment.put(DatabaseResolver.URL_ENV, null);
            environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "true");
            environment.put(DatabaseResolver.IMAGE_ENV, hubName.asCanonicalNameString());
            environment.put("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX);
            // The prefix would send Testcontainers' own Ryuk image to the mirror too, which this test has not filled.
            environment.put("TESTCONTAINERS_RYUK_DISABLED", "true");
            environment.put("DOCKER_HOST",
                    DockerClientFactory.instance().getTransportConfig().getDockerHost().toString());
            SeparateTestRun run = SeparateTestRun.of(DevelopersCase.class, environment, List.of());

            run.assertPassed();
            assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
        } finally {
            docker.removeImageCmd(mirrorName.asCanonicalNameString()).exec();
        }
    }
}
