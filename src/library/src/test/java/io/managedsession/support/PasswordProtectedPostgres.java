package io.managedsession.support;

import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.time.Duration;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * An embedded PostgreSQL of a test's own whose pg_hba.conf asks for a password (SCRAM) from every role but the
 * superuser, with one login role {@value #ROLE}. The shared test server trusts every connection, so a wrong password
 * can only be tested on a server reconfigured like this, which the test starts and stops itself.
 */
public final class PasswordProtectedPostgres implements AutoCloseable {

    public static final String ROLE = "app_user";

    private final EmbeddedPostgres server;
    private final String password;

    private PasswordProtectedPostgres(EmbeddedPostgres server, String password) {
        this.server = server;
        this.password = password;
    }

    /** Starts the server in {@code dataDirectory} with role {@value #ROLE} whose password is {@code password}. */
    public static PasswordProtectedPostgres start(Path dataDirectory, String password) throws IOException, SQLException {
        EmbeddedPostgres server = EmbeddedPostgres.builder().setDataDirectory(dataDirectory.toFile()).start();
        try (Connection admin = server.getPostgresDatabase().getConnection()) {
            admin.createStatement().execute("CREATE ROLE " + ROLE + " LOGIN PASSWORD '" + password.replace("'", "''") + "'");
            Files.writeString(dataDirectory.resolve("pg_hba.conf"), """
                    local all postgres trust
                    host  all postgres 127.0.0.1/32 trust
                    host  all postgres ::1/128      trust
                    host  all all      127.0.0.1/32 scram-sha-256
                    host  all all      ::1/128      scram-sha-256
                    """);
            admin.createStatement().execute("SELECT pg_reload_conf()");
        }
        PasswordProtectedPostgres protectedServer = new PasswordProtectedPostgres(server, password);
        // The postmaster reloads pg_hba.conf asynchronously: wait until a wrong password is refused.
        await().atMost(Duration.ofSeconds(10)).until(protectedServer::refusesWrongPassword);
        return protectedServer;
    }

    public String jdbcUrl() {
        return "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/postgres";
    }

    public String password() {
        return password;
    }

    private boolean refusesWrongPassword() {
        try (Connection ignored = DriverManager.getConnection(jdbcUrl(), ROLE, "certainly-wrong")) {
            return false;
        } catch (SQLException e) {
            return "28P01".equals(e.getSQLState());
        }
    }

    @Override
    public void close() throws IOException {
        server.close();
    }
}
