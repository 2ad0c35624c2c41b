package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.exception.DataAccessException;

import io.managedsession.TransactionOptions;

/**
 * Holds a transaction to its deadline on its connection. The server enforces it: {@code statement_timeout} and
 * {@code lock_timeout} are set locally to the time left when the transaction begins, and set again before a
 * statement when they have fallen behind the time actually left. When the network goes silent the server cannot
 * enforce anything, so the driver's network timeout also stops the client from waiting much past the deadline; it is
 * restored when the transaction ends.
 *
 * <p>Only the transaction's own thread uses it.
 */
final class DeadlineEnforcement {

    /**
     * How far the server's timeouts may lag behind the time actually left before they are set again: a statement
     * that follows the previous one within this much time does not pay a round trip for it.
     */
    private static final long SLACK_MILLIS = 10;

    /**
     * How long past its deadline a transaction waits for a server that does not answer at all (a dead network, where
     * the server cannot enforce the deadline) before its read fails on the client side.
     */
    private static final int NETWORK_GRACE_MILLIS = 1_000;

    private final Deadline deadline;
    private final TransactionOptions options;
    private final Connection connection;
    private long serverTimeoutMillis;
    private int networkTimeoutToRestore = -1;

    DeadlineEnforcement(Deadline deadline, TransactionOptions options, Connection connection) {
        this.deadline = deadline;
        this.options = options;
        this.connection = connection;
    }

    /**
     * Bounds how long the driver waits for the server, a little past the deadline. Local to the driver: no round
     * trip.
     */
    void limitNetworkWait() throws SQLException {
        networkTimeoutToRestore = connection.getNetworkTimeout();
        long limit = Math.max(1, deadline.remainingNanos() / 1_000_000) + NETWORK_GRACE_MILLIS;
        connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, limit));
    }

    /**
     * The SQL that sets the server's timeouts to the time left, sent with the transaction's BEGIN.
     *
     * @throws io.managedsession.TransactionTimeoutException when the deadline has already passed
     */
    String serverTimeoutsAtBegin() {
        if (deadline.hasPassed()) {
            throw deadline.exceeded(options, null);
        }
        serverTimeoutMillis = deadline.remainingMillisForServer();
        return ServerSettings.timeouts(serverTimeoutMillis);
    }

    /**
     * Before a statement: fails when the deadline has passed, and brings the server's timeouts up to the time left
     * when they have fallen behind it by more than a few milliseconds.
     */
    void beforeStatement() {
        if (deadline.hasPassed()) {
            throw deadline.exceeded(options, null);
        }
        long left = deadline.remainingMillisForServer();
        if (serverTimeoutMillis - left > SLACK_MILLIS) {
            try (Statement statement = connection.createStatement()) {
                statement.execute(ServerSettings.timeouts(left));
                serverTimeoutMillis = left;
            } catch (SQLException e) {
                throw new DataAccessException("Could not bring the statement timeout of a transaction with a deadline"
                        + " up to date (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
            }
        }
    }

    /** Puts the driver's network timeout back as it was; local to the driver, no round trip. */
    void restore() throws SQLException {
        if (networkTimeoutToRestore >= 0) {
            connection.setNetworkTimeout(Runnable::run, networkTimeoutToRestore);
        }
    }

    Deadline deadline() {
        return deadline;
    }
}
