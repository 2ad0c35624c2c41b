package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.testcontainers.DockerClientFactory;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A laptop or CI runner whose Docker engine answers but which cannot get Testcontainers' own helper container, Ryuk:
 * offline, or behind a company mirror of Docker Hub that lacks {@code testcontainers/ryuk}, without
 * {@code TESTCONTAINERS_RYUK_DISABLED=true}. Testcontainers starts Ryuk before any container, and left to itself
 * retries the pull of its image for minutes; the developer is told at once what is missing and how to fix it, rather
 * than "no Docker engine answered". The runs are JVMs of their own, since Testcontainers reads its configuration and
 * starts Ryuk once per JVM; the mirror's prefix ({@code TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX}) names a registry that
 * does not exist, and the machine has no image under it.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class RyukUnavailableTest {

    /** The mirror, as a developer's settings name it: no such registry exists. */
    private static final String PREFIX = "registry.mirror.invalid/hub/";
    /** Ryuk's image through the mirror, whatever its tag in this Testcontainers version. */
    private static final String MISSING_RYUK = PREFIX + "testcontainers/ryuk:";
    /** What Testcontainers logs while it retries a pull, which it would for minutes. */
    private static final String RETRYING = "Retrying pull";

    @Test
    void aRunFallsBackToEmbeddedWithOneWarningThatNamesRyukAndTheSwitch() throws Exception {
        SeparateTestRun run = run(Map.of());

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
    }

    @Test
    void aRunThatRequiresTestcontainersFailsWithRyuksCause() throws Exception {
        SeparateTestRun run = run(Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "true"));

        assertThat(run.process().waitFor(3, TimeUnit.MINUTES)).as("the run ended").isTrue();
        assertThat(run.process().exitValue()).as("the run failed:%n%s", run.output()).isNotZero();
        assertThat(run.output().toString())
                .contains("Testcontainers was asked for")
                .contains(MISSING_RYUK)
                .contains("TESTCONTAINERS_RYUK_DISABLED=true")
                .doesNotContain("no Docker engine answered")
                .doesNotContain(RETRYING);
    }

    /** A developer's run with Ryuk enabled and its image missing from the mirror, on the Docker engine this JVM uses. */
    private static SeparateTestRun run(Map<String, String> settings) throws Exception {
        Map<String, String> environment = new HashMap<>(settings);
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put("TESTCONTAINERS_RYUK_DISABLED", null);
        environment.put("TESTCONTAINERS_HUB_IMAGE_NAME_PREFIX", PREFIX);
        environment.put("DOCKER_HOST", DockerClientFactory.instance().getTransportConfig().getDockerHost().toString());
        return SeparateTestRun.of(DevelopersCase.class, environment, List.of());
    }
}
