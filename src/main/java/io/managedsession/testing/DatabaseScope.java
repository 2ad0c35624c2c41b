package io.managedsession.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.TimeUnit;

import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.tools.jdbc.DefaultConnection;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;

/**
 * What one test class (or test) got: its database, a SessionManager on it, and a DSLContext that follows the
 * current transaction. Closing closes the SessionManager and drops the database.
 */
final class DatabaseScope implements AutoCloseable {

    /** How long a transaction seen on the server after a test may take to go away before it counts as leaked. */
    private static final Duration SETTLE_TIME = Duration.ofSeconds(2);

    private final SharedServer shared;
    private final TestDatabase database;
    private final SessionManager sessions;
    private final DSLContext dsl;

    private DatabaseScope(SharedServer shared, TestDatabase database, SessionManager sessions) {
        this.shared = shared;
        this.database = database;
        this.sessions = sessions;
        this.dsl = followingCurrentTransaction(sessions);
    }

    static DatabaseScope open(SharedServer shared, String owner, DatabaseTest settings) throws SQLException {
        TestDatabase database = shared.createDatabase(owner, List.of(settings.migrations()));
        try {
            SessionManager sessions = database.sessionManagerBuilder()
                    .name(database.name())
                    .maximumPoolSize(Math.max(1, settings.maximumPoolSize()))
                    .connectionTimeout(Duration.ofSeconds(10))
                    .closeTimeout(Duration.ofSeconds(5))
                    .build();
            return new DatabaseScope(shared, database, sessions);
        } catch (RuntimeException e) {
            shared.dropDatabase(database);
            throw e;
        }
    }

    TestDatabase database() {
        return database;
    }

    SessionManager sessions() {
        return sessions;
    }

    DSLContext dsl() {
        return dsl;
    }

    /**
     * A DSLContext that runs in the calling thread's current transaction when there is one, and otherwise runs each
     * statement on its own (auto-commit) on the test's pool. In rollback mode that is the test's transaction.
     */
    private static DSLContext followingCurrentTransaction(SessionManager sessions) {
        return DSL.using(new DefaultConfiguration()
                .set(SQLDialect.POSTGRES)
                .set(new CurrentTransactionConnectionProvider(sessions)));
    }

    /** Lends the current transaction's connection, or a pooled one in auto-commit mode when there is none. */
    private static final class CurrentTransactionConnectionProvider implements ConnectionProvider {

        private final SessionManager sessions;

        CurrentTransactionConnectionProvider(SessionManager sessions) {
            this.sessions = sessions;
        }

        @Override
        public Connection acquire() {
            Optional<DSLContext> current = sessions.current();
            if (current.isPresent()) {
                return current.get().configuration().connectionProvider().acquire();
            }
            try {
                return new AutoCommitConnection(sessions.dataSource().getConnection());
            } catch (SQLException e) {
                throw new DataAccessException("Could not get a connection to the test database: " + e.getMessage(), e);
            }
        }

        @Override
        public void release(Connection connection) {
            if (connection instanceof AutoCommitConnection pooled) {
                try {
                    pooled.getDelegate().close();
                } catch (SQLException e) {
                    throw new DataAccessException("Could not return a connection to the test pool", e);
                }
            }
        }
    }

    /** Marks a connection lent outside any transaction, so that release() knows to give it back. */
    private static final class AutoCommitConnection extends DefaultConnection {
        AutoCommitConnection(Connection delegate) {
            super(delegate);
        }
    }

    /**
     * Describes what the test left behind: a transaction on the test thread, connections of the injected pool not
     * returned, transactions still open on the server. Empty when nothing leaked.
     */
    List<String> leaks() throws SQLException, InterruptedException {
        List<String> leaks = new ArrayList<>();
        if (sessions.current().isPresent()) {
            leaks.add("a transaction of the injected SessionManager is still open on the test thread");
        }
        if (sessions.dataSource() instanceof HikariDataSource hikari && hikari.getHikariPoolMXBean() != null) {
            HikariPoolMXBean pool = hikari.getHikariPoolMXBean();
            if (pool.getActiveConnections() > 0) {
                leaks.add(pool.getActiveConnections() + " connection(s) of the injected SessionManager were not"
                        + " returned to its pool (total=" + pool.getTotalConnections() + ", active="
                        + pool.getActiveConnections() + ", idle=" + pool.getIdleConnections() + "): a connection taken"
                        + " from sessions.dataSource() was not closed, or a transaction still runs on another thread");
            }
        }
        leaks.addAll(openTransactionsOnServer());
        return leaks;
    }

    /** Transactions other sessions still hold on the test's database, given a moment to end on their own. */
    private List<String> openTransactionsOnServer() throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + SETTLE_TIME.toNanos();
        try (Connection connection = database.connect();
             PreparedStatement query = connection.prepareStatement("SELECT pid, application_name, state,"
                     + " now() - xact_start, left(query, 200) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                     + " AND backend_type = 'client backend'")) {
            while (true) {
                List<String> open = new ArrayList<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        open.add("a transaction left open on the server: pid " + rows.getInt(1) + ", application '"
                                + rows.getString(2) + "', " + rows.getString(3) + " for " + rows.getString(4)
                                + ", last statement: " + rows.getString(5));
                    }
                }
                if (open.isEmpty() || System.nanoTime() > deadline) {
                    return open;
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }
    }

    @Override
    public void close() throws SQLException {
        try {
            sessions.close();
        } finally {
            shared.dropDatabase(database);
        }
    }
}
