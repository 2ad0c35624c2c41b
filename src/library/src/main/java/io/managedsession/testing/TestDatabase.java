package io.managedsession.testing;

import java.sql.Connection;
import java.sql.SQLException;

import io.managedsession.SessionManager;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.internal.JdbcUrls;

/**
 * The database a {@link DatabaseTest} class (or test) was given: its name and how to connect to it, for tools that
 * need a URL, for a SessionManager configured differently from the injected one, or for checks on a connection of
 * the test's own.
 *
 * <p>Immutable and thread safe.
 */
public final class TestDatabase {

    private final PostgresDatabase server;
    private final String name;

    TestDatabase(PostgresDatabase server, String name) {
        this.server = server;
        this.name = name;
    }

    /**
     * Returns the database's name.
     *
     * @return a name made for this test class or test
     */
    public String name() {
        return name;
    }

    /**
     * Returns the JDBC URL of the database.
     *
     * @return the URL
     */
    public String jdbcUrl() {
        return server.jdbcUrl(name);
    }

    /**
     * Returns the user name, or {@code null} when the URL carries it.
     *
     * @return the user
     */
    public String username() {
        return server.username();
    }

    /**
     * Returns the password, or {@code null} when there is none.
     *
     * @return the password
     */
    public String password() {
        return server.password();
    }

    /**
     * Returns the server the database lives on, shared by all tests of the run.
     *
     * @return the server
     */
    public PostgresDatabase server() {
        return server;
    }

    /**
     * Opens a connection of the caller's own to the database, outside any managed transaction, in auto-commit mode.
     *
     * @return a new connection; the caller closes it
     * @throws SQLException when connecting fails
     */
    public Connection connect() throws SQLException {
        return server.connect(name);
    }

    /**
     * Returns a SessionManager builder pointed at this database, for a test that needs one configured its own way.
     *
     * @return a new builder with the URL and credentials set
     */
    public SessionManager.Builder sessionManagerBuilder() {
        SessionManager.Builder builder = SessionManager.builder().jdbcUrl(jdbcUrl());
        if (username() != null) {
            builder.username(username());
        }
        if (password() != null) {
            builder.password(password());
        }
        return builder;
    }

    /**
     * Checks that {@code sessions} left nothing open on this database: no transaction of it on the calling thread, no
     * connection of its pool still checked out, and no transaction of anyone still open on the server (each is given
     * two seconds to end). The extension checks the injected SessionManager this way after every test; call it for a
     * manager of your own, or in the middle of a test.
     *
     * @param sessions the manager to check
     * @throws AssertionError naming the database and each thing left open
     */
    public void assertNothingLeaked(SessionManager sessions) {
        LeakCheck.assertNothingLeaked(this, sessions);
    }

    @Override
    public String toString() {
        return "TestDatabase[" + name + " at " + JdbcUrls.redact(jdbcUrl()) + "]";
    }
}
