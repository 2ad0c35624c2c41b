package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.junit.jupiter.api.Assumptions.assumeFalse;

import java.util.ArrayList;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A CI job in a container image with no Docker engine, the case the embedded server is there for, on the two things
 * such jobs often get in its way: running as root (PostgreSQL refuses root; zonky's way around that, a user namespace,
 * is not permitted under Docker's default seccomp profile) and a {@code /tmp} mounted {@code noexec} (zonky runs
 * PostgreSQL's programs from under it). Each is told at once, with what to do, and doing it runs the tests. The runs
 * are JVMs of their own in containers of the image the container tests use (a Linux userland; its PostgreSQL is not
 * used), with this JVM's Java and class path mounted.
 */
@EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
@Tag(TestGroups.OWN_SERVERS)
class EmbeddedInAContainerTest {

    /** The developer's setting for a job with no Docker engine (there is none in the container either way). */
    private static final Map<String, String> NO_DOCKER = Map.of(DatabaseResolver.TESTCONTAINERS_ENV, "false");
    /** A user other than root: nobody. */
    private static final List<String> NOT_ROOT = List.of("--user", "65534");
    /** A /tmp that allows no programs to run, as hardened runners mount it. */
    private static final List<String> NOEXEC_TMP = List.of("--tmpfs", "/tmp:rw,noexec,mode=1777");

    @BeforeAll
    static void rootHasNoUserNamespaceInTheContainer() throws Exception {
        SeparateTestRun.assumeDockerCommand();
        int unshare = SeparateTestRun.exitValueOf("docker", "run", "--rm", "--entrypoint", "unshare",
                ImageOfTheContainerTests.name(), "-U", "true");
        assumeFalse(unshare == 0, "this Docker engine lets root into a user namespace");
    }

    @Test
    void asRootTheRunFailsAtOnceSayingWhyAndWhatToDo() throws Exception {
        SeparateTestRun run = run(List.of("--user", "root"), List.of());

        assertThat(run.assertFailed())
                .contains("PostgreSQL refuses to run as root")
                .contains("'unshare -U' is not permitted")
                .contains("Run as another user")
                .as("initdb is not tried").doesNotContain("Process [");
    }

    @Test
    void asAnotherUserTheSameJobRunsItsTests() throws Exception {
        SeparateTestRun run = run(NOT_ROOT, List.of());

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
    }

    @Test
    void underANoexecTmpTheRunFailsNamingTheFolderAndTheSetting() throws Exception {
        SeparateTestRun run = run(join(NOT_ROOT, NOEXEC_TMP), List.of());

        assertThat(run.assertFailed())
                .contains("/tmp/embedded-pg")
                .contains("does not allow running programs")
                .contains("ot.epg.working-dir");
    }

    @Test
    void underANoexecTmpAWorkingFolderThatAllowsProgramsRunsTheTests() throws Exception {
        SeparateTestRun run = run(join(NOT_ROOT, NOEXEC_TMP, List.of("--tmpfs", "/opt/epg:rw,exec,mode=1777")),
                List.of("-Dot.epg.working-dir=/opt/epg"));

        run.assertPassed();
        assertThat(run.told().split(" ")[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
    }

    private static SeparateTestRun run(List<String> dockerOptions, List<String> jvmOptions) throws Exception {
        return SeparateTestRun.inContainer(ImageOfTheContainerTests.name(), dockerOptions, DevelopersCase.class,
                NO_DOCKER, jvmOptions);
    }

    @SafeVarargs
    private static List<String> join(List<String>... parts) {
        List<String> joined = new ArrayList<>();
        for (List<String> part : parts) {
            joined.addAll(part);
        }
        return joined;
    }
}
