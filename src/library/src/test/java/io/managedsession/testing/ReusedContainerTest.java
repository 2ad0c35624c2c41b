package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFileAttributeView;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.util.Arrays;
import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.jooq.impl.DSL;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.model.Container;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.support.TestGroups;

/**
 * A developer who enabled Testcontainers' reuse ({@code testcontainers.reuse.enable=true}) gets one container that the
 * next run uses again, rather than a new one per run: with the same password, and with the runs marked on it, since
 * its databases outlive each run. The runs are JVMs of their own, each with its own home directory standing for the
 * developer's.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class ReusedContainerTest {

    /** The label the library gives the containers it keeps for reuse. */
    private static final String REUSED_LABEL = "io.managedsession.database";

    @Test
    void theNextRunReusesTheContainerWithTheSamePasswordAndEachRunIsMarkedOnIt(@TempDir Path home) throws Exception {
        Path passwordFile = home.resolve(".cache/managed-session/reused-postgres-password");
        try {
            SeparateTestRun first = run(home);
            first.assertPassed();
            String[] firstSaid = first.told().split(" ");

            assertThat(passwordFile).exists();
            if (Files.getFileAttributeView(passwordFile, PosixFileAttributeView.class) != null) {
                assertThat(PosixFilePermissions.toString(Files.getPosixFilePermissions(passwordFile)))
                        .as("readable by the developer only").isEqualTo("rw-------");
            }
            assertThat(firstSaid[1]).as("a run's database on a container that outlives it names the run")
                    .matches("ms_developerscase_[0-9a-f]{8}_[0-9a-f]{10}");
            String password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
            try (Connection connection = DriverManager.getConnection(firstSaid[0], "managed_session", password)) {
                assertThat(DSL.using(connection).fetch("SELECT datname FROM pg_database WHERE datname LIKE 'ms\\_%'"))
                        .as("the container runs on after the run, which dropped its databases").isEmpty();
            }

            SeparateTestRun second = run(home);
            second.assertPassed();
            String[] secondSaid = second.told().split(" ");

            assertThat(secondSaid[0]).as("the same container, at the same address").isEqualTo(firstSaid[0]);
            assertThat(secondSaid[1]).isNotEqualTo(firstSaid[1]).matches("ms_developerscase_[0-9a-f]{8}_[0-9a-f]{10}");
            assertThat(containersWithPassword(password)).hasSize(1);
        } finally {
            if (Files.exists(passwordFile)) {
                String password = Files.readString(passwordFile, StandardCharsets.UTF_8).strip();
                DockerClient docker = DockerClientFactory.instance().client();
                for (Container container : containersWithPassword(password)) {
                    docker.removeContainerCmd(container.getId()).withForce(true).withRemoveVolumes(true).exec();
                }
            }
        }
    }

    /** A developer's run with reuse enabled, its home in {@code home}, on the Docker engine this JVM uses. */
    private static SeparateTestRun run(Path home) throws Exception {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "true");
        environment.put("TESTCONTAINERS_REUSE_ENABLE", "true");
        environment.put("DOCKER_HOST", DockerClientFactory.instance().getTransportConfig().getDockerHost().toString());
        return SeparateTestRun.of(DevelopersCase.class, environment, List.of("-Duser.home=" + home));
    }

    /** The library's reused containers started with {@code password}: those of this test's developer only. */
    private static List<Container> containersWithPassword(String password) {
        DockerClient docker = DockerClientFactory.instance().client();
        return docker.listContainersCmd().withShowAll(true).withLabelFilter(List.of(REUSED_LABEL)).exec().stream()
                .filter(container -> Arrays.asList(docker.inspectContainerCmd(container.getId()).exec().getConfig()
                        .getEnv()).contains("POSTGRES_PASSWORD=" + password))
                .toList();
    }
}
