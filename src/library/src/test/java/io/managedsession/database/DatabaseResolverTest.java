package io.managedsession.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.Map;
import java.util.Properties;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.io.TempDir;
import org.testcontainers.DockerClientFactory;

import io.managedsession.SessionException;
import io.managedsession.support.LogCapture;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The resolver's order: explicit URL, then Testcontainers when Docker answers, then embedded. */
@DatabaseTest(migrations = {})
class DatabaseResolverTest {

    @Test
    void explicitUrlWinsAndIsLoggedWithoutItsPassword(TestDatabase db) throws Exception {
        Properties properties = new Properties();
        String secret = "not-a-real-password-but-secret";
        properties.setProperty(DatabaseResolver.URL_PROPERTY, db.jdbcUrl() + "?password=" + secret);
        if (db.username() != null) { // a URL given without one (trust authentication) logs in as the OS user
            properties.setProperty(DatabaseResolver.USERNAME_PROPERTY, db.username());
        }

        try (LogCapture logs = LogCapture.everything();
             PostgresDatabase database = DatabaseResolver.from(properties, Map.of()).resolve()) {

            assertThat(database.origin()).isEqualTo(PostgresDatabase.Origin.EXPLICIT_URL);
            assertThat(database.keepsDatabases()).as("a server of its own outlives the run").isTrue();
            assertThat(database.jdbcUrl()).startsWith(db.jdbcUrl());
            assertThat(database.toString()).contains("password=***").doesNotContain(secret);
            assertThat(logs.lines()).anyMatch(line -> line.contains("Using the PostgreSQL given by system property"))
                    .noneMatch(line -> line.contains(secret));
        }
    }

    @Test
    void environmentVariableIsReadWhenNoSystemPropertyIsSet(TestDatabase db) throws Exception {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, db.jdbcUrl());
        if (db.username() != null) {
            environment.put(DatabaseResolver.USERNAME_ENV, db.username());
        }
        if (db.password() != null) {
            environment.put(DatabaseResolver.PASSWORD_ENV, db.password());
        }

        try (PostgresDatabase database = DatabaseResolver.from(new Properties(), environment).resolve();
             Connection connection = database.connect(db.name());
             ResultSet rows = connection.createStatement().executeQuery("SELECT current_database()")) {
            assertThat(database.origin()).isEqualTo(PostgresDatabase.Origin.EXPLICIT_URL);
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo(db.name());
        }
    }

    @Test
    void nonPostgresUrlIsRefusedWithoutShowingItsPassword() {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.URL_PROPERTY, "jdbc:mysql://db/app?password=s3cr3t");

        assertThatThrownBy(() -> DatabaseResolver.from(properties, Map.of()).resolve())
                .isInstanceOf(SessionException.class)
                .hasMessageContaining("must start with 'jdbc:postgresql:'")
                .hasMessageNotContaining("s3cr3t");
    }

    @Test
    void withoutUrlOrDockerAnEmbeddedPostgres18IsStartedAndStoppedOnClose() throws Exception {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, "false");
        String url;

        try (PostgresDatabase database = DatabaseResolver.from(properties, Map.of()).resolve()) {
            url = database.jdbcUrl();
            assertThat(database.origin()).isEqualTo(PostgresDatabase.Origin.EMBEDDED);
            assertThat(database.keepsDatabases()).as("its data directory is thrown away").isFalse();
            try (Connection connection = database.connect("postgres");
                 ResultSet rows = connection.createStatement().executeQuery("SHOW server_version_num")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getInt(1)).isBetween(180000, 189999);
            }
        }

        assertThatThrownBy(() -> DriverManager.getConnection(url, "postgres", null).close())
                .as("the embedded server is stopped by close()")
                .isInstanceOf(SQLException.class);
    }

    @Test
    void anEmbeddedServerWithADataDirectoryOfItsOwnKeepsItsDatabasesForTheNextStart(@TempDir Path data)
            throws Exception {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, "false");
        DatabaseResolver resolver = DatabaseResolver.from(properties, Map.of()).withEmbeddedDataDirectory(data);

        try (PostgresDatabase database = resolver.resolve()) {
            assertThat(database.keepsDatabases()).isTrue();
            database.createDatabase("kept", null);
        }
        try (PostgresDatabase database = resolver.resolve();
             Connection connection = database.connect("kept")) {
            assertThat(connection.isValid(5)).isTrue();
        }
    }

    @Test
    @EnabledIf("dockerAvailable")
    void testcontainersIsChosenWhenDockerAnswersAndWantsAPassword() throws Exception {
        try (PostgresDatabase database = DatabaseResolver.from(imageOfThisMachine(), Map.of()).resolve();
             Connection connection = database.connect();
             ResultSet rows = connection.createStatement().executeQuery("SELECT current_user")) {
            assertThat(database.origin()).isEqualTo(PostgresDatabase.Origin.TESTCONTAINERS);
            assertThat(database.keepsDatabases()).as("without Testcontainers' reuse, stopped by close()").isFalse();
            assertThat(database.password()).as("a server with a password, as in production").isNotBlank();
            assertThat(rows.next()).isTrue();
            assertThat(rows.getString(1)).isEqualTo(database.username());
            assertThatThrownBy(() -> DriverManager.getConnection(database.jdbcUrl(), database.username(), "wrong"))
                    .isInstanceOf(SQLException.class).hasMessageContaining("password authentication failed");
        }
    }

    @Test
    @EnabledIf("dockerAvailable")
    void dockerThatCannotStartTheImageFallsBackToEmbeddedWithOneWarningNamingTheCause() {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.IMAGE_PROPERTY, MISSING_IMAGE);

        try (LogCapture logs = LogCapture.everything();
             PostgresDatabase database = DatabaseResolver.from(properties, Map.of()).resolve()) {
            assertThat(database.origin()).isEqualTo(PostgresDatabase.Origin.EMBEDDED);
            assertThat(logs.lines()).filteredOn(line -> line.startsWith("WARN " + DatabaseResolver.class.getName()))
                    .singleElement().asString()
                    .contains(MISSING_IMAGE)
                    .contains("could not be started")
                    .contains("could not be pulled")
                    .contains("The Docker engine at " + DockerClientFactory.instance().getTransportConfig()
                            .getDockerHost() + " answered");
        }
    }

    /** What the resolver says of a missing image before the engine's reason. */
    private static final String NOT_PULLED = "could not be pulled: ";

    @Test
    @EnabledIf("dockerAvailable")
    void testcontainersAskedForExplicitlyFailsWithTheCauseInsteadOfFallingBack() {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.IMAGE_PROPERTY, MISSING_IMAGE);
        properties.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, "true");

        assertThatThrownBy(() -> DatabaseResolver.from(properties, Map.of()).resolve())
                .isInstanceOf(SessionException.class)
                .hasMessageContaining("Testcontainers was asked for")
                .hasMessageContaining(MISSING_IMAGE)
                .hasMessageContaining("could not be pulled")
                .satisfies(failure -> {
                    String message = failure.getMessage();
                    String reason = message.substring(message.indexOf(NOT_PULLED) + NOT_PULLED.length());
                    String reasonStart = reason.substring(0, Math.min(30, reason.length()));
                    assertThat(message.split(Pattern.quote(reasonStart), -1)).as("the engine's reason, said once: %s",
                            message).hasSize(2);
                });
    }

    @Test
    void testcontainersSettingMustBeTrueOrFalse() {
        Properties properties = new Properties();
        properties.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, "yes");

        assertThatThrownBy(() -> DatabaseResolver.from(properties, Map.of()).resolve())
                .isInstanceOf(SessionException.class)
                .hasMessageContaining("must be true (require a container) or false (never start one), but was 'yes'");
    }

    @Test
    void containerImageIsTheResolversThenThePropertyThenTheEnvironmentThenTheDefault() {
        Properties properties = new Properties();
        Map<String, String> environment = new HashMap<>();
        assertThat(DatabaseResolver.from(properties, environment).containerImage()).isEqualTo("postgres:18");

        environment.put(DatabaseResolver.IMAGE_ENV, "mirror.example.com/postgres:18");
        assertThat(DatabaseResolver.from(properties, environment).containerImage())
                .isEqualTo("mirror.example.com/postgres:18");

        properties.setProperty(DatabaseResolver.IMAGE_PROPERTY, "postgres:17");
        DatabaseResolver resolver = DatabaseResolver.from(properties, environment);
        assertThat(resolver.containerImage()).isEqualTo("postgres:17");
        assertThat(resolver.withContainerImage("postgres:16-alpine").containerImage()).isEqualTo("postgres:16-alpine");
        assertThatThrownBy(() -> resolver.withContainerImage(" ")).isInstanceOf(IllegalArgumentException.class);
    }

    /** An image no machine has and no registry serves. */
    private static final String MISSING_IMAGE = "managed-session/no-such-image:0";

    /**
     * Whether Docker answers and Testcontainers can start containers on it, as the resolver decides it: on a machine
     * where Testcontainers cannot start its Ryuk container, the container tests are skipped rather than failed.
     */
    static boolean dockerAvailable() {
        return ContainerDatabase.checkDocker().usable();
    }

    /** The image this machine's Docker is meant to use (MANAGEDSESSION_DATABASE_IMAGE), or the default. */
    private static Properties imageOfThisMachine() {
        Properties properties = new Properties();
        String image = System.getenv(DatabaseResolver.IMAGE_ENV);
        if (image != null && !image.isBlank()) {
            properties.setProperty(DatabaseResolver.IMAGE_PROPERTY, image);
        }
        return properties;
    }

    @Test
    void databaseUrlOfAnotherDatabaseKeepsHostPortAndParameters() {
        assertThat(PostgresDatabase.withDatabase("jdbc:postgresql://h1:5432,h2:5433/app?ssl=true", "other"))
                .isEqualTo("jdbc:postgresql://h1:5432,h2:5433/other?ssl=true");
        assertThat(PostgresDatabase.withDatabase("jdbc:postgresql://localhost/app", "other"))
                .isEqualTo("jdbc:postgresql://localhost/other");
        assertThat(PostgresDatabase.withDatabase("jdbc:postgresql://localhost:5432", "other"))
                .isEqualTo("jdbc:postgresql://localhost:5432/other");
        assertThat(PostgresDatabase.withDatabase("jdbc:postgresql:app?user=u", "other"))
                .isEqualTo("jdbc:postgresql:other?user=u");
    }

    @Test
    void databaseNamesThatWouldNeedQuotingAreRefused(TestDatabase db) {
        assertThatThrownBy(() -> db.server().createDatabase("x; DROP DATABASE postgres", null))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lower-case letters, digits or underscores");
    }
}
