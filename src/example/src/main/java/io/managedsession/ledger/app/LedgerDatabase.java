package io.managedsession.ledger.app;

import java.nio.file.Path;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicBoolean;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionManager;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;

/**
 * The application's database and its SessionManager: a URL when one is given (flag, system property or environment
 * variable), otherwise an embedded PostgreSQL 18 whose data persists in a directory between runs. Migrations run at
 * startup. Closing stops both, in order.
 */
final class LedgerDatabase implements AutoCloseable {

    /** Environment variable that moves the embedded server's data directory. */
    static final String DATA_DIR_ENV = "LEDGER_DATA_DIR";

    private static final Logger log = LoggerFactory.getLogger(LedgerDatabase.class);

    private final PostgresDatabase database;
    private final SessionManager sessions;
    private final AtomicBoolean closed = new AtomicBoolean();
    private Thread shutdownHook;

    private LedgerDatabase(PostgresDatabase database, SessionManager sessions) {
        this.database = database;
        this.sessions = sessions;
    }

    /** The default data directory of the embedded server: {@code ~/.managed-session/ledger/pgdata}. */
    static Path defaultDataDirectory() {
        String fromEnvironment = System.getenv(DATA_DIR_ENV);
        if (fromEnvironment != null && !fromEnvironment.isBlank()) {
            return Path.of(fromEnvironment);
        }
        return Path.of(System.getProperty("user.home"), ".managed-session", "ledger", "pgdata");
    }

    /**
     * Finds or starts the database and opens a SessionManager on it, migrated.
     *
     * @param withShutdownHook whether a JVM shutdown (Ctrl-C) closes it; callers that order their own shutdown
     *                         pass {@code false}
     */
    static LedgerDatabase open(String url, String username, String password, Path dataDirectory, int poolSize,
            boolean withShutdownHook) {
        PostgresDatabase database = DatabaseResolver.fromEnvironment()
                .withoutTestcontainers()
                .withEmbeddedDataDirectory(dataDirectory)
                .withUrl(url, username, password)
                .resolve();
        try {
            SessionManager.Builder builder = SessionManager.builder()
                    .name("ledger")
                    .jdbcUrl(database.jdbcUrl())
                    .maximumPoolSize(poolSize)
                    .connectionTimeout(Duration.ofSeconds(5))
                    .migrateOnStart(true);
            if (database.username() != null) {
                builder.username(database.username());
            }
            if (database.password() != null) {
                builder.password(database.password());
            }
            LedgerDatabase opened = new LedgerDatabase(database, builder.build());
            if (withShutdownHook) {
                opened.shutdownHook = new Thread(opened::close, "ledger-database-shutdown");
                Runtime.getRuntime().addShutdownHook(opened.shutdownHook);
            }
            return opened;
        } catch (RuntimeException e) {
            closeQuietly(database, e);
            throw e;
        }
    }

    PostgresDatabase database() {
        return database;
    }

    SessionManager sessions() {
        return sessions;
    }

    /** Closes the SessionManager, then stops the embedded server (if any); only the first call does anything. */
    @Override
    public void close() {
        if (!closed.compareAndSet(false, true)) {
            return;
        }
        if (shutdownHook != null && Thread.currentThread() != shutdownHook) {
            try {
                Runtime.getRuntime().removeShutdownHook(shutdownHook);
            } catch (IllegalStateException alreadyShuttingDown) {
                // The hook is running or about to; closing here first is fine, it will find nothing to do.
            }
        }
        try {
            sessions.close();
        } finally {
            closeQuietly(database, null);
        }
    }

    private static void closeQuietly(PostgresDatabase database, Throwable primary) {
        try {
            database.close();
        } catch (Exception e) {
            if (primary != null) {
                primary.addSuppressed(e);
            } else {
                log.warn("Could not stop the database {} cleanly", database, e);
            }
        }
    }
}
