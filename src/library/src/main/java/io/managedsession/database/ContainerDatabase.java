package io.managedsession.database;

import java.io.IOException;
import java.lang.reflect.Constructor;
import java.net.URI;
import java.util.Optional;
import java.util.UUID;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;
import org.testcontainers.DockerClientFactory;
import org.testcontainers.containers.GenericContainer;
import org.testcontainers.containers.PostgreSQLContainer;
import org.testcontainers.dockerclient.DockerClientConfigUtils;
import org.testcontainers.dockerclient.DockerClientProviderStrategy;
import org.testcontainers.dockerclient.TransportConfig;
import org.testcontainers.utility.DockerImageName;
import org.testcontainers.utility.ImageNameSubstitutor;
import org.testcontainers.utility.ResourceReaper;
import org.testcontainers.utility.TestcontainersConfiguration;

import com.github.dockerjava.api.DockerClient;
import com.github.dockerjava.api.exception.NotFoundException;

/**
 * The Testcontainers source. Only {@link DatabaseResolver} touches this class, and only after it found Testcontainers
 * on the class path, so the optional dependency is never needed otherwise.
 */
final class ContainerDatabase {

    private static final Logger log = LoggerFactory.getLogger(ContainerDatabase.class);

    /** Testcontainers' helper container, started before any other unless {@code TESTCONTAINERS_RYUK_DISABLED=true}. */
    private static final String RYUK_CONTAINER = "org.testcontainers.utility.RyukContainer";
    private static final String RYUK_REAPER = "org.testcontainers.utility.RyukResourceReaper";
    /** Testcontainers' setting for the address of the Docker host's published ports. */
    private static final String HOST_OVERRIDE = "TESTCONTAINERS_HOST_OVERRIDE";

    /** The container's superuser and its first database. */
    private static final String USER = "managed_session";

    /** The label of the containers kept for reuse: {@code docker ps --filter label=io.managedsession.database}. */
    private static final String REUSED_LABEL = "io.managedsession.database";

    private ContainerDatabase() {
    }

    /**
     * Whether Testcontainers can start containers here, and if not, why.
     *
     * @param engine  where the engine that answered listens ({@code unix:///var/run/docker.sock}, a Podman socket, a
     *                {@code tcp://} address), for the log; {@code null} when none answered
     * @param problem why containers cannot be started, as a phrase for the log; {@code null} when they can
     * @param remedy  what the developer can do about it, as a sentence, or {@code ""}
     */
    record DockerCheck(String engine, String problem, String remedy) {

        /** Whether a Docker engine answered. */
        boolean answered() {
            return engine != null;
        }

        boolean usable() {
            return problem == null;
        }
    }

    /**
     * Finds the Docker engine and gets Testcontainers ready to start containers on it, which includes starting its
     * Ryuk container. Ryuk's image is looked for first, and pulled once if missing, the way {@link #start} does for
     * PostgreSQL's: Testcontainers itself retries a failed pull of it for minutes before the engine counts as
     * unusable, and a run on a machine that reaches no registry would wait that long in every JVM.
     */
    static DockerCheck checkDocker() {
        TransportConfig transport;
        try {
            // Finds and pings the engine, without starting Ryuk as client() does.
            transport = DockerClientFactory.instance().getTransportConfig();
        } catch (RuntimeException e) {
            return new DockerCheck(null, "no Docker engine answered", "");
        }
        // Which engine answered, worth saying where a machine has more than one (Docker and Podman, Docker Desktop
        // and a remote one): without any user part the address might carry.
        URI host = transport.getDockerHost();
        String engine = host.getHost() == null ? host.getScheme() + "://" + host.getPath()
                : host.getScheme() + "://" + host.getHost() + (host.getPort() < 0 ? "" : ":" + host.getPort());
        Optional<DockerImageName> ryuk = ryukImage();
        if (ryuk.isPresent()) {
            try (DockerClient docker = DockerClientProviderStrategy.getClientForConfig(transport)) {
                pullOnceIfMissing(docker, ryuk.get(), "Testcontainers' Ryuk image "
                        + ryuk.get().asCanonicalNameString());
            } catch (RuntimeException e) {
                return new DockerCheck(engine, "Testcontainers could not start its Ryuk container, which it starts"
                        + " before any other: " + e.getMessage(), "On a machine that reaches no registry, set"
                        + " TESTCONTAINERS_RYUK_DISABLED=true, or keep image " + ryuk.get().asCanonicalNameString()
                        + " there.");
            } catch (IOException e) {
                log.debug("Closing the Docker client that looked for Ryuk's image failed", e);
            }
        }
        try {
            DockerClientFactory.instance().client();
            return new DockerCheck(engine, null, "");
        } catch (RuntimeException e) {
            return new DockerCheck(engine, "Testcontainers could not get ready: " + describe(e), insideAContainer()
                    ? "Inside a container (a CI job given the host's Docker socket, say), Testcontainers finds the"
                    + " Docker host's address, where the engine's bridge network names no gateway, by running a small"
                    + " image unless " + HOST_OVERRIDE + " names it: set it (localhost where this container shares the"
                    + " host's network), or keep that image on the engine."
                    : "");
        }
    }

    /** Whether this JVM runs in a container, as Testcontainers decides it, with no Docker host address given. */
    private static boolean insideAContainer() {
        try {
            String override = System.getenv(HOST_OVERRIDE);
            return DockerClientConfigUtils.IN_A_CONTAINER && (override == null || override.isBlank());
        } catch (LinkageError e) {
            return false;
        }
    }

    /**
     * The image Testcontainers will start Ryuk from, after its image name substitution (a registry mirror's
     * prefix, say), when Ryuk is enabled; empty when it is disabled or its image cannot be named. The name is asked
     * of Testcontainers' own Ryuk container class, whose image tag changes with Testcontainers' version, with a pull
     * policy that never pulls; where a Testcontainers version has no such class the check is skipped. It is looked
     * for and pulled through a client of Testcontainers' making, with the registry credentials its own pulls use.
     */
    private static Optional<DockerImageName> ryukImage() {
        try {
            if (!ResourceReaper.instance().getClass().getName().equals(RYUK_REAPER)) {
                return Optional.empty();
            }
            Constructor<?> constructor = Class.forName(RYUK_CONTAINER, false, ContainerDatabase.class.getClassLoader())
                    .getDeclaredConstructor();
            constructor.setAccessible(true);
            try (GenericContainer<?> ryuk = (GenericContainer<?>) constructor.newInstance()) {
                return Optional.of(DockerImageName.parse(
                        ryuk.withImagePullPolicy(image -> false).getDockerImageName()));
            }
        } catch (ReflectiveOperationException | RuntimeException | LinkageError e) {
            log.debug("Could not name Ryuk's image ahead of Testcontainers; it is not looked for first", e);
            return Optional.empty();
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
     * Pulls an image this machine does not have, once. Testcontainers would retry a failed pull for minutes (its
     * {@code pull.timeout}, 120 s, at pauses that double, so the last attempt ends well after it); on a machine that
     * reaches no registry (offline, air-gapped) the first attempt fails at once and says why, and that is enough to
     * decide.
     *
     * <p>The image looked for and pulled is the one Testcontainers will start: the name after its image name
     * substitution, which a developer configures to take Docker Hub's images from a mirror of the company's
     * ({@code hub.image.name.prefix}, or an {@code image.substitutor} of their own). The pull goes through
     * Testcontainers' Docker client, which brings the registry's credentials as its own pulls do.
     */
    private static void pullOnceIfMissing(DockerImageName requested) {
        DockerImageName name = ImageNameSubstitutor.instance().apply(requested);
        String described = name.asCanonicalNameString().equals(requested.asCanonicalNameString())
                ? "image " + name.asCanonicalNameString()
                : "image " + name.asCanonicalNameString() + " (" + requested.asCanonicalNameString()
                        + " after Testcontainers' image name substitution)";
        pullOnceIfMissing(DockerClientFactory.instance().client(), name, described);
    }

    /**
     * Pulls {@code name}, as it is (substituted already), through {@code docker} if the engine does not have it.
     *
     * @param described the image in the words of an error message
     * @throws IllegalStateException naming the image and the pull's error when it could not be pulled
     */
    private static void pullOnceIfMissing(DockerClient docker, DockerImageName name, String described) {
        try {
            docker.inspectImageCmd(name.asCanonicalNameString()).exec();
            return;
        } catch (NotFoundException missing) {
            // Pulled below.
        }
        ImagePullOutcome outcome = new ImagePullOutcome();
        try {
            docker.pullImageCmd(name.getUnversionedPart()).withTag(name.getVersionPart()).exec(outcome)
                    .awaitCompletion();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while pulling " + described, e);
        } catch (RuntimeException e) {
            outcome.onError(e);
        }
        String reason = outcome.failureReason();
        if (reason == null) {
            try {
                docker.inspectImageCmd(name.asCanonicalNameString()).exec();
                return;
            } catch (NotFoundException stillMissing) {
                reason = "the engine reported no error, yet does not have it afterwards";
            }
        }
        throw new IllegalStateException(described + " is not on this machine and could not be pulled: " + reason,
                outcome.failure());
    }

    /**
     * The innermost cause of a failed start, in a phrase: Testcontainers wraps the reason a few levels deep. Left out
     * where the message says it already (the failed pull quotes the engine's error), so it is said once.
     */
    static String describe(Throwable failure) {
        Throwable root = failure;
        for (int depth = 0; root.getCause() != null && root.getCause() != root && depth < 20; depth++) {
            root = root.getCause();
        }
        String message = String.valueOf(failure.getMessage());
        String rootMessage = String.valueOf(root.getMessage()).strip();
        return root == failure || message.contains(rootMessage) ? message
                : message + ": " + root.getClass().getSimpleName() + ": " + root.getMessage();
    }
}
