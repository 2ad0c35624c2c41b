package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLTransientConnectionException;
import java.time.Duration;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.ConnectionUnavailableException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * Takes connections from the manager's DataSource and gives them back, turning failures into clear errors.
 *
 * <p>For a pool the manager owns, transactions are admitted through a semaphore with one permit per pooled
 * connection, so that all waiting for a connection happens here, where a transaction's deadline can bound it; HikariCP
 * itself then only waits when it must open a connection first. The semaphore is fair (first come, first served) unless
 * {@code fairConnectionQueue(false)}: HikariCP hands a returned connection preferably to the thread that returned it,
 * so a few busy threads can keep connections among themselves while others wait until they time out; with many
 * threads per connection (a virtual thread per request) that unfairness shows as seconds of tail latency. Admission
 * costs an uncontended compare-and-set per transaction. When transactions wait, each fair handoff wakes a parked
 * thread, which costs throughput that HikariCP's preference for the returning thread does not pay; a platform thread
 * that hands its permit over yields the CPU to make the handoff quicker.
 *
 * <p>A DataSource passed in by the user is waited on for as long as it waits; the deadline is checked when the
 * connection comes, and an unused connection goes back at once if it has passed.
 *
 * <p>A connection that breaks (the server went away, or a failover moved the primary) is evidence against its
 * siblings: an owned pool then retires its other connections too (idle ones at once, busy ones when they come back),
 * so that the next transactions connect afresh instead of each finding a dead connection in turn. Only a connection
 * taken after the last such retirement can trigger another, so a burst of failures retires the pool once.
 */
final class PooledConnections {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final DataSource dataSource;
    private final HikariDataSource ownedPool;
    private final String managerName;
    private final String server;
    private final Semaphore admission;
    private final long admissionTimeoutNanos;
    /** How many times the pool's connections were retired; a connection taken since the last time may retire them. */
    private final AtomicLong retirements = new AtomicLong();
    private volatile Consumer<SQLException> connectFailureListener = failure -> { };

    private PooledConnections(DataSource dataSource, HikariDataSource ownedPool, String managerName, String server,
            Semaphore admission, long admissionTimeoutNanos) {
        this.dataSource = dataSource;
        this.ownedPool = ownedPool;
        this.managerName = managerName;
        this.server = server;
        this.admission = admission;
        this.admissionTimeoutNanos = admissionTimeoutNanos;
    }

    /**
     * Connections taken straight from a DataSource the manager does not own.
     *
     * @param server what the connections reach, for messages: {@code null} for the primary, else the replica's name
     */
    static PooledConnections of(DataSource dataSource, String managerName, String server) {
        return new PooledConnections(dataSource, null, managerName, server, null, 0);
    }

    /**
     * Connections from a pool the manager owns, admitted through a semaphore of one permit per connection.
     *
     * @param server           what the connections reach: {@code null} for the primary, else the replica's name
     * @param fair             whether waiting transactions are admitted in arrival order
     * @param admissionTimeout how long a transaction may wait, the pool's connection timeout
     */
    static PooledConnections owned(HikariDataSource pool, String managerName, String server, int poolSize,
            boolean fair, Duration admissionTimeout) {
        return new PooledConnections(pool, pool, managerName, server, new Semaphore(poolSize, fair),
                admissionTimeout.toNanos());
    }

    /**
     * Which retirement of the pool's connections a connection taken now comes after: a counter, read with the
     * connection, that needs no clock.
     */
    long generation() {
        return retirements.get();
    }

    /** Tells {@code listener} each time the DataSource fails to hand out a connection (not when admission waits). */
    void onConnectFailure(Consumer<SQLException> listener) {
        this.connectFailureListener = listener;
    }

    /**
     * Takes a connection for a new transaction, waiting no longer than its deadline.
     *
     * @param alreadyHeld how many connections of this pool the calling thread holds in suspended transactions
     * @param deadline    the transaction's deadline, or {@code null}
     * @param options     the transaction's options, for the deadline's message
     * @throws ConnectionUnavailableException when no connection came within the connection timeout
     * @throws io.managedsession.TransactionTimeoutException when the deadline came first
     */
    Connection acquire(int alreadyHeld, Deadline deadline, TransactionOptions options) {
        if (deadline != null && deadline.hasPassed()) {
            // Not even worth a connection: the time ran out before this attempt could begin.
            throw deadline.exceeded(options, null);
        }
        if (admission != null) {
            admit(alreadyHeld, deadline, options);
        }
        Connection connection;
        try {
            connection = dataSource.getConnection();
            if (connection == null) {
                throw new ConnectionUnavailableException("The DataSource of SessionManager '" + managerName
                        + "' returned no connection (null)", null);
            }
        } catch (SQLException e) {
            releaseAdmission();
            connectFailureListener.accept(e);
            throw unavailable(e, alreadyHeld);
        } catch (RuntimeException | Error e) {
            releaseAdmission();
            throw e;
        }
        if (deadline != null && deadline.hasPassed()) {
            // The DataSource made us wait past the deadline: the connection is unused, so it goes back as it came.
            release(connection, true, null, generation());
            throw deadline.exceeded(options, new SQLTransientConnectionException(managerName + " - the connection"
                    + " came after the deadline" + poolNumbers(), "08001"));
        }
        return connection;
    }

    private void admit(int alreadyHeld, Deadline deadline, TransactionOptions options) {
        long waitNanos = admissionTimeoutNanos;
        boolean deadlineFirst = deadline != null && deadline.remainingNanos() < waitNanos;
        if (deadlineFirst) {
            waitNanos = Math.max(0, deadline.remainingNanos());
        }
        boolean admitted;
        try {
            admitted = admission.tryAcquire(waitNanos, TimeUnit.NANOSECONDS);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw unavailable(new SQLTransientConnectionException(managerName + " - Interrupted while waiting for"
                    + " a connection", "08001", e), alreadyHeld);
        }
        if (!admitted) {
            SQLTransientConnectionException timedOut = new SQLTransientConnectionException(managerName
                    + " - Connection is not available, request timed out after "
                    + TimeUnit.NANOSECONDS.toMillis(waitNanos) + "ms" + poolNumbers(), "08001");
            if (deadlineFirst) {
                // A thread that holds connections already waits for one more: say that this is what kept it waiting.
                throw deadline.exceeded(options, alreadyHeld > 0 ? unavailable(timedOut, alreadyHeld) : timedOut);
            }
            throw unavailable(timedOut, alreadyHeld);
        }
    }

    private String poolNumbers() {
        if (ownedPool != null && ownedPool.getHikariPoolMXBean() != null) {
            return " (total=" + ownedPool.getHikariPoolMXBean().getTotalConnections() + ", active="
                    + ownedPool.getHikariPoolMXBean().getActiveConnections() + ", idle="
                    + ownedPool.getHikariPoolMXBean().getIdleConnections() + ", waiting="
                    + (admission == null ? 0 : admission.getQueueLength()) + ")";
        }
        return admission == null ? "" : " (waiting=" + admission.getQueueLength() + ")";
    }

    private void releaseAdmission() {
        if (admission != null) {
            admission.release();
            if (admission.isFair() && admission.hasQueuedThreads() && !Thread.currentThread().isVirtual()) {
                // The permit went to a parked platform thread, which the OS must now wake and run before the
                // connection works again. Giving up the CPU here lets it run at once instead of when this thread
                // next blocks: at 64 threads on 16 connections this took the fair queue's cost from 16 % to 9 % of
                // raw JDBC's throughput (docs/benchmarks). A virtual thread is handed over by the JDK's scheduler
                // without the OS, and is not made to wait for it.
                Thread.yield();
            }
        }
    }

    /**
     * Gives a connection back. A connection whose transaction did not end cleanly is not reused: its state on the
     * server is unknown. An owned HikariCP pool evicts it; any other DataSource (a pool of the user's, or one wrapped
     * by a tracing or logging proxy) gets it aborted first, the standard JDBC way to mark a connection dead, which
     * every pool sees when it takes the connection back.
     *
     * @param generation the pool's {@link #generation()} when the connection was taken
     */
    void release(Connection connection, boolean reusable, Throwable primaryFailure, long generation) {
        try {
            if (reusable) {
                connection.close();
            } else {
                discard(connection);
                if (primaryFailure != null && SqlStates.isConnectionFailure(primaryFailure)
                        && !(primaryFailure instanceof TransactionTimeoutException)) {
                    retireSiblings(generation, primaryFailure);
                }
            }
        } catch (SQLException | RuntimeException e) {
            if (primaryFailure != null) {
                primaryFailure.addSuppressed(e);
            } else {
                log.warn("SessionManager '{}' could not return a connection to its pool after the transaction ended;"
                        + " the transaction's outcome is not affected", managerName, e);
            }
        } finally {
            releaseAdmission();
        }
    }

    /**
     * Retires the owned pool's other connections after one of them broke, unless it was taken before the last
     * retirement (a deadline that cut a slow network is no evidence against the server, so it does not count).
     */
    private void retireSiblings(long generation, Throwable failure) {
        if (ownedPool == null || !retirements.compareAndSet(generation, generation + 1)) {
            return;
        }
        log.info("SessionManager '{}': a connection{} broke ({}); the pool replaces its other connections, which"
                + " likely reach the same server", managerName, serverText(), SqlStates.sqlState(failure));
        ownedPool.getHikariPoolMXBean().softEvictConnections();
    }

    private String serverText() {
        return server == null ? "" : " to " + server;
    }

    private void discard(Connection connection) throws SQLException {
        if (ownedPool != null) {
            ownedPool.evictConnection(connection);
            return;
        }
        try {
            connection.abort(Runnable::run);
        } finally {
            connection.close();
        }
    }

    private ConnectionUnavailableException unavailable(SQLException e, int alreadyHeld) {
        StringBuilder message = new StringBuilder("SessionManager '").append(managerName)
                .append("' could not get a database connection").append(serverText())
                .append(" for a new transaction: ").append(e.getMessage());
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
