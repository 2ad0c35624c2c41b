package io.managedsession.testing;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.function.Consumer;

import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.tools.jdbc.DefaultConnection;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.ReflectionSupport;

import io.managedsession.SessionManager;

/**
 * What one test class (or test) got: its database, a SessionManager on it, and a DSLContext that follows the
 * current transaction. Closing closes the SessionManager and drops the database.
 *
 * <p>A {@code CloseableResource} as well as {@code AutoCloseable}, as {@link SharedServer} is: the extension closes it
 * after its class or test, and JUnit closes it with the store where that never came (its instance could not be made).
 */
@SuppressWarnings("deprecation") // CloseableResource: deprecated since JUnit 5.13, the only kind 5.12 closes
final class DatabaseScope implements AutoCloseable, ExtensionContext.Store.CloseableResource {

    private final SharedServer shared;
    private final TestDatabase database;
    private final SessionManager sessions;
    private final DSLContext dsl;

    // Tests of a class may run at the same time (JUnit's parallel execution). What one finds in the shared pool or on
    // the server while another runs may be the other's, so the pool and the server are looked at when no test of
    // the database runs, and what was found stays the baseline, so that a leak is reported once, not after every
    // later test. Guarded by this object's monitor, which a look holds, so that no test starts during one.
    /** The tests running on the database now, by JUnit's unique id, with the names messages give them. */
    private final Map<String, String> running = new LinkedHashMap<>();
    /** The tests that ran since the last look, any of which may have left what the next one finds. */
    private final Map<String, String> sinceLastLook = new LinkedHashMap<>();
    private LeakCheck.Found lastFound = LeakCheck.Found.NOTHING;

    private DatabaseScope(SharedServer shared, TestDatabase database, SessionManager sessions,
            Consumer<? super DefaultConfiguration> jooq) {
        this.shared = shared;
        this.database = database;
        this.sessions = sessions;
        this.dsl = followingCurrentTransaction(sessions, jooq);
    }

    static DatabaseScope open(SharedServer shared, String owner, DatabaseTest settings) throws SQLException {
        TestDatabase database = shared.createDatabase(owner,
                new SharedServer.Migrated(List.of(settings.migrations()), settings.migrationConfiguration()));
        try {
            SessionManager.Builder builder = database.sessionManagerBuilder()
                    .name(database.name())
                    .maximumPoolSize(Math.max(1, settings.maximumPoolSize()))
                    .connectionTimeout(Duration.ofSeconds(10))
                    .closeTimeout(Duration.ofSeconds(5));
            Consumer<? super DefaultConfiguration> jooq = unchanged -> { };
            if (settings.jooqConfiguration() != DatabaseTest.JooqDefaults.class) {
                jooq = ReflectionSupport.newInstance(settings.jooqConfiguration());
                builder.jooqConfiguration(jooq);
            }
            return new DatabaseScope(shared, database, builder.build(), jooq);
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
     * Notes that a test of the database begins.
     *
     * @param id   JUnit's unique id of the test
     * @param name what messages call it
     */
    synchronized void testStarted(String id, String name) {
        running.put(id, name);
        sinceLastLook.put(id, name);
    }

    /**
     * Checks what the test {@code id} left open, now that it has ended: a transaction on its thread at once; the pool
     * and the server once no other test of the database runs. What is found there then is reported after the test
     * that ends last, naming every test that ran since the last look when there was more than one.
     *
     * @throws AssertionError naming what was left open
     */
    void testEnded(String id) {
        List<String> leaks = new ArrayList<>(LeakCheck.onTestThread(sessions));
        synchronized (this) {
            running.remove(id);
            if (running.isEmpty()) {
                LeakCheck.Found found = LeakCheck.look(database, sessions, lastFound);
                List<String> left = found.since(lastFound, sessions.name());
                if (!left.isEmpty() && sinceLastLook.size() > 1) {
                    left.add("what is listed here may have been left by any one of the tests that ran at the same time"
                            + " on this database: " + String.join(", ", sinceLastLook.values()));
                }
                leaks.addAll(left);
                lastFound = found;
                sinceLastLook.clear();
            }
        }
        LeakCheck.failIfAny(database, leaks);
    }

    /**
     * A DSLContext that runs in the calling thread's current transaction when there is one, and otherwise runs each
     * statement on its own (auto-commit) on the test's pool. In rollback mode that is the test's transaction.
     */
    private static DSLContext followingCurrentTransaction(SessionManager sessions,
            Consumer<? super DefaultConfiguration> jooq) {
        DefaultConfiguration configuration = new DefaultConfiguration();
        configuration.set(SQLDialect.POSTGRES);
        // The manager's build ran the customizer first and refused what would take the connection's place.
        jooq.accept(configuration);
        return DSL.using(configuration.set(new CurrentTransactionConnectionProvider(sessions)));
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
