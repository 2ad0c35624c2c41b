package io.managedsession.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.locks.LockSupport;

/**
 * Finds out from the server whether a COMMIT whose connection failed took effect: a fresh connection asks
 * {@code pg_xact_status} about the transaction's id; when the old backend still holds the transaction open (the
 * network failed, not the server), it is ended first ({@code pg_terminate_backend}, allowed for the same role), which
 * rolls the transaction back unless its COMMIT already went through. All of it within a time budget, trying again
 * while the server cannot be reached.
 *
 * <p>The answer is trusted only from the server the transaction ran on, or one that continues its WAL timeline (the
 * same server restarted): a promoted standby runs on a new timeline, where the old primary's transaction id may be
 * unknown or even reused by another transaction, so the outcome is then left unknown.
 *
 * <p>Thread safety: immutable; each call uses connections of its own.
 */
final class CommitOutcomeResolver {

    /** What the server said. */
    enum Outcome {
        /** The transaction committed. */
        COMMITTED,
        /** The transaction rolled back: nothing was written, and running it again is safe. */
        ABORTED,
        /** The server could not be asked, or its answer cannot be trusted. */
        UNKNOWN
    }

    /**
     * @param outcome what the server said
     * @param account what was tried, in order, for messages and logs
     */
    record Resolution(Outcome outcome, String account) {
    }

    /** invalid_parameter_value: what {@code pg_xact_status} raises for an id the server has not assigned yet. */
    private static final String INVALID_PARAMETER_VALUE = "22023";
    /** object_not_in_prerequisite_state: what {@code pg_walfile_name} raises on a standby. */
    private static final String NOT_IN_PREREQUISITE_STATE = "55000";
    private static final long FIRST_PAUSE_MILLIS = 20;
    private static final long LONGEST_PAUSE_MILLIS = 500;
    /** How long ending the old backend may take, at most: it normally takes a few milliseconds. */
    private static final long LONGEST_TERMINATION_WAIT_MILLIS = 5_000;

    private final SideConnections side;
    private final Duration budgetWithoutDeadline;

    /**
     * @param budgetWithoutDeadline how long a transaction without a deadline may spend resolving (the connection
     *                              timeout)
     */
    CommitOutcomeResolver(SideConnections side, Duration budgetWithoutDeadline) {
        this.side = side;
        this.budgetWithoutDeadline = budgetWithoutDeadline;
    }

    /** How long a transaction without a deadline may spend resolving. */
    Duration budgetWithoutDeadline() {
        return budgetWithoutDeadline;
    }

    /** Asks the server about {@code ticket}'s transaction until it answers or {@code budgetNanos} have passed. */
    Resolution resolve(CommitTicket ticket, long budgetNanos) {
        long end = System.nanoTime() + budgetNanos;
        List<String> tried = new ArrayList<>();
        long pause = FIRST_PAUSE_MILLIS;
        int attempt = 0;
        while (true) {
            attempt++;
            long left = millisLeft(end);
            try (Connection connection = side.open(left)) {
                Outcome outcome = ask(connection, ticket, end, tried);
                if (outcome != null) {
                    return new Resolution(outcome, String.join("; ", tried));
                }
            } catch (SQLException | RuntimeException e) {
                tried.add("attempt " + attempt + " could not ask the server within " + left + " ms (SQLSTATE "
                        + SqlStates.sqlState(e) + "): " + e.getMessage());
            }
            if (millisLeft(end) <= pause) {
                tried.add("gave up after " + TimeUnit.NANOSECONDS.toMillis(budgetNanos) + " ms");
                return new Resolution(Outcome.UNKNOWN, String.join("; ", tried));
            }
            LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(pause));
            pause = Math.min(pause * 2, LONGEST_PAUSE_MILLIS);
        }
    }

    /** One conversation with the server; {@code null} when it is worth trying again later. */
    private static Outcome ask(Connection connection, CommitTicket ticket, long end, List<String> tried)
            throws SQLException {
        String timeline;
        try (Statement statement = connection.createStatement();
             ResultSet row = statement.executeQuery("SELECT substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)")) {
            row.next();
            timeline = row.getString(1);
        } catch (SQLException e) {
            if (NOT_IN_PREREQUISITE_STATE.equals(e.getSQLState())) {
                tried.add("reached a standby, which cannot say (" + e.getMessage() + ")");
                return null;
            }
            throw e;
        }
        if (!timeline.equals(ticket.timeline())) {
            tried.add("the primary that answered is on WAL timeline " + timeline + " but the transaction ran on "
                    + ticket.timeline() + ": a standby was promoted since, and the old primary's transaction ids mean"
                    + " nothing there");
            return Outcome.UNKNOWN;
        }
        boolean ended = false;
        while (true) {
            String status;
            try {
                status = status(connection, ticket.xid());
            } catch (SQLException e) {
                if (INVALID_PARAMETER_VALUE.equals(e.getSQLState())) {
                    tried.add("the server has not assigned transaction id " + ticket.xid() + " (" + e.getMessage()
                            + "): it is not the server the transaction ran on");
                    return Outcome.UNKNOWN;
                }
                throw e;
            }
            if (status == null) {
                tried.add("pg_xact_status(" + ticket.xid() + ") is null: the transaction is too old to be known");
                return Outcome.UNKNOWN;
            }
            tried.add("pg_xact_status(" + ticket.xid() + ") = '" + status + "'");
            switch (status) {
                case "committed":
                    return Outcome.COMMITTED;
                case "aborted":
                    return Outcome.ABORTED;
                default:
                    // 'in progress': the old backend still holds the transaction open.
                    if (ended) {
                        return null;
                    }
                    ended = endBackend(connection, ticket, end, tried);
                    if (!ended) {
                        return null;
                    }
            }
        }
    }

    private static String status(Connection connection, String xid) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("SELECT pg_xact_status(?::xid8)")) {
            statement.setString(1, xid);
            try (ResultSet row = statement.executeQuery()) {
                row.next();
                return row.getString(1);
            }
        }
    }

    /**
     * Ends the backend that holds the transaction open, checking that it still runs that very transaction (a pid may
     * be reused); returns whether it is gone.
     */
    private static boolean endBackend(Connection connection, CommitTicket ticket, long end, List<String> tried) {
        long wait = Math.max(1, Math.min(millisLeft(end), LONGEST_TERMINATION_WAIT_MILLIS));
        try (PreparedStatement statement = connection.prepareStatement("SELECT pg_terminate_backend(pid, ?)"
                + " FROM pg_stat_activity WHERE pid = ? AND backend_xid = xid(?::xid8)")) {
            statement.setLong(1, wait);
            statement.setInt(2, ticket.pid());
            statement.setString(3, ticket.xid());
            try (ResultSet row = statement.executeQuery()) {
                if (!row.next()) {
                    tried.add("backend pid " + ticket.pid() + " no longer runs the transaction");
                    return true;
                }
                boolean gone = row.getBoolean(1);
                tried.add(gone ? "ended backend pid " + ticket.pid() + ", which still held the transaction open"
                        : "backend pid " + ticket.pid() + " did not end within " + wait + " ms");
                return gone;
            }
        } catch (SQLException e) {
            tried.add("could not end backend pid " + ticket.pid() + " (SQLSTATE " + e.getSQLState() + "): "
                    + e.getMessage());
            return false;
        }
    }

    private static long millisLeft(long endNanos) {
        return Math.max(0, TimeUnit.NANOSECONDS.toMillis(endNanos - System.nanoTime()));
    }
}
