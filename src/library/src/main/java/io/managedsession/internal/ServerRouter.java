package io.managedsession.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CommitPosition;
import io.managedsession.ConnectionUnavailableException;
import io.managedsession.Route;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;

/**
 * Chooses the server of each attempt and takes a connection there: the primary for anything that may write, a read
 * replica for a read-only transaction when the manager has replicas. Replicas take turns; one that cannot be
 * connected to, or whose connection breaks, is skipped for {@link ReplicaHealth#RETRY_AFTER} and then tried again.
 * A read-only transaction that asks to see a commit ({@link TransactionOptions#notBefore()}) gets a replica only once
 * that replica has replayed the commit, checked before the transaction begins and again while it is behind, for up to
 * the catch-up timeout; then, and when no replica is up, it runs on the primary.
 *
 * <p>Thread safety: shared by all threads of a manager; the turn counter and the health of each replica are atomic.
 */
final class ServerRouter {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    /** The longest pause between two looks at a lagging replica's replay position. */
    private static final long MAX_CATCH_UP_POLL_NANOS = TimeUnit.MILLISECONDS.toNanos(20);

    private final PooledConnections primary;
    private final List<Replica> replicas;
    private final long catchUpTimeoutNanos;
    private final AtomicInteger turn = new AtomicInteger();

    /** A read replica: its connections and whether it is fit to use. */
    record Replica(String name, PooledConnections connections, ReplicaHealth health) {
    }

    /**
     * A connection taken for one attempt, with where it came from.
     *
     * @param generation the pool's {@link PooledConnections#generation()} when it was taken
     */
    record Lease(Connection connection, Route route, Replica replica, PooledConnections pool, long generation) {

        /** The replica's name, or {@code null} on the primary. */
        String serverName() {
            return replica == null ? null : replica.name();
        }
    }

    /**
     * @param catchUpTimeout how long a read-only transaction waits for a replica to replay its
     *                       {@link TransactionOptions#notBefore()} position before it runs on the primary
     */
    ServerRouter(PooledConnections primary, List<Replica> replicas, Duration catchUpTimeout) {
        this.primary = primary;
        this.replicas = List.copyOf(replicas);
        this.catchUpTimeoutNanos = catchUpTimeout.toNanos();
    }

    /** Whether the manager has read replicas, so that commits note their position for read-your-writes. */
    boolean hasReplicas() {
        return !replicas.isEmpty();
    }

    /**
     * Takes a connection for an attempt of a transaction with {@code options}.
     *
     * @param alreadyHeld how many primary connections the calling thread holds in suspended transactions
     * @param deadline    the transaction's deadline, or {@code null}
     */
    Lease acquire(TransactionOptions options, int alreadyHeld, Deadline deadline) {
        if (replicas.isEmpty() || !options.isReadOnly()) {
            return onPrimary(Route.PRIMARY, alreadyHeld, deadline, options);
        }
        int first = turn.getAndIncrement();
        for (int i = 0; i < replicas.size(); i++) {
            Replica replica = replicas.get(Math.floorMod(first + i, replicas.size()));
            if (!replica.health().isAvailable()) {
                continue;
            }
            Lease lease = onReplica(replica, deadline, options);
            if (lease == LAGGING) {
                break;
            }
            if (lease != null) {
                return lease;
            }
        }
        return onPrimary(Route.PRIMARY_FALLBACK, alreadyHeld, deadline, options);
    }

    /** Marks a lease that found its replica behind: the transaction goes to the primary without trying others. */
    private static final Lease LAGGING = new Lease(null, Route.PRIMARY_FALLBACK, null, null, 0);

    private Lease onPrimary(Route route, int alreadyHeld, Deadline deadline, TransactionOptions options) {
        Connection connection = primary.acquire(alreadyHeld, deadline, options);
        return new Lease(connection, route, null, primary, primary.generation());
    }

    /**
     * A connection to {@code replica} once it has replayed the transaction's position; {@link #LAGGING} when it did
     * not within the catch-up timeout; {@code null} when the replica could not be reached (it is then skipped).
     */
    private Lease onReplica(Replica replica, Deadline deadline, TransactionOptions options) {
        Connection connection;
        try {
            connection = replica.connections().acquire(0, deadline, options);
        } catch (ConnectionUnavailableException e) {
            if (replica.health().isAvailable()) {
                throw e; // the replica answers but its pool is busy: wait as for any pool, which timed out
            }
            return null;
        }
        long acquired = replica.connections().generation();
        if (options.notBefore().isEmpty()) {
            replica.health().reachable();
            return new Lease(connection, Route.REPLICA, replica, replica.connections(), acquired);
        }
        try {
            if (caughtUp(connection, options.notBefore().get(), deadline)) {
                replica.health().reachable();
                return new Lease(connection, Route.REPLICA, replica, replica.connections(), acquired);
            }
            replica.connections().release(connection, true, null, acquired);
            return LAGGING;
        } catch (SQLException e) {
            replica.health().unreachable(e);
            replica.connections().release(connection, false, e, acquired);
            return null;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            replica.connections().release(connection, true, null, acquired);
            return LAGGING;
        }
    }

    /**
     * Whether the replica has replayed {@code position}, asking it again while it is behind, until the catch-up
     * timeout or the deadline. PostgreSQL 18 has no command that waits for a replay position, so this asks: the first
     * question is the read's one added round trip; a lagging replica costs one more per pause (1 ms, doubling, at most
     * 20 ms). The question runs outside the transaction, before it begins, so the transaction's snapshot is taken after
     * the replay it saw.
     */
    private boolean caughtUp(Connection connection, CommitPosition position, Deadline deadline)
            throws SQLException, InterruptedException {
        long start = System.nanoTime();
        long limit = catchUpTimeoutNanos;
        if (deadline != null) {
            limit = Math.min(limit, deadline.remainingNanos());
        }
        long pause = TimeUnit.MILLISECONDS.toNanos(1);
        try (Statement statement = connection.createStatement()) {
            while (true) {
                if (replayed(statement).isAtOrAfter(position)) {
                    return true;
                }
                long left = limit - (System.nanoTime() - start);
                if (left <= 0) {
                    return false;
                }
                TimeUnit.NANOSECONDS.sleep(Math.min(pause, left));
                pause = Math.min(pause * 2, MAX_CATCH_UP_POLL_NANOS);
            }
        }
    }

    /**
     * How far the server has replayed: a standby's replay position, or, on a server that is not in recovery (a replica
     * URL that reaches a primary, or a promoted standby), how far it has written.
     */
    private static CommitPosition replayed(Statement statement) throws SQLException {
        try (ResultSet rows = statement.executeQuery("SELECT (CASE WHEN pg_is_in_recovery()"
                + " THEN pg_last_wal_replay_lsn() ELSE pg_current_wal_lsn() END)::text")) {
            rows.next();
            String text = rows.getString(1);
            // A standby that has replayed nothing yet reports no position.
            return text == null ? CommitPosition.parse("0/0") : CommitPosition.parse(text);
        } finally {
            if (!statement.getConnection().getAutoCommit()) {
                statement.getConnection().rollback();
            }
        }
    }

    /**
     * Gives a lease's connection back, as {@link PooledConnections#release} does; a replica whose connection broke is
     * skipped for a while.
     */
    void release(Lease lease, boolean reusable, Throwable failure) {
        if (lease.replica() != null && failure != null && SqlStates.isConnectionFailure(failure)
                && !(failure instanceof io.managedsession.TransactionTimeoutException)) {
            lease.replica().health().unreachable(failure);
        }
        lease.pool().release(lease.connection(), reusable, failure, lease.generation());
    }

    /**
     * Reads where the primary's WAL ends after a commit on {@code connection}: the commit's position or a little
     * later, never earlier (the insert position covers WAL not yet flushed, as with {@code synchronous_commit=off}).
     * One round trip, on the connection the transaction just committed on, before it goes back to the pool.
     */
    static CommitPosition commitPosition(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT pg_current_wal_insert_lsn()::text")) {
            rows.next();
            return CommitPosition.parse(rows.getString(1));
        } finally {
            if (!connection.getAutoCommit()) {
                connection.rollback();
            }
        }
    }

    /** Describes the replicas for the start-up log. */
    List<String> replicaNames() {
        return replicas.stream().map(Replica::name).toList();
    }

    static void logStart(String managerName, List<String> replicaNames, Duration catchUpTimeout) {
        log.info("SessionManager '{}' routes read-only transactions to {} replica(s) {}; read-your-writes waits up to"
                + " {} ms for a replica to catch up", managerName, replicaNames.size(), replicaNames,
                catchUpTimeout.toMillis());
    }
}
