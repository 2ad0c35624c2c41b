package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;

import javax.sql.DataSource;

/**
 * Short-lived connections to the primary, outside the pool, for asking the server about a transaction that went wrong:
 * whether a COMMIT took effect, who held a lock. Outside the pool because the pool may be exhausted or full of
 * connections broken by the same failure; short-lived because it happens rarely, and each question is bounded in time.
 *
 * <p>With a JDBC URL the connection is opened directly by the driver, its login bounded by the time given; with a
 * DataSource passed in, it comes from that DataSource (which bounds the wait for it itself) and only its reads are
 * bounded.
 */
final class SideConnections {

    private final String applicationName;
    private final String jdbcUrl;
    private final String username;
    private final String password;
    private final boolean transactionPooler;
    private final DataSource dataSource;

    private SideConnections(String applicationName, String jdbcUrl, String username, String password,
            boolean transactionPooler, DataSource dataSource) {
        this.applicationName = applicationName;
        this.jdbcUrl = jdbcUrl;
        this.username = username;
        this.password = password;
        this.transactionPooler = transactionPooler;
        this.dataSource = dataSource;
    }

    /** Side connections to the primary of the manager {@code settings} describe, whose pool is {@code primary}. */
    static SideConnections to(ManagerSettings settings, DataSource primary) {
        if (settings.ownsPool()) {
            return new SideConnections(settings.name() + "-side", settings.jdbcUrl(), settings.username(),
                    settings.password(), settings.transactionPooler(), null);
        }
        return new SideConnections(null, null, null, null, false, primary);
    }

    /**
     * Opens a connection in auto-commit mode whose login and reads each take at most {@code millis} (at least one
     * second for the login, the driver's unit), made as Flyway's are at start: unpooled, from the same URL and
     * credentials.
     */
    Connection open(long millis) throws SQLException {
        int limit = (int) Math.max(1, Math.min(Integer.MAX_VALUE, millis));
        Connection connection = dataSource != null ? dataSource.getConnection()
                : HikariPools.unpooled(applicationName, jdbcUrl, username, password, Duration.ofMillis(limit),
                        transactionPooler).getConnection();
        try {
            connection.setNetworkTimeout(Runnable::run, limit);
            if (!connection.getAutoCommit()) {
                connection.setAutoCommit(true);
            }
            return connection;
        } catch (SQLException | RuntimeException e) {
            connection.close();
            throw e;
        }
    }
}
