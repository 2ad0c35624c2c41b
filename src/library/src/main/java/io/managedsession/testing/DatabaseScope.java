package io.managedsession.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;
import java.util.Optional;

import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.tools.jdbc.DefaultConnection;

import io.managedsession.SessionManager;

/**
 * What one test class (or test) got: its database, a SessionManager on it, and a DSLContext that follows the
 * current transaction. Closing closes the SessionManager and drops the database.
 */
final class DatabaseScope implements AutoCloseable {

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

    @Override
    public void close() throws SQLException {
        try {
            sessions.close();
        } finally {
            shared.dropDatabase(database);
        }
    }
}
