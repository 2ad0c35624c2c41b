package io.managedsession.internal;

import java.sql.SQLException;

/** What PostgreSQL's SQLSTATE codes mean for a transaction. */
public final class SqlStates {

    /** SQLSTATE class 08: the connection failed. */
    private static final String CONNECTION_EXCEPTION_CLASS = "08";

    /** PostgreSQL's admin_shutdown, crash_shutdown and cannot_connect_now: the server went away. */
    private static final String OPERATOR_INTERVENTION_CLASS = "57P";

    private SqlStates() {
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
