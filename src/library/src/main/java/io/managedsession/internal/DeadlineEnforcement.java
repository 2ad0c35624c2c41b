package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.exception.DataAccessException;
import org.postgresql.jdbc.PgStatement;

import io.managedsession.TransactionOptions;

/**
 * Holds a transaction to its deadline on its connection.
 *
 * <p>The server enforces it: {@code statement_timeout} and {@code lock_timeout} are set locally to the time left when
 * the transaction begins, and set again before a statement is used whenever the value in force has fallen behind the
 * time actually left. A deadline only ever shortens them: where the connection's session has a shorter limit of its
 * own ({@link SessionTimeouts}), that limit stays in force. What is in force is modelled exactly: a rollback to a
 * savepoint undoes a {@code SET LOCAL} made after it, and {@link Savepoints} says so through
 * {@link #restoreServerTimeout(long)}. Once the transaction's code sends SQL that names either timeout (its own
 * {@code SET LOCAL statement_timeout}, {@code set_config('lock_timeout', ..., true)}), the model no longer holds: from
 * then on what is in force is read from the server before each statement, and a timeout the code set shorter than
 * the time left stays as it is, as the session's own do.
 *
 * <p>When the network goes silent the server cannot enforce anything, so the driver's network timeout also stops the
 * client from waiting much past the deadline: before each statement, COMMIT and ROLLBACK it is set to the time left
 * plus a grace (never longer than the connection's own {@code socketTimeout}), and it is restored when the
 * transaction ends.
 *
 * <p>Only the transaction's own thread uses it.
 */
final class DeadlineEnforcement {

    /**
     * How far the server's timeouts may lag behind the time actually left before they are set again: a statement
     * that follows the previous one within this much time does not pay a round trip for it. Never more than the time
     * left itself, so that the lag never more than doubles what is left.
     */
    private static final long SLACK_MILLIS = 10;

    /**
     * How long past its deadline a transaction waits for a server that does not answer at all (a dead network, where
     * the server cannot enforce the deadline) before its read fails on the client side.
     */
    private static final int NETWORK_GRACE_MILLIS = 1_000;

    /** in_failed_sql_transaction: the transaction is aborted and runs no statement until it ends. */
    private static final String IN_FAILED_TRANSACTION = "25P02";

    /** The server's timeouts when nothing is known of what is in force: they are always set again. */
    static final long UNKNOWN = Long.MAX_VALUE;

    private final Deadline deadline;
    private final TransactionOptions options;
    private final Connection connection;
    private long serverTimeoutMillis = UNKNOWN;
    /** The limits a deadline never lengthens: the session's own, or what was in force before the last statement. */
    private SessionTimeouts.Limits limits;
    private boolean timeoutsSetByTheCode;
    private int networkTimeoutToRestore = -1;

    DeadlineEnforcement(Deadline deadline, TransactionOptions options, Connection connection) {
        this.deadline = deadline;
        this.options = options;
        this.connection = connection;
    }

    Deadline deadline() {
        return deadline;
    }

    /**
     * At the transaction's begin: bounds the driver's waits by the deadline, and returns the SQL that sets the
     * server's timeouts to the time left, to be sent with the transaction's BEGIN.
     *
     * @throws io.managedsession.TransactionTimeoutException when the deadline has already passed
     */
    String begin() throws SQLException {
        if (deadline.hasPassed()) {
            throw deadline.exceeded(options, null);
        }
        networkTimeoutToRestore = connection.getNetworkTimeout();
        limitNetworkWait();
        limits = SessionTimeouts.of(connection);
        serverTimeoutMillis = deadline.remainingMillisForServer();
        return ServerSettings.timeouts(serverTimeoutMillis, limits);
    }

    /**
     * Before a statement is used: fails when the deadline has passed, brings the server's timeouts up to the time
     * left when they have fallen behind it, and shortens the driver's network wait to match.
     */
    void beforeStatement() {
        if (deadline.hasPassed()) {
            throw deadline.exceeded(options, null);
        }
        long left = deadline.remainingMillisForServer();
        try {
            // The network wait first: the round trip below may be the first to meet a silent network.
            limitNetworkWait();
            long inForce;
            if (timeoutsSetByTheCode) {
                // What the code set is in force, or what a rollback to a savepoint brought back: ask the server.
                limits = SessionTimeouts.inForce(connection);
                inForce = limits.loosest();
            } else {
                // The session's own limits bound what is in force, however long ago the timeouts were set.
                inForce = serverTimeoutMillis == UNKNOWN ? UNKNOWN : Math.min(serverTimeoutMillis, limits.loosest());
            }
            if (inForce - left > Math.min(SLACK_MILLIS, left)) {
                try (Statement statement = connection.createStatement()) {
                    statement.execute(ServerSettings.timeouts(left, limits));
                }
                serverTimeoutMillis = left;
            }
        } catch (SQLException e) {
            if (IN_FAILED_TRANSACTION.equals(e.getSQLState())) {
                // An earlier statement failed: the one about to run will fail with the same reason, and say so itself.
                return;
            }
            throw new DataAccessException("Could not bring the timeouts of a transaction with a deadline up to date"
                    + " (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
        }
    }

    /**
     * Before a result set read with a fetch size moves to a row the driver holds already (a move that fetches more
     * passes {@link #beforeStatement()}): fails when the deadline has passed, so that a read paced by the client (a lazy
     * cursor or stream) stops at the deadline as the next statement would, rather than reading on until the commit
     * fails.
     */
    void beforeFetch() {
        if (deadline.hasPassed()) {
            throw deadline.exceeded(options, null);
        }
    }

    /**
     * Before {@code statement} sends statements that the server answers together (after {@link #beforeStatement()}):
     * a batch, or SQL text holding several statements. The server times each of them on its own, and sends its answers
     * only when the last is done, so statements that each fit the time left could together run far past it, while the
     * driver waits on a silent socket until its network timeout breaks the connection and the server runs on with
     * nobody waiting. So the driver's own query timeout of the statement is brought down to the time left (a shorter
     * one of its own stays): when it expires, the driver asks the server to cancel what it is running, and the
     * transaction fails as any statement does at its deadline, on a connection that stays usable. It is not set back:
     * a later execution of the statement, in the same transaction, may take no longer than the time left either.
     */
    void limitStatementsSentTogether(Statement statement) throws SQLException {
        long left = Math.max(1, deadline.remainingNanos() / 1_000_000);
        if (statement.isWrapperFor(PgStatement.class)) {
            PgStatement driver = statement.unwrap(PgStatement.class);
            long own = driver.getQueryTimeoutMs();
            if (own <= 0 || own > left) {
                driver.setQueryTimeoutMs(left);
            }
        } else {
            // A statement wrapped by something that does not unwrap to the driver's: JDBC's timeout, in whole seconds.
            int seconds = (int) Math.min(Integer.MAX_VALUE, (left + 999) / 1_000);
            int own = statement.getQueryTimeout();
            if (own <= 0 || own > seconds) {
                statement.setQueryTimeout(seconds);
            }
        }
    }

    /**
     * Whether {@code sql} may hold more than one statement: a semicolon with more than blanks and semicolons after it.
     * A semicolon in a literal or a comment counts too; that costs such a statement only the driver's timer.
     */
    static boolean mayHoldSeveralStatements(String sql) {
        int first = sql == null ? -1 : sql.indexOf(';');
        if (first < 0) {
            return false;
        }
        int last = sql.length() - 1;
        while (last > first && (sql.charAt(last) == ';' || Character.isWhitespace(sql.charAt(last)))) {
            last--;
        }
        return last > first;
    }

    /**
     * SQL text the transaction's code is about to run: when it names {@code statement_timeout} or
     * {@code lock_timeout}, what is in force is read from the server before every later statement (a round trip each,
     * only in such transactions). Seen when a statement is prepared, before it runs, so that a prepared statement's
     * own execution reads what was in force before it and the next one what it set.
     */
    void sqlSeen(String sql) {
        if (!timeoutsSetByTheCode && sql != null && namesATimeout(sql)) {
            timeoutsSetByTheCode = true;
        }
    }

    /** Whether {@code sql} names either timeout, in any case: a word ending in {@code _timeout} after the two names. */
    static boolean namesATimeout(String sql) {
        for (int i = sql.indexOf('_'); i >= 0; i = sql.indexOf('_', i + 1)) {
            if (sql.regionMatches(true, i, "_timeout", 0, 8)
                    && (i >= 9 && sql.regionMatches(true, i - 9, "statement", 0, 9)
                            || i >= 4 && sql.regionMatches(true, i - 4, "lock", 0, 4))) {
                return true;
            }
        }
        return false;
    }

    /**
     * Before COMMIT or ROLLBACK: the driver waits no longer than the time left plus the grace (just the grace when
     * the deadline has passed, so that a ROLLBACK on a silent network still ends).
     */
    void beforeEnd() throws SQLException {
        limitNetworkWait();
    }

    private void limitNetworkWait() throws SQLException {
        long limit = Math.max(0, deadline.remainingNanos() / 1_000_000) + NETWORK_GRACE_MILLIS;
        if (networkTimeoutToRestore > 0) {
            limit = Math.min(limit, networkTimeoutToRestore);
        }
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, limit));
    }

    /**
     * The time left when the server's timeouts were last set, as far as this transaction knows ({@link #UNKNOWN} when
     * it does not): what is in force is that, or the session's own limit where shorter.
     */
    long serverTimeoutMillis() {
        return serverTimeoutMillis;
    }

    /**
     * A rollback to a savepoint undid the {@code SET LOCAL}s after it: those set with {@code millis} left hold again.
     */
    void restoreServerTimeout(long millis) {
        serverTimeoutMillis = millis;
    }

    /**
     * Whether {@code failure} is the deadline being enforced: the server cancelled a statement by the timeouts this
     * transaction set, when the deadline had come (within the slack its timeouts may lag); or the connection failed
     * once the deadline had passed (the network timeout). A lock timeout or a cancellation from somewhere else, long
     * before the deadline, is not, and reaches the caller as it is.
     */
    boolean enforced(Throwable failure) {
        long remainingMillis = deadline.remainingNanos() / 1_000_000;
        return (SqlStates.isTimeout(failure) && remainingMillis <= SLACK_MILLIS)
                || (remainingMillis <= 0 && SqlStates.isConnectionFailure(failure));
    }

    /** Puts the driver's network timeout back as it was; local to the driver, no round trip. */
    void restore() throws SQLException {
        if (networkTimeoutToRestore >= 0) {
            connection.setNetworkTimeout(Runnable::run, networkTimeoutToRestore);
        }
    }
}
