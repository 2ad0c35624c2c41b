package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.io.OutputStream;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A CI job in a container image, as root, with no Docker engine: the case the embedded server is there for. PostgreSQL
 * refuses to run as root, and zonky's way around that, a user namespace, is not permitted under Docker's default
 * seccomp profile; the run is told so at once, with what to do, and doing it (another user) runs the tests. The runs
 * are JVMs of their own in containers of the image the container tests use (a Linux userland; its PostgreSQL is not
 * used), with this JVM's Java and class path mounted.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class EmbeddedAsRootTest {

    /** The developer's setting for a job with no Docker engine (there is none in the container either way). */
    private static final Map<String, String> NO_DOCKER = Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "false");

    @BeforeAll
    static void rootHasNoUserNamespaceInTheContainer() throws Exception {
        Process unshare = new ProcessBuilder("docker", "run", "--rm", "--entrypoint", "unshare",
                ImageOfTheContainerTests.name(), "-U", "true").redirectErrorStream(true).start();
        unshare.getInputStream().transferTo(OutputStream.nullOutputStream());
        assertThat(unshare.waitFor(1, TimeUnit.MINUTES)).isTrue();
        assumeFalse(unshare.exitValue() == 0, "this Docker engine lets root into a user namespace");
    }

    @Test
    void asRootTheRunFailsAtOnceSayingWhyAndWhatToDo() throws Exception {
        SeparateTestRun run = SeparateTestRun.inContainer(ImageOfTheContainerTests.name(), "root",
                DevelopersCase.class, NO_DOCKER);

        assertThat(run.process().waitFor(3, TimeUnit.MINUTES)).as("the run ended").isTrue();
        assertThat(run.process().exitValue()).as("the run failed:%n%s", run.output()).isNotZero();
        assertThat(run.output().toString())
                .contains("PostgreSQL refuses to run as root")
                .contains("'unshare -U' is not permitted")
                .contains("Run as another user")
                .as("initdb is not tried").doesNotContain("Process [");
    }

    @Test
    void asAnotherUserTheSameJobRunsItsTests() throws Exception {
        SeparateTestRun run = SeparateTestRun.inContainer(ImageOfTheContainerTests.name(), "65534",
                DevelopersCase.class, NO_DOCKER);

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
    }
}
