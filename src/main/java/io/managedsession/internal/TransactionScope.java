package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.List;

import org.jooq.ConnectionProvider;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionException;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * One running transaction: its connection, the thread that owns it, its options, and what happened in it so far.
 *
 * <p>The scope is the {@link ConnectionProvider} of the transaction's jOOQ configuration, so every statement jOOQ runs
 * asks it for the connection first. That is where a {@code DSLContext} used after its transaction ended, from another
 * thread, or while suspended by a REQUIRES_NEW transaction, is stopped with a clear error instead of reaching a pooled
 * connection that now belongs to somebody else; and where a deadline is brought up to date on the server. User code
 * that asks jOOQ for the raw {@link Connection} gets a {@link GuardedConnection} with the same checks.
 *
 * <p>Only the owner thread changes the scope; {@code state} and {@code suspended} are volatile because other threads
 * read them to refuse use.
 */
public final class TransactionScope implements ConnectionProvider {

    enum State { ACTIVE, COMMITTED, ROLLED_BACK, FAILED }

    /**
     * How far the server's timeouts may lag behind the time actually left before they are set again: a statement
     * that follows the previous one within this much time does not pay a round trip for it.
     */
    private static final long DEADLINE_SLACK_MILLIS = 10;

    /**
     * How long past its deadline a transaction waits for a server that does not answer at all (a dead network, where
     * the server cannot enforce the deadline) before its read fails on the client side.
     */
    private static final int NETWORK_GRACE_MILLIS = 1_000;

    private final Connection connection;
    private final GuardedConnection guarded;
    private final Thread owner;
    private final String managerName;
    private final TransactionOptions options;
    private final Deadline deadline;
    private final TransactionScope suspendedParent;
    private final int attempt;
    private final boolean labelInApplicationName;

    private volatile State state = State.ACTIVE;
    private volatile boolean suspended;
    private DSLContext dsl;
    private boolean begun;
    private boolean autoCommitToRestore;
    private int networkTimeoutToRestore = -1;
    private long serverTimeoutMillis;
    private Throwable callbackFailure;
    private Throwable rollbackOnlyCause;
    private boolean connectionBroken;
    private boolean commitOutcomeUnknown;
    private List<Runnable> afterCommit;
    private List<Runnable> afterRollback;
    private TransactionRunner.TransactionSettings actualSettings;

    TransactionScope(Connection connection, Thread owner, String managerName, TransactionOptions options,
            Deadline deadline, TransactionScope suspendedParent, int attempt, boolean labelInApplicationName) {
        this.connection = connection;
        this.guarded = new GuardedConnection(connection, this);
        this.owner = owner;
        this.managerName = managerName;
        this.options = options;
        this.deadline = deadline;
        this.suspendedParent = suspendedParent;
        this.attempt = attempt;
        this.labelInApplicationName = labelInApplicationName;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // ConnectionProvider: the gate every jOOQ statement passes through
    // ---------------------------------------------------------------------------------------------------------------

    @Override
    public Connection acquire() {
        checkUsable();
        if (deadline != null) {
            keepServerTimeoutsWithinDeadline();
        }
        return guarded;
    }

    @Override
    public void release(Connection released) {
        // The connection stays with the transaction until it ends; the runner returns it to the pool.
    }

    /** Refuses use after the transaction ended, from a thread other than its own, or while it is suspended. */
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
        if (suspended) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' that is suspended while a REQUIRES_NEW transaction runs on this thread; use the DSLContext"
                    + " passed to the REQUIRES_NEW callback until it returns");
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Transaction lifecycle, driven by ScopeTransactionProvider (jOOQ) and TransactionRunner
    // ---------------------------------------------------------------------------------------------------------------

    /** Whether the transaction has begun (on the server side: will begin with the first statement). */
    boolean begun() {
        return begun;
    }

    /** Starts the transaction (first call) or a savepoint for a nested transaction (later calls). */
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
        if (deadline != null) {
            // The server enforces the deadline with statement_timeout; if the network goes silent it cannot, so the
            // client stops waiting too, shortly after. Local to the driver: no round trip.
            networkTimeoutToRestore = connection.getNetworkTimeout();
            long limit = Math.max(1, deadline.remainingNanos() / 1_000_000) + NETWORK_GRACE_MILLIS;
            connection.setNetworkTimeout(Runnable::run, (int) Math.min(Integer.MAX_VALUE, limit));
        }
        String settings = transactionSettingsSql();
        if (settings != null) {
            // One round trip for BEGIN and all settings; they end with the transaction, so nothing needs restoring.
            try (Statement statement = connection.createStatement()) {
                statement.execute(settings);
            }
        }
        return null;
    }

    private String transactionSettingsSql() {
        boolean labelled = labelInApplicationName && options.label().isPresent();
        if (options.isolation().isEmpty() && options.readOnlySetting().isEmpty() && deadline == null && !labelled) {
            return null; // the common case: nothing to send, nothing to allocate
        }
        StringBuilder sql = new StringBuilder();
        String characteristics = options.isolation().map(i -> "ISOLATION LEVEL " + i.sql()).orElse("");
        if (options.readOnlySetting().isPresent()) {
            characteristics += (characteristics.isEmpty() ? "" : ", ") + (options.isReadOnly() ? "READ ONLY" : "READ WRITE");
        }
        if (!characteristics.isEmpty()) {
            sql.append("SET TRANSACTION ").append(characteristics).append(';');
        }
        if (labelled) {
            // Shows in pg_stat_activity which code holds the connection while the transaction runs; SET LOCAL
            // ends with it. Labels are printable ASCII (checked by the options), quotes doubled all the same.
            String name = (managerName + "/" + options.label().get()).replace("'", "''");
            sql.append("SET LOCAL application_name = '").append(name.length() > 63 ? name.substring(0, 63) : name)
                    .append("';");
        }
        if (deadline != null) {
            if (deadline.hasPassed()) {
                throw timeout(null);
            }
            serverTimeoutMillis = deadline.remainingMillisForServer();
            sql.append(timeoutsSql(serverTimeoutMillis));
        }
        return sql.isEmpty() ? null : sql.toString();
    }

    private static String timeoutsSql(long millis) {
        return "SET LOCAL statement_timeout = " + millis + "; SET LOCAL lock_timeout = " + millis + ";";
    }

    private void keepServerTimeoutsWithinDeadline() {
        if (!begun) {
            return;
        }
        if (deadline.hasPassed()) {
            throw timeout(null);
        }
        long left = deadline.remainingMillisForServer();
        if (serverTimeoutMillis - left > DEADLINE_SLACK_MILLIS) {
            try (Statement statement = connection.createStatement()) {
                statement.execute(timeoutsSql(left));
                serverTimeoutMillis = left;
            } catch (SQLException e) {
                throw new DataAccessException("Could not bring the statement timeout of a transaction with a deadline"
                        + " up to date (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
            }
        }
    }

    void commit(Savepoint savepoint) {
        if (savepoint != null) {
            try {
                connection.releaseSavepoint(savepoint);
            } catch (SQLException e) {
                throw new DataAccessException("Could not release the savepoint of a nested transaction: "
                        + e.getMessage(), e);
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
                commitOutcomeUnknown = true;
                throw new CommitOutcomeUnknownException("The connection failed while COMMIT was in flight (SQLSTATE "
                        + e.getSQLState() + "), so whether the transaction" + labelText() + " committed is unknown: "
                        + e.getMessage() + ". Check the data before doing the work again; it is not retried"
                        + " automatically", e);
            }
            // The server refused to commit (a deferred constraint, a serialization failure) and has ended the
            // transaction; jOOQ calls rollback() next, which the driver skips when nothing is open.
            throw new DataAccessException("COMMIT failed and the transaction" + labelText() + " was rolled back"
                    + " (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
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
            throw new RollbackOnlyException("The transaction" + labelText() + " was rolled back and nothing was"
                    + " committed: a joined block failed with " + rollbackOnlyCause + " and the outer block returned"
                    + " normally", rollbackOnlyCause);
        }
        if (abortedOnServer()) {
            throw new RollbackOnlyException("The transaction" + labelText() + " was rolled back and nothing was"
                    + " committed: a statement failed inside it, so PostgreSQL aborted the transaction, and the"
                    + " callback caught the error and returned normally. Let the statement's exception propagate, or"
                    + " use a savepoint (Propagation.NESTED) around a statement that may fail", null);
        }
        if (deadline != null && deadline.hasPassed()) {
            throw timeout(null);
        }
        if (owner.isInterrupted()) {
            throw new SessionException("The transaction" + labelText() + " was rolled back because thread "
                    + describe(owner) + " was interrupted while it ran; nothing was committed and the interrupt flag"
                    + " is kept");
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
     * Turns a failure into a {@link TransactionTimeoutException} when it is the database enforcing this transaction's
     * deadline; returns it unchanged otherwise.
     */
    Throwable asTimeoutIfDeadlineEnforced(Throwable failure) {
        if (deadline == null || failure instanceof TransactionTimeoutException
                || failure instanceof CommitOutcomeUnknownException) {
            return failure;
        }
        if (SqlStates.isTimeout(failure) || (deadline.hasPassed() && SqlStates.isConnectionFailure(failure))) {
            return timeout(failure);
        }
        return failure;
    }

    TransactionTimeoutException timeout(Throwable cause) {
        return timeout(options, deadline, cause);
    }

    static TransactionTimeoutException timeout(TransactionOptions options, Deadline deadline, Throwable cause) {
        return new TransactionTimeoutException("The transaction" + labelText(options) + " exceeded its deadline of "
                + deadline.budget().toMillis() + " ms and was rolled back; nothing was committed", deadline.budget(),
                cause);
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
        try {
            // Both local to the driver: no transaction is open, so no round trip.
            if (autoCommitToRestore) {
                connection.setAutoCommit(true);
            }
            if (networkTimeoutToRestore >= 0) {
                connection.setNetworkTimeout(Runnable::run, networkTimeoutToRestore);
            }
        } catch (SQLException e) {
            return false;
        }
        return true;
    }

    /** Whether the transaction committed; meaningful after {@link #finish()}. */
    boolean committed() {
        return state == State.COMMITTED;
    }

    /**
     * Whether the outcome is known to be a rollback: anything but a commit, except a connection lost during COMMIT.
     * A transaction whose connection died at any other moment cannot have committed.
     */
    boolean rolledBack() {
        return state != State.COMMITTED && !commitOutcomeUnknown;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Completion callbacks
    // ---------------------------------------------------------------------------------------------------------------

    void addAfterCommit(Runnable action) {
        if (afterCommit == null) {
            afterCommit = new ArrayList<>(2);
        }
        afterCommit.add(action);
    }

    void addAfterRollback(Runnable action) {
        if (afterRollback == null) {
            afterRollback = new ArrayList<>(2);
        }
        afterRollback.add(action);
    }

    List<Runnable> afterCommitActions() {
        return afterCommit == null ? List.of() : afterCommit;
    }

    List<Runnable> afterRollbackActions() {
        return afterRollback == null ? List.of() : afterRollback;
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

    TransactionOptions options() {
        return options;
    }

    /**
     * The isolation and access mode the transaction runs with: from its options when they say, else as PostgreSQL
     * reports them (one round trip, only for a joined call that asks for specific settings).
     */
    TransactionRunner.TransactionSettings actualSettings() {
        if (actualSettings == null) {
            actualSettings = readActualSettings();
        }
        return actualSettings;
    }

    private TransactionRunner.TransactionSettings readActualSettings() {
        if (options.isolation().isPresent() && options.readOnlySetting().isPresent()) {
            return new TransactionRunner.TransactionSettings(options.isolation().get(), options.isReadOnly());
        }
        try (Statement statement = connection.createStatement();
             java.sql.ResultSet row = statement.executeQuery(
                     "SELECT current_setting('transaction_isolation'), current_setting('transaction_read_only')")) {
            row.next();
            return new TransactionRunner.TransactionSettings(
                    options.isolation().orElse(io.managedsession.Isolation.fromSetting(row.getString(1))),
                    options.readOnlySetting().orElse("on".equals(row.getString(2))));
        } catch (SQLException e) {
            throw new DataAccessException("Could not read the running transaction's isolation and access mode"
                    + " (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
        }
    }

    int attempt() {
        return attempt;
    }

    /** How many pooled connections this thread holds through this scope and the ones it suspended. */
    int heldConnections() {
        return 1 + (suspendedParent == null ? 0 : suspendedParent.heldConnections());
    }

    void suspend() {
        suspended = true;
    }

    void resume() {
        suspended = false;
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

    Throwable rollbackOnlyCause() {
        return rollbackOnlyCause;
    }

    /** A savepoint was rolled back: a joined failure inside it no longer dooms the transaction. */
    void restoreRollbackOnly(Throwable causeBeforeSavepoint) {
        rollbackOnlyCause = causeBeforeSavepoint;
    }

    String labelText() {
        return labelText(options);
    }

    static String labelText(TransactionOptions options) {
        return options.label().map(label -> " '" + label + "'").orElse("");
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
