package io.managedsession.support;

import java.io.IOException;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * An embedded PostgreSQL that a test starts, and may stop, restart or reconfigure, for itself: never the shared test
 * server. Restarting keeps the data directory and the port, so that pools pointed at it recover by themselves.
 */
public final class OwnPostgres implements AutoCloseable {

    private final Path dataDirectory;
    private final int port;
    private EmbeddedPostgres server;

    private OwnPostgres(Path dataDirectory, int port, EmbeddedPostgres server) {
        this.dataDirectory = dataDirectory;
        this.port = port;
        this.server = server;
    }

    /** Starts a fresh server with its data in {@code dataDirectory}. */
    public static OwnPostgres start(Path dataDirectory) throws IOException {
        // Not "clean": zonky would delete the data directory when the server stops, and restart() needs it.
        EmbeddedPostgres server = EmbeddedPostgres.builder().setDataDirectory(dataDirectory.toFile())
                .setCleanDataDirectory(false).start();
        return new OwnPostgres(dataDirectory, server.getPort(), server);
    }

    public int port() {
        return port;
    }

    /** The superuser's JDBC URL of one of the server's databases. */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** Runs statements as the superuser on a database, in auto-commit mode. */
    public void execute(String database, String... statements) throws SQLException {
        try (Connection connection = DriverManager.getConnection(jdbcUrl(database), "postgres", null);
             Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    /** Stops the server ("fast" shutdown: open sessions are disconnected, running transactions roll back). */
    public void stop() throws IOException {
        server.close();
        server = null;
    }

    /** Starts it again on the same data directory and port. */
    public void restart() throws IOException {
        server = EmbeddedPostgres.builder().setDataDirectory(dataDirectory.toFile()).setCleanDataDirectory(false)
                .setPort(port).start();
    }

    @Override
    public void close() throws IOException {
        if (server != null) {
            server.close();
        }
    }
}
