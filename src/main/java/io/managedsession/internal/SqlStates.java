package io.managedsession.internal;

import java.sql.SQLException;

/** What PostgreSQL's SQLSTATE codes mean for a transaction. */
public final class SqlStates {

    /** SQLSTATE class 08: the connection failed. */
    private static final String CONNECTION_EXCEPTION_CLASS = "08";

    /** PostgreSQL's admin_shutdown, crash_shutdown and cannot_connect_now: the server went away. */
    private static final String OPERATOR_INTERVENTION_CLASS = "57P";

    /** serialization_failure. */
    public static final String SERIALIZATION_FAILURE = "40001";
    /** deadlock_detected. */
    public static final String DEADLOCK_DETECTED = "40P01";
    /** query_canceled: what statement_timeout raises. */
    public static final String QUERY_CANCELED = "57014";
    /** lock_not_available: what lock_timeout raises. */
    public static final String LOCK_NOT_AVAILABLE = "55P03";

    private SqlStates() {
    }

    /** Whether a 40001 or 40P01 is anywhere in the cause chain. */
    public static boolean isSerializationFailureOrDeadlock(Throwable failure) {
        return hasState(failure, SERIALIZATION_FAILURE) || hasState(failure, DEADLOCK_DETECTED);
    }

    /** Whether the statement was cancelled by statement_timeout or lock_timeout. */
    public static boolean isTimeout(Throwable failure) {
        return hasState(failure, QUERY_CANCELED) || hasState(failure, LOCK_NOT_AVAILABLE);
    }

    /** Whether any {@link SQLException} in the cause chain carries {@code state}. */
    public static boolean hasState(Throwable failure, String state) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && state.equals(sql.getSQLState())) {
                return true;
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /**
     * Whether {@code failure}, or a cause of it, says the connection itself is gone, as opposed to the statement or
     * transaction failing on a connection that still works.
     */
    public static boolean isConnectionFailure(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                String state = sql.getSQLState();
                if (state.startsWith(CONNECTION_EXCEPTION_CLASS) || state.startsWith(OPERATOR_INTERVENTION_CLASS)) {
                    return true;
                }
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return false;
    }

    /** The SQLSTATE of the first {@link SQLException} in the cause chain, or {@code null}. */
    public static String sqlState(Throwable failure) {
        for (Throwable t = failure; t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
            if (t.getCause() == t) {
                break;
            }
        }
        return null;
    }
}
