package io.managedsession.database;

import java.util.UUID;

import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.ImageNameSubstitutor;
import org.testcontainers.utility.TestcontainersConfiguration;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;

/**
 * The Testcontainers source. Only {@link DatabaseResolver} touches this class, and only after it found Testcontainers
 * on the class path, so the optional dependency is never needed otherwise.
 */
final class ContainerDatabase {

    /** The container's superuser and its first database. */
    private static final String USER = "managed_session";

    /** The label of the containers kept for reuse: {@code docker ps --filter label=io.managedsession.database}. */
    private static final String REUSED_LABEL = "io.managedsession.database";

    private ContainerDatabase() {
    }

    static boolean dockerAvailable() {
        try {
            return DockerClientFactory.instance().isDockerAvailable();
        } catch (RuntimeException e) {
            return false;
        }
    }

    /**
     * Starts a container from {@code image}, used as a compatible substitute for the official {@code postgres} image.
     * A container that started but did not get ready is stopped again.
     *
     * <p>The container class is the one Testcontainers 1 and 2 both have ({@code org.testcontainers.containers}),
     * which 2 deprecates for {@code org.testcontainers.postgresql.PostgreSQLContainer}: projects whose dependency
     * management picks Testcontainers 1 (Spring Boot 3.5's, and its own Testcontainers support with it) get their
     * containers too, rather than a {@code NoClassDefFoundError}.
     */
    @SuppressWarnings({"resource", "deprecation"}) // stopped by the returned PostgresDatabase; the class, above
    static PostgresDatabase start(String image) {
        DockerImageName name = DockerImageName.parse(image);
        pullOnceIfMissing(name);
        // Testcontainers' own switch (testcontainers.reuse.enable=true in ~/.testcontainers.properties, or
        // TESTCONTAINERS_REUSE_ENABLE=true): the developer asked for containers that outlive the run.
        boolean reuse = TestcontainersConfiguration.getInstance().environmentSupportsReuse();
        // A password of its own, like any real server's: tests that forget to pass credentials fail here, not later.
        // A reused container is found again by its settings, so its password is this user's, kept in a file.
        PostgreSQLContainer<?> container = new PostgreSQLContainer<>(name.asCompatibleSubstituteFor("postgres"))
                .withUsername(USER)
                .withPassword(reuse ? ReusedContainerPassword.read() : UUID.randomUUID().toString())
                .withDatabaseName(USER);
        if (reuse) {
            container.withReuse(true).withLabel(REUSED_LABEL, "postgres");
        }
        try {
            container.start();
        } catch (RuntimeException e) {
            // Even a reused one: found again by the next run, a container that never got ready would fail it too.
            container.stop();
            throw e;
        }
        // A reused container is left running for the next run, as Testcontainers leaves it.
        return new PostgresDatabase(PostgresDatabase.Origin.TESTCONTAINERS, container.getJdbcUrl(),
                container.getUsername(), container.getPassword(), reuse ? null : container::stop, reuse);
    }

    /**
     * Pulls an image this machine does not have, once. Testcontainers would retry a failed pull for two minutes; on a
     * machine that reaches no registry (offline, air-gapped) the first attempt fails at once and says why, and that is
     * enough to decide.
     *
     * <p>The image looked for and pulled is the one Testcontainers will start: the name after its image name
     * substitution, which a developer configures to take Docker Hub's images from a mirror of the company's
     * ({@code hub.image.name.prefix}, or an {@code image.substitutor} of their own). The pull goes through
     * Testcontainers' Docker client, which brings the registry's credentials as its own pulls do.
     */
    private static void pullOnceIfMissing(DockerImageName requested) {
        DockerImageName name = ImageNameSubstitutor.instance().apply(requested);
        DockerClient docker = DockerClientFactory.instance().client();
        try {
            docker.inspectImageCmd(name.asCanonicalNameString()).exec();
            return;
        } catch (NotFoundException missing) {
            // Pulled below.
        }
        String described = name.asCanonicalNameString().equals(requested.asCanonicalNameString())
                ? name.asCanonicalNameString()
                : name.asCanonicalNameString() + " (" + requested.asCanonicalNameString()
                        + " after Testcontainers' image name substitution)";
        try {
            docker.pullImageCmd(name.getUnversionedPart()).withTag(name.getVersionPart()).start().awaitCompletion();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while pulling image " + described, e);
        } catch (RuntimeException e) {
            throw new IllegalStateException("image " + described + " is not on this machine and could not be pulled: "
                    + e.getMessage(), e);
        }
    }

    /** The innermost cause of a failed start, in a phrase: Testcontainers wraps the reason a few levels deep. */
    static String describe(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 20; depth++) {
            root = root.getCause();
        }
        return root == failure ? String.valueOf(failure.getMessage())
                : failure.getMessage() + ": " + root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
