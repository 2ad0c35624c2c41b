package io.managedsession.database;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Objects;
import java.util.Properties;
import java.util.regex.Pattern;

import io.managedsession.SessionException;
import io.managedsession.internal.JdbcUrls;

/**
 * A PostgreSQL server to work with, as chosen by {@link DatabaseResolver}: given by URL, started in a container, or
 * embedded. Closing it stops what the resolver started (a container, an embedded server) and leaves a server that was
 * given by URL alone.
 *
 * <p>Besides the connection details, it can create and drop databases on the server, so that tests can give each test
 * class a database of its own. That needs a role allowed to create databases, which the container and embedded
 * servers always have.
 *
 * <p>Thread safety: immutable apart from {@link #close()}; the administrative methods open a connection per call.
 */
public final class PostgresDatabase implements AutoCloseable {

    /** Where the server came from. */
    public enum Origin {
        /** A JDBC URL given by a system property or an environment variable. */
        EXPLICIT_URL,
        /** A Testcontainers PostgreSQL container, started because a Docker engine answered. */
        TESTCONTAINERS,
        /** An embedded PostgreSQL (zonky), started because neither of the above was available. */
        EMBEDDED
    }

    /** Database names this class creates or drops: plain identifiers, so they need no quoting rules. */
    private static final Pattern DATABASE_NAME = Pattern.compile("[a-z_][a-z0-9_]{0,62}");
    /** SQLSTATE of a statement the user lacks the privilege for. */
    private static final String INSUFFICIENT_PRIVILEGE = "42501";

    private final Origin origin;
    private final String jdbcUrl;
    private final String username;
    private final String password;
    private final AutoCloseable stopper;
    private final boolean keepsDatabases;

    /** A server whose databases outlive the process only when it is given by URL. */
    PostgresDatabase(Origin origin, String jdbcUrl, String username, String password, AutoCloseable stopper) {
        this(origin, jdbcUrl, username, password, stopper, origin == Origin.EXPLICIT_URL);
    }

    PostgresDatabase(Origin origin, String jdbcUrl, String username, String password, AutoCloseable stopper,
            boolean keepsDatabases) {
        this.origin = Objects.requireNonNull(origin, "origin");
        this.jdbcUrl = Objects.requireNonNull(jdbcUrl, "jdbcUrl");
        this.username = username;
        this.password = password;
        this.stopper = stopper;
        this.keepsDatabases = keepsDatabases;
    }

    /**
     * Whether the databases made on this server outlive this process: a server given by URL, a Testcontainers
     * container kept for reuse, an embedded server with a data directory of its own. {@code @DatabaseTest} marks its
     * runs on such a server, so that the next run drops the databases of a run killed before its end.
     *
     * @return {@code true} when they do
     */
    public boolean keepsDatabases() {
        return keepsDatabases;
    }

    /** Returns where the server came from. */
    public Origin origin() {
        return origin;
    }

    /** Returns the JDBC URL of the server's default database. */
    public String jdbcUrl() {
        return jdbcUrl;
    }

    /**
     * Returns the JDBC URL of another database on the same server: the given URL with its database name replaced.
     *
     * @param database the database name
     * @return the URL, with the same host, port and parameters
     */
    public String jdbcUrl(String database) {
        checkName(database);
        return withDatabase(jdbcUrl, database);
    }

    /** Returns the user name, or {@code null} when the URL carries it. */
    public String username() {
        return username;
    }

    /** Returns the password, or {@code null} when there is none or the URL carries it. Never printed. */
    public String password() {
        return password;
    }

    /**
     * Opens a connection to the database of {@link #jdbcUrl()} with this server's credentials.
     *
     * @return a new connection in auto-commit mode; the caller closes it
     * @throws SQLException when the connection fails
     */
    public Connection connect() throws SQLException {
        return DriverManager.getConnection(jdbcUrl, credentials());
    }

    /**
     * Opens a connection to one of the server's databases with this server's credentials.
     *
     * @param database the database name
     * @return a new connection in auto-commit mode; the caller closes it
     * @throws SQLException when the connection fails
     */
    public Connection connect(String database) throws SQLException {
        return DriverManager.getConnection(jdbcUrl(database), credentials());
    }

    /**
     * Creates a database, empty or as a copy of {@code template}.
     *
     * @param name     the new database's name: lower-case letters, digits and underscores
     * @param template the database to copy, or {@code null} for PostgreSQL's default {@code template1}
     * @throws SQLException when PostgreSQL refuses, for example because the template is in use, or the user may not
     *                      create databases (SQLSTATE 42501, with the message naming the user and what it lacks)
     */
    public void createDatabase(String name, String template) throws SQLException {
        checkName(name);
        String sql = "CREATE DATABASE " + name;
        if (template != null) {
            checkName(template);
            sql += " TEMPLATE " + template;
        }
        try {
            executeOnServer(sql);
        } catch (SQLException e) {
            if (!INSUFFICIENT_PRIVILEGE.equals(e.getSQLState())) {
                throw e;
            }
            // The server's message names neither the user nor the fix; a server of the developer's often gives
            // everything the application's role, which has no CREATEDB.
            String user = username != null ? username : JdbcUrls.user(jdbcUrl);
            throw new SQLException("Could not create database " + name + " on " + JdbcUrls.redact(jdbcUrl)
                    + (user == null ? "" : " as user '" + user + "'") + ": " + e.getMessage() + ". The user needs the"
                    + " CREATEDB attribute (ALTER ROLE " + (user == null ? "<user>" : user) + " CREATEDB), or give a"
                    + " user that has it", e.getSQLState(), e);
        }
    }

    /**
     * Drops a database if it exists, disconnecting whoever is still connected to it.
     *
     * @param name the database's name
     * @throws SQLException when PostgreSQL refuses
     */
    public void dropDatabase(String name) throws SQLException {
        checkName(name);
        executeOnServer("DROP DATABASE IF EXISTS " + name + " WITH (FORCE)");
    }

    private void executeOnServer(String sql) throws SQLException {
        try (Connection connection = DriverManager.getConnection(jdbcUrl, credentials());
             Statement statement = connection.createStatement()) {
            statement.execute(sql);
        }
    }

    private Properties credentials() {
        Properties properties = new Properties();
        if (username != null) {
            properties.setProperty("user", username);
        }
        if (password != null) {
            properties.setProperty("password", password);
        }
        return properties;
    }

    /**
     * Stops the container or embedded server that the resolver started; a server given by URL is left running.
     *
     * @throws io.managedsession.SessionException when the server could not be stopped
     */
    @Override
    public void close() {
        if (stopper != null) {
            try {
                stopper.close();
            } catch (Exception e) {
                throw new SessionException("Could not stop " + this + ": " + e.getMessage(), e);
            }
        }
    }

    /** Describes the server without its password. */
    @Override
    public String toString() {
        return "PostgresDatabase[" + origin + ", " + JdbcUrls.redact(jdbcUrl)
                + (username == null ? "" : ", user " + username) + "]";
    }

    private static void checkName(String name) {
        if (name == null || !DATABASE_NAME.matcher(name).matches()) {
            throw new IllegalArgumentException("A database name here must be 1 to 63 lower-case letters, digits or"
                    + " underscores, starting with a letter or underscore, but was '" + name + "'");
        }
    }

    /** Replaces the database part of {@code jdbc:postgresql://hosts/database?params} or {@code jdbc:postgresql:database}. */
    static String withDatabase(String url, String database) {
        String prefix = "jdbc:postgresql:";
        String rest = url.substring(prefix.length());
        int query = rest.indexOf('?');
        String params = query < 0 ? "" : rest.substring(query);
        String path = query < 0 ? rest : rest.substring(0, query);
        if (path.startsWith("//")) {
            int slash = path.indexOf('/', 2);
            String hosts = slash < 0 ? path : path.substring(0, slash);
            return prefix + hosts + "/" + database + params;
        }
        return prefix + database + params;
    }
}
