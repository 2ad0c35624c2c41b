package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.ConnectionUnavailableException;

/** Takes connections from the manager's DataSource and gives them back, turning failures into clear errors. */
public final class PooledConnections {

    private static final Logger log = LoggerFactory.getLogger(PooledConnections.class);

    private final DataSource dataSource;
    private final String managerName;

    public PooledConnections(DataSource dataSource, String managerName) {
        this.dataSource = dataSource;
        this.managerName = managerName;
    }

    /**
     * Takes a connection for a new transaction.
     *
     * @param alreadyHeld how many connections of this pool the calling thread holds in suspended transactions
     */
    Connection acquire(int alreadyHeld) {
        try {
            Connection connection = dataSource.getConnection();
            if (connection == null) {
                throw new ConnectionUnavailableException("The DataSource of SessionManager '" + managerName
                        + "' returned no connection (null)", null);
            }
            return connection;
        } catch (SQLException e) {
            throw unavailable(e, alreadyHeld);
        }
    }

    /**
     * Gives a connection back. A connection whose transaction did not end cleanly is evicted from a HikariCP pool
     * rather than reused: its state on the server is unknown.
     */
    void release(Connection connection, boolean reusable, Throwable primaryFailure) {
        try {
            if (!reusable && dataSource instanceof HikariDataSource hikari) {
                hikari.evictConnection(connection);
            } else {
                connection.close();
            }
        } catch (SQLException | RuntimeException e) {
            if (primaryFailure != null) {
                primaryFailure.addSuppressed(e);
            } else {
                log.warn("SessionManager '{}' could not return a connection to its pool after the transaction ended;"
                        + " the transaction's outcome is not affected", managerName, e);
            }
        }
    }

    private ConnectionUnavailableException unavailable(SQLException e, int alreadyHeld) {
        StringBuilder message = new StringBuilder("SessionManager '").append(managerName)
                .append("' could not get a database connection for a new transaction: ").append(e.getMessage());
        Throwable reason = e.getCause();
        if (reason != null && reason.getMessage() != null && !e.getMessage().contains(reason.getMessage())) {
            message.append("; the last attempt to connect failed with: ").append(reason.getMessage());
        }
        if (alreadyHeld > 0) {
            message.append(". This thread already holds ").append(alreadyHeld).append(" connection(s) of this pool in"
                    + " suspended transactions while it waits for another one (REQUIRES_NEW): this is the"
                    + " pool-starvation pattern, where threads that each hold a connection all wait for a second one"
                    + " and none can go on. Make maximumPoolSize at least threads x (REQUIRES_NEW depth + 1), avoid"
                    + " REQUIRES_NEW on paths that run on many threads, or give that work its own SessionManager");
        }
        if (Thread.currentThread().isInterrupted()) {
            message.append(". The thread was interrupted while it waited; its interrupt flag is kept");
        }
        return new ConnectionUnavailableException(message.toString(), e);
    }
}
