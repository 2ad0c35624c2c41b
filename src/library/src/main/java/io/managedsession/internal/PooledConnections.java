package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.ConnectionUnavailableException;
import io.managedsession.SessionManager;

/**
 * Takes connections from the manager's DataSource and gives them back, turning failures into clear errors.
 *
 * <p>For a pool the manager owns, transactions are admitted first come, first served: a fair semaphore with one
 * permit per pooled connection. HikariCP hands a returned connection preferably to the thread that returned it, so a
 * few busy threads can keep connections among themselves while others wait until they time out; with many threads per
 * connection (a virtual thread per request) that unfairness shows as seconds of tail latency. Queueing in arrival
 * order costs an uncontended compare-and-set per transaction.
 */
final class PooledConnections {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final DataSource dataSource;
    private final String managerName;
    private final Semaphore admission;
    private final long admissionTimeoutNanos;

    private PooledConnections(DataSource dataSource, String managerName, Semaphore admission,
            long admissionTimeoutNanos) {
        this.dataSource = dataSource;
        this.managerName = managerName;
        this.admission = admission;
        this.admissionTimeoutNanos = admissionTimeoutNanos;
    }

    /** Connections taken straight from the DataSource, in whatever order it hands them out. */
    static PooledConnections direct(DataSource dataSource, String managerName) {
        return new PooledConnections(dataSource, managerName, null, 0);
    }

    /**
     * Connections from a pool the manager owns, admitted in arrival order.
     *
     * @param permits          the pool's size
     * @param admissionTimeout how long a transaction may queue, the pool's connection timeout
     */
    static PooledConnections fair(DataSource dataSource, String managerName, int permits, Duration admissionTimeout) {
        return new PooledConnections(dataSource, managerName, new Semaphore(permits, true),
                admissionTimeout.toNanos());
    }

    /**
     * Takes a connection for a new transaction.
     *
     * @param alreadyHeld how many connections of this pool the calling thread holds in suspended transactions
     */
    Connection acquire(int alreadyHeld) {
        if (admission != null) {
            admit(alreadyHeld);
        }
        try {
            Connection connection = dataSource.getConnection();
            if (connection == null) {
                throw new ConnectionUnavailableException("The DataSource of SessionManager '" + managerName
                        + "' returned no connection (null)", null);
            }
            return connection;
        } catch (SQLException e) {
            releaseAdmission();
            throw unavailable(e, alreadyHeld);
        } catch (RuntimeException | Error e) {
            releaseAdmission();
            throw e;
        }
    }

    private void admit(int alreadyHeld) {
        boolean admitted;
        try {
            admitted = admission.tryAcquire(admissionTimeoutNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(new SQLTransientConnectionException(managerName + " - Interrupted while waiting for"
                    + " a connection", "08001", e), alreadyHeld);
        }
        if (!admitted) {
            String numbers = dataSource instanceof HikariDataSource hikari && hikari.getHikariPoolMXBean() != null
                    ? " (total=" + hikari.getHikariPoolMXBean().getTotalConnections() + ", active="
                            + hikari.getHikariPoolMXBean().getActiveConnections() + ", idle="
                            + hikari.getHikariPoolMXBean().getIdleConnections() + ", waiting="
                            + admission.getQueueLength() + ")"
                    : " (waiting=" + admission.getQueueLength() + ")";
            throw unavailable(new SQLTransientConnectionException(managerName + " - Connection is not available,"
                    + " request timed out after " + TimeUnit.NANOSECONDS.toMillis(admissionTimeoutNanos) + "ms"
                    + numbers, "08001"), alreadyHeld);
        }
    }

    private void releaseAdmission() {
        if (admission != null) {
            admission.release();
        }
    }

    /**
     * Gives a connection back. A connection whose transaction did not end cleanly is evicted from a HikariCP pool
     * rather than reused: its state on the server is unknown.
     */
    void release(Connection connection, boolean reusable, Throwable primaryFailure) {
        try {
            giveBack(connection, reusable, primaryFailure);
        } finally {
            releaseAdmission();
        }
    }

    private void giveBack(Connection connection, boolean reusable, Throwable primaryFailure) {
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
