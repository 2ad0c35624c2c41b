package io.managedsession.internal;

import java.sql.SQLException;
import java.util.Set;
import java.util.function.Predicate;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/** What PostgreSQL's SQLSTATE codes mean for a transaction, looked up anywhere in a failure's cause chain. */
public final class SqlStates {

    /** SQLSTATE class 08: the connection failed. */
    private static final String CONNECTION_EXCEPTION_CLASS = "08";

    /** PostgreSQL's admin_shutdown, crash_shutdown and cannot_connect_now: the server went away. */
    private static final String OPERATOR_INTERVENTION_CLASS = "57P";

    /** serialization_failure. */
    private static final String SERIALIZATION_FAILURE = "40001";
    /** deadlock_detected. */
    private static final String DEADLOCK_DETECTED = "40P01";
    /** query_canceled: what statement_timeout raises. */
    private static final String QUERY_CANCELED = "57014";
    /** lock_not_available: what lock_timeout raises. */
    private static final String LOCK_NOT_AVAILABLE = "55P03";

    /** feature_not_supported: among others, what the server raises for a prepared plan whose result type changed. */
    private static final String FEATURE_NOT_SUPPORTED = "0A000";
    /** The server's functions that raise it when they check a prepared plan against its tables (plancache.c). */
    private static final Set<String> PLAN_REVALIDATION = Set.of("RevalidateCachedQuery", "RevalidateCachedPlan");

    /** protocol_violation: what PgBouncer sends with the FATAL errors of its own limits. */
    private static final String PROTOCOL_VIOLATION = "08P01";
    /** PgBouncer's message when its idle_transaction_timeout ends a client that sat idle in a transaction. */
    private static final String POOLER_IDLE_TRANSACTION_TIMEOUT = "idle transaction timeout";

    /** How deep a cause chain is followed: far beyond any real one, and a guard against a chain that loops. */
    private static final int MAX_DEPTH = 100;

    private SqlStates() {
    }

    /** Whether a 40001 or 40P01 is anywhere in the cause chain. */
    public static boolean isSerializationFailureOrDeadlock(Throwable failure) {
        return find(failure, sql -> SERIALIZATION_FAILURE.equals(sql.getSQLState())
                || DEADLOCK_DETECTED.equals(sql.getSQLState())) != null;
    }

    /** Whether the statement was cancelled by statement_timeout or lock_timeout. */
    public static boolean isTimeout(Throwable failure) {
        return find(failure, sql -> QUERY_CANCELED.equals(sql.getSQLState())
                || LOCK_NOT_AVAILABLE.equals(sql.getSQLState())) != null;
    }

    /** Whether a statement gave up waiting for a lock (lock_timeout): 55P03 anywhere in the cause chain. */
    public static boolean isLockNotAvailable(Throwable failure) {
        return find(failure, sql -> LOCK_NOT_AVAILABLE.equals(sql.getSQLState())) != null;
    }

    /**
     * Whether {@code failure}, or a cause of it, says the connection itself is gone, as opposed to the statement or
     * transaction failing on a connection that still works: SQLSTATE class 08, or 57P (the server shut down or ended
     * the session). Not when PgBouncer ended a client idle in a transaction (its idle_transaction_timeout, below).
     */
    public static boolean isConnectionFailure(Throwable failure) {
        return find(failure, sql -> sql.getSQLState() != null
                && (sql.getSQLState().startsWith(CONNECTION_EXCEPTION_CLASS)
                        || sql.getSQLState().startsWith(OPERATOR_INTERVENTION_CLASS))) != null
                && !isEndedByPoolerWhileIdle(failure);
    }

    /**
     * Whether PgBouncer ended the client's connection because it sat idle in a transaction (its
     * {@code idle_transaction_timeout}: {@code FATAL: idle transaction timeout}, SQLSTATE 08P01). It closes the server
     * connection under it too, which rolls the transaction back; and it waited for the client, so no COMMIT had reached
     * it. Not a lost connection, then: the transaction certainly did not commit, and it is the pooler's limit on how
     * the block paces its work rather than a fault another attempt escapes, as the server's own
     * {@code idle_in_transaction_session_timeout} (25P03, never in class 08) is.
     */
    private static boolean isEndedByPoolerWhileIdle(Throwable failure) {
        return find(failure, sql -> PROTOCOL_VIOLATION.equals(sql.getSQLState()) && sql instanceof PSQLException server
                && server.getServerErrorMessage() != null
                && POOLER_IDLE_TRANSACTION_TIMEOUT.equals(server.getServerErrorMessage().getMessage())) != null;
    }

    /**
     * Whether the server refused a statement that the driver had prepared on it because its tables changed the type of
     * its result since ("cached plan must not change result type", 0A000 from the server's plan revalidation): DDL
     * such as a migration's {@code ALTER COLUMN ... TYPE}. The driver prepares the statement again when it next runs
     * it (its own {@code willHealOnRetry} tells it by the same SQLSTATE and the server's routine).
     */
    public static boolean isStalePreparedPlan(Throwable failure) {
        return find(failure, sql -> {
            if (!FEATURE_NOT_SUPPORTED.equals(sql.getSQLState()) || !(sql instanceof PSQLException server)) {
                return false;
            }
            ServerErrorMessage message = server.getServerErrorMessage();
            return message != null && PLAN_REVALIDATION.contains(message.getRoutine());
        }) != null;
    }

    /** The SQLSTATE of the first {@link SQLException} in the cause chain that has one, or {@code null}. */
    public static String sqlState(Throwable failure) {
        SQLException found = find(failure, sql -> sql.getSQLState() != null);
        return found == null ? null : found.getSQLState();
    }

    /** The first {@link SQLException} in the cause chain that {@code matching} accepts, or {@code null}. */
    static SQLException find(Throwable failure, Predicate<SQLException> matching) {
        Throwable current = failure;
        for (int depth = 0; current != null && depth < MAX_DEPTH; depth++) {
            if (current instanceof SQLException sql && matching.test(sql)) {
                return sql;
            }
            current = current.getCause() == current ? null : current.getCause();
        }
        return null;
    }
}
