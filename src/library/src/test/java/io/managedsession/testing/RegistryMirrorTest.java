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
import org.testcontainers.utility.ImageNameSubstitutor;

import com.github.dockerjava.api.DockerClient;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A developer whose Docker Hub images come from a registry of the company's, as Testcontainers recommends: either its
 * {@code hub.image.name.prefix} (here from {@code TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX}), which turns
 * {@code postgres:18} into {@code registry.example/hub/postgres:18}, or an {@code image.substitutor} of their own
 * ({@code TESTCONTAINERS_IMAGE_SUBSTITUTOR}); only the substituted name is on the machine or reachable. Each run is a
 * JVM of its own, since Testcontainers reads its configuration once per JVM.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class RegistryMirrorTest {

    /** The mirror, as a developer's settings name it; the engine never contacts it, since the image is already here. */
    private static final String PREFIX = "registry.mirror.invalid/hub/";

    @Test
    void aDockerHubImageIsTakenFromTheMirrorTestcontainersPrefixesItWith() throws Exception {
        assertTheRunGetsItsContainer(PREFIX, Map.of("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX));
    }

    @Test
    void aDockerHubImageIsTakenUnderTheNameTheDevelopersOwnSubstitutorGives() throws Exception {
        assertTheRunGetsItsContainer(CompanyRegistry.HOST + "/",
                Map.of("TESTCONTAINERS_IMAGE_SUBSTITUTOR", CompanyRegistry.class.getName()));
    }

    /**
     * A developer's image substitutor, as Testcontainers loads it by its class name: every Docker Hub image comes from
     * the company's registry, under the same path.
     */
    public static final class CompanyRegistry extends ImageNameSubstitutor {

        /** The company's registry; the engine never contacts it, since the image is already here. */
        static final String HOST = "registry.company.invalid";

        @Override
        public DockerImageName apply(DockerImageName original) {
            return original.getRegistry().isEmpty()
                    ? DockerImageName.parse(HOST + "/" + original.getRepository()).withTag(original.getVersionPart())
                    : original;
        }

        @Override
        protected String getDescription() {
            return "the company's registry, " + HOST;
        }
    }

    /**
     * Runs a developer's test class asking for a Docker Hub name this machine does not have, with Testcontainers
     * configured by {@code configuration} to substitute it with {@code registryPrefix} + that name, which it has (the
     * image the other tests run, tagged so): the run must get its container from the substituted image.
     */
    private static void assertTheRunGetsItsContainer(String registryPrefix, Map<String, String> configuration)
            throws Exception {
        DockerImageName hubName = DockerImageName.parse("managed-session-mirror-test/postgres:"
                + UUID.randomUUID().toString().substring(0, 8));
        DockerImageName substitutedName = DockerImageName.parse(registryPrefix + hubName.getRepository())
                .withTag(hubName.getVersionPart());
        DockerClient docker = DockerClientFactory.instance().client();
        docker.tagImageCmd(ImageOfTheContainerTests.id(docker), substitutedName.getUnversionedPart(),
                substitutedName.getVersionPart()).exec();
        try {
            Map<String, String> environment = new HashMap<>(configuration);
            environment.put(DatabaseResolver.URL_ENV, null);
            environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "true");
            environment.put(DatabaseResolver.IMAGE_ENV, hubName.asCanonicalNameString());
            // The substitution would send Testcontainers' own Ryuk image to the registry too, which this test has not
            // filled.
            environment.put("TESTCONTAINERS_RYUK_DISABLED", "true");
            environment.put("DOCKER_HOST",
                    DockerClientFactory.instance().getTransportConfig().getDockerHost().toString());
            SeparateTestRun run = SeparateTestRun.of(DevelopersCase.class, environment, List.of());

            run.assertPassed();
            assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS.name());
        } finally {
            docker.removeImageCmd(substitutedName.asCanonicalNameString()).exec();
        }
    }
}
