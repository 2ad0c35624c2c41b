package io.managedsession.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;

import io.managedsession.SessionManager;
import io.managedsession.database.PostgresDatabase;

/**
 * A database of a test class's own on the shared test server, and the checks the tests make from a second
 * connection.
 */
public final class TestDatabase {

    private final PostgresDatabase server;
    private final String name;

    TestDatabase(PostgresDatabase server, String name) {
        this.server = server;
        this.name = name;
    }

    /**
     * Creates another database on the same server, empty, for a test that needs one of its own (for example to
     * migrate it from nothing). The test drops it with {@link #drop()}.
     */
    public TestDatabase emptySibling() {
        String sibling = (name.length() > 50 ? name.substring(0, 50) : name) + "_"
                + java.util.UUID.randomUUID().toString().substring(0, 8);
        try {
            server.createDatabase(sibling, null);
        } catch (SQLException e) {
            throw new AssertionError("Could not create database " + sibling, e);
        }
        return new TestDatabase(server, sibling);
    }

    /** Drops this database, disconnecting whoever is still connected. */
    public void drop() {
        try {
            server.dropDatabase(name);
        } catch (SQLException e) {
            throw new AssertionError("Could not drop database " + name, e);
        }
    }

    /** The database's name. */
    public String name() {
        return name;
    }

    /** The server it lives on. */
    public PostgresDatabase server() {
        return server;
    }

    public String jdbcUrl() {
        return server.jdbcUrl(name);
    }

    public String username() {
        return server.username();
    }

    public String password() {
        return server.password();
    }

    /** The server's host, as the JDBC URL names it. */
    public String host() {
        return org.postgresql.Driver.parseURL(jdbcUrl(), null).getProperty("PGHOST").split(",")[0];
    }

    /** The server's port, as the JDBC URL names it. */
    public int port() {
        return Integer.parseInt(org.postgresql.Driver.parseURL(jdbcUrl(), null).getProperty("PGPORT").split(",")[0]);
    }

    /** A builder pointed at this database, with a small pool and short timeouts to suit tests. */
    public SessionManager.Builder sessions() {
        return sessionsVia(jdbcUrl());
    }

    /** Like {@link #sessions()}, with this database's credentials but another URL (for example through a proxy). */
    public SessionManager.Builder sessionsVia(String url) {
        SessionManager.Builder builder = SessionManager.builder()
                .jdbcUrl(url)
                .maximumPoolSize(4)
                .connectionTimeout(Duration.ofSeconds(10))
                .closeTimeout(Duration.ofSeconds(10));
        if (username() != null) {
            builder.username(username());
        }
        if (password() != null) {
            builder.password(password());
        }
        return builder;
    }

    /** A second connection, outside any managed transaction, in auto-commit mode. The caller closes it. */
    public Connection observer() throws SQLException {
        return server.connect(name);
    }

    /** Runs a query that returns one number, on a fresh observer connection. */
    public long queryLong(String sql, Object... parameters) {
        try (Connection connection = observer(); PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setObject(i + 1, parameters[i]);
            }
            try (ResultSet rows = statement.executeQuery()) {
                if (!rows.next()) {
                    throw new AssertionError("No row from: " + sql);
                }
                return rows.getLong(1);
            }
        } catch (SQLException e) {
            throw new AssertionError("Observer query failed: " + sql, e);
        }
    }

    /** Runs a statement on a fresh observer connection. */
    public void execute(String sql) {
        try (Connection connection = observer()) {
            connection.createStatement().execute(sql);
        } catch (SQLException e) {
            throw new AssertionError("Observer statement failed: " + sql, e);
        }
    }

    /** How many rows a table has, as a second connection sees it. */
    public long rowCount(String table) {
        return queryLong("SELECT count(*) FROM " + table);
    }

    /** Whether a table exists in the public schema. */
    public boolean tableExists(String table) {
        return queryLong("SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                + " AND table_name = ?", table) > 0;
    }

    /** Sessions of this database that sit inside an open transaction without doing anything. */
    public long idleInTransaction() {
        return queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = ?"
                + " AND state LIKE 'idle in transaction%'", name);
    }

    /** Backends connected to this database under an application name. */
    public long backends(String applicationName) {
        return queryLong("SELECT count(*) FROM pg_stat_activity WHERE datname = ? AND application_name = ?",
                name, applicationName);
    }
}
