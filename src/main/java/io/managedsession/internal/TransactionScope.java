package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;

import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionException;

/**
 * One running transaction: its connection, the thread that owns it, and what happened in it so far.
 *
 * <p>The scope is the {@link ConnectionProvider} of the transaction's jOOQ configuration, so every statement jOOQ runs
 * asks it for the connection first. That is where a {@code DSLContext} used after its transaction ended, or from
 * another thread, is stopped with a clear error instead of reaching a pooled connection that now belongs to somebody
 * else. User code that asks jOOQ for the raw {@link Connection} gets a {@link GuardedConnection} with the same checks.
 *
 * <p>Only the owner thread changes the scope; {@code state} is volatile because other threads read it to refuse use.
 */
public final class TransactionScope implements ConnectionProvider {

    enum State { ACTIVE, COMMITTED, ROLLED_BACK, FAILED }

    private final Connection connection;
    private final GuardedConnection guarded;
    private final Thread owner;
    private final String managerName;

    private volatile State state = State.ACTIVE;
    private DSLContext dsl;
    private boolean begun;
    private boolean autoCommitToRestore;
    private Throwable callbackFailure;
    private Throwable rollbackOnlyCause;
    private boolean connectionBroken;

    TransactionScope(Connection connection, Thread owner, String managerName) {
        this.connection = connection;
        this.guarded = new GuardedConnection(connection, this);
        this.owner = owner;
        this.managerName = managerName;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // ConnectionProvider: the gate every jOOQ statement passes through
    // ---------------------------------------------------------------------------------------------------------------

    @Override
    public Connection acquire() {
        checkUsable();
        return guarded;
    }

    @Override
    public void release(Connection released) {
        // The connection stays with the transaction until it ends; the runner returns it to the pool.
    }

    /** Refuses use after the transaction ended, or from a thread other than the one that runs it. */
    void checkUsable() {
        State current = state;
        if (current != State.ACTIVE) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' that has already ended (" + describe(current) + "); its connection went back to the pool."
                    + " Use the DSLContext passed to the running callback, or sessions.current(), instead of keeping"
                    + " one beyond its transaction");
        }
        Thread caller = Thread.currentThread();
        if (caller != owner) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' running on thread " + describe(owner) + " and was used from thread " + describe(caller)
                    + ". JDBC connections are not thread safe: start a transaction on this thread with"
                    + " sessions.transaction(...) instead");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Transaction lifecycle, driven by ScopeTransactionProvider (jOOQ) and TransactionRunner
    // ---------------------------------------------------------------------------------------------------------------

    /** Starts the transaction (first call) or a savepoint for a jOOQ-nested transaction (later calls). */
    Savepoint begin() throws SQLException {
        if (begun) {
            return connection.setSavepoint();
        }
        begun = true;
        // No round trip: the PostgreSQL driver sends BEGIN together with the first statement.
        if (connection.getAutoCommit()) {
            connection.setAutoCommit(false);
            autoCommitToRestore = true;
        }
        return null;
    }

    void commit(Savepoint savepoint) {
        if (savepoint != null) {
            try {
                connection.releaseSavepoint(savepoint);
            } catch (SQLException e) {
                throw new DataAccessException("Could not release savepoint of a nested jOOQ transaction: " + e.getMessage(), e);
            }
            return;
        }
        try {
            connection.commit();
            state = State.COMMITTED;
        } catch (SQLException e) {
            if (SqlStates.isConnectionFailure(e)) {
                state = State.FAILED;
                connectionBroken = true;
                throw new CommitOutcomeUnknownException("The connection failed while COMMIT was in flight (SQLSTATE "
                        + e.getSQLState() + "), so whether the transaction committed is unknown: " + e.getMessage()
                        + ". Check the data before doing the work again; it is not retried automatically", e);
            }
            // The server refused to commit (a deferred constraint, a serialization failure) and has ended the
            // transaction; jOOQ calls rollback() next, which the driver skips when nothing is open.
            throw new DataAccessException("COMMIT failed and the transaction was rolled back (SQLSTATE "
                    + e.getSQLState() + "): " + e.getMessage(), e);
        }
    }

    void rollback(Savepoint savepoint) {
        try {
            if (savepoint != null) {
                connection.rollback(savepoint);
                return;
            }
            if (state == State.FAILED) {
                // The connection failed during COMMIT: there is nothing left to roll back on it.
                return;
            }
            connection.rollback();
            state = State.ROLLED_BACK;
        } catch (SQLException e) {
            if (savepoint == null) {
                state = State.FAILED;
                connectionBroken |= SqlStates.isConnectionFailure(e);
            }
            throw new DataAccessException("ROLLBACK failed (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
        }
    }

    /** Called after the callback returned normally, before jOOQ commits: the last chance to turn it into a rollback. */
    void beforeCommit() {
        if (rollbackOnlyCause != null) {
            throw new RollbackOnlyException("The transaction was rolled back and nothing was committed: a joined block"
                    + " failed with " + rollbackOnlyCause + " and the outer block returned normally", rollbackOnlyCause);
        }
        if (abortedOnServer()) {
            throw new RollbackOnlyException("The transaction was rolled back and nothing was committed: a statement"
                    + " failed inside it, so PostgreSQL aborted the transaction, and the callback caught the error and"
                    + " returned normally. Let the statement's exception propagate, or use a savepoint (a nested jOOQ"
                    + " transaction) around a statement that may fail", null);
        }
        if (owner.isInterrupted()) {
            throw new SessionException("The transaction was rolled back because thread " + describe(owner)
                    + " was interrupted while it ran; nothing was committed and the interrupt flag is kept");
        }
    }

    /**
     * Whether PostgreSQL has aborted the transaction because a statement failed. COMMIT would then silently roll back
     * and report success, so the driver's view is checked first; it costs no round trip.
     */
    private boolean abortedOnServer() {
        try {
            if (connection.isWrapperFor(BaseConnection.class)) {
                return connection.unwrap(BaseConnection.class).getTransactionState() == TransactionState.FAILED;
            }
        } catch (SQLException e) {
            // Not the PostgreSQL driver, or it cannot tell: COMMIT decides.
        }
        return false;
    }

    /**
     * Ends the scope: nothing can use it any more. Returns {@code true} when the connection is fit to go back to the
     * pool as it is, {@code false} when it should be evicted (the transaction did not end cleanly).
     */
    boolean finish() {
        State outcome = state;
        if (outcome == State.ACTIVE) {
            // jOOQ did not get to commit or roll back (for example begin() itself failed).
            state = State.FAILED;
            return false;
        }
        if (outcome == State.FAILED || connectionBroken) {
            return false;
        }
        if (autoCommitToRestore) {
            try {
                // Local to the driver: no transaction is open, so no round trip.
                connection.setAutoCommit(true);
            } catch (SQLException e) {
                return false;
            }
        }
        return true;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // State kept for the runner
    // ---------------------------------------------------------------------------------------------------------------

    void bind(DSLContext transactionDsl) {
        this.dsl = transactionDsl;
    }

    /** The transaction's {@code DSLContext}, as handed to the outermost callback. */
    public DSLContext dsl() {
        return dsl;
    }

    Connection connection() {
        return connection;
    }

    void callbackFailed(Throwable failure) {
        this.callbackFailure = failure;
    }

    Throwable callbackFailure() {
        return callbackFailure;
    }

    /** A joined block failed: the transaction must not commit, whatever the outer block does next. */
    void markRollbackOnly(Throwable cause) {
        if (rollbackOnlyCause == null) {
            rollbackOnlyCause = cause;
        }
    }

    private static String describe(State state) {
        return switch (state) {
            case ACTIVE -> "active";
            case COMMITTED -> "committed";
            case ROLLED_BACK -> "rolled back";
            case FAILED -> "failed";
        };
    }

    static String describe(Thread thread) {
        String name = thread.getName();
        String id = "#" + thread.threadId();
        return name.isEmpty() ? id : "'" + name + "' (" + id + ")";
    }
}
