package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.concurrent.TimeUnit;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.postgresql.PGConnection;
import org.postgresql.core.BaseConnection;
import org.postgresql.core.TransactionState;
import org.postgresql.util.PSQLException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * One attempt of a transaction on its connection: how it begins, commits and rolls back (driven by
 * {@link ScopeTransactionProvider} for jOOQ), what happened in it so far (a failed joined block, the callback's
 * failure), and whether its connection is fit to go back to the pool.
 *
 * <p>Its neighbours do the rest: the {@link ConnectionGate} refuses use from the wrong thread or at the wrong time,
 * {@link ServerSettings} and {@link DeadlineEnforcement} say what is set on the server, {@link CompletionCallbacks}
 * holds the afterCommit and afterRollback actions.
 *
 * <p>Only the owner thread changes the scope; {@code state} and {@code suspended} are volatile because other threads
 * read them through the gate to refuse use.
 */
final class TransactionScope {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    /**
     * The least time a transaction with a deadline gets to ask the server about a lost COMMIT, for when the deadline
     * has passed by then (a silent network holds COMMIT until just past it).
     */
    private static final long RESOLUTION_GRACE_NANOS = TimeUnit.SECONDS.toNanos(1);

    enum State { ACTIVE, COMMITTED, ROLLED_BACK, FAILED }

    private final Connection connection;
    private final ConnectionGate gate;
    private final Thread owner;
    private final String managerName;
    private final TransactionOptions options;
    private final DeadlineEnforcement deadline;
    private final TransactionScope suspendedParent;
    private final boolean labelInApplicationName;
    private final CommitOutcomeResolver resolver;
    private final LockDiagnostics lockDiagnostics;

    private volatile State state = State.ACTIVE;
    private volatile boolean suspended;
    private DSLContext dsl;
    private boolean begun;
    private boolean autoCommitToRestore;
    private boolean readOnlyToRestore;
    private Throwable callbackFailure;
    private Throwable rollbackOnlyCause;
    private boolean connectionBroken;
    private boolean standsInForAnyJoin;
    private int blocksStoodInFor;
    private boolean commitOutcomeUnknown;
    private TransactionSettings actualSettings;
    private CompletionCallbacks completion;
    private Savepoints savepoints;
    private String lockReport;

    /**
     * @param resolver        asks the server about a COMMIT whose connection failed, or {@code null} when this
     *                        transaction does not resolve commit outcomes
     * @param lockDiagnostics names who blocked a statement that failed on a lock, or {@code null} when off
     */
    TransactionScope(Connection connection, Thread owner, String managerName, TransactionOptions options,
            Deadline deadline, TransactionScope suspendedParent, boolean labelInApplicationName,
            CommitOutcomeResolver resolver, LockDiagnostics lockDiagnostics) {
        this.connection = connection;
        this.owner = owner;
        this.managerName = managerName;
        this.options = options;
        this.deadline = deadline == null ? null : new DeadlineEnforcement(deadline, options, connection);
        this.suspendedParent = suspendedParent;
        this.labelInApplicationName = labelInApplicationName;
        this.resolver = resolver;
        this.lockDiagnostics = lockDiagnostics;
        this.gate = new ConnectionGate(this, connection, owner, managerName);
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Lifecycle, driven by TransactionRunner (the transaction) and ScopeTransactionProvider (jOOQ's savepoints)
    // ---------------------------------------------------------------------------------------------------------------

    /** Whether the transaction has begun (on the server side: will begin with the first statement). */
    boolean begun() {
        return begun;
    }

    /** Starts the transaction (first call) or a savepoint for a nested transaction (later calls). */
    Savepoint begin() throws SQLException {
        if (begun) {
            return savepoints().set(null);
        }
        begun = true;
        // No round trip: the PostgreSQL driver sends BEGIN together with the first statement.
        if (connection.getAutoCommit()) {
            connection.setAutoCommit(false);
            autoCommitToRestore = true;
        }
        String settings = ServerSettings.atBegin(options, managerName, labelInApplicationName,
                readOnlyByDriver());
        if (deadline != null) {
            String timeouts = deadline.begin();
            settings = settings == null ? timeouts : settings + timeouts;
        }
        if (settings != null) {
            // One round trip for BEGIN and all settings; they end with the transaction, so nothing needs restoring.
            try (Statement statement = connection.createStatement()) {
                statement.execute(settings);
            }
        }
        return null;
    }

    /**
     * Asks the driver to begin the transaction {@code READ ONLY}, which it sends with the first statement instead of
     * a {@code SET TRANSACTION READ ONLY} round trip of its own. The PostgreSQL driver does so in its default
     * {@code readOnlyMode=transaction} (and in {@code always}); with {@code readOnlyMode=ignore}, or another driver,
     * this returns {@code false} and the access mode is set by statement. A deferrable transaction sets its
     * characteristics in one statement anyway.
     */
    private boolean readOnlyByDriver() throws SQLException {
        if (!options.isReadOnly() || options.readOnlySetting().isEmpty() || options.isDeferrable()
                || !connection.isWrapperFor(BaseConnection.class)) {
            return false;
        }
        if (!connection.isReadOnly()) { // a pool of replicas may hand out read-only connections: left as they are
            connection.setReadOnly(true);
            readOnlyToRestore = true;
        }
        return connection.unwrap(BaseConnection.class).hintReadOnly();
    }

    /** SQL text the transaction's code is about to run: the deadline looks for timeouts set by the code itself. */
    void sqlSeen(String sql) {
        if (deadline != null) {
            deadline.sqlSeen(sql);
        }
    }

    /** Before a statement is used (the gate has let it through): the deadline's turn. */
    void beforeStatement() {
        if (deadline != null && begun) {
            deadline.beforeStatement();
        }
    }

    /**
     * Before a result set moves to a row the driver holds already: the deadline's turn
     * ({@link DeadlineEnforcement#beforeFetch()}).
     */
    void beforeFetch() {
        if (deadline != null && begun) {
            deadline.beforeFetch();
        }
    }

    /**
     * Before a statement sends several statements the server answers together (a batch, SQL text holding several):
     * the deadline bounds them as a whole ({@link DeadlineEnforcement#limitStatementsSentTogether}).
     */
    void beforeStatementsSentTogether(Statement statement) throws SQLException {
        if (deadline != null && begun) {
            deadline.limitStatementsSentTogether(statement);
        }
    }

    void commit(Savepoint savepoint) {
        if (savepoint != null) {
            try {
                savepoints().release(savepoint);
            } catch (SQLException e) {
                throw new DataAccessException("Could not release the savepoint of a nested transaction: "
                        + e.getMessage(), e);
            }
            return;
        }
        CommitTicket ticket;
        try {
            if (deadline != null) {
                deadline.beforeEnd();
            }
            ticket = resolver == null ? null : CommitTicket.read(connection);
        } catch (SQLException e) {
            if (SqlStates.isConnectionFailure(e)) {
                // COMMIT was not sent: the transaction cannot have committed, and a retry is safe.
                state = State.FAILED;
                connectionBroken = true;
                throw new DataAccessException("The connection failed before COMMIT was sent (SQLSTATE "
                        + e.getSQLState() + "), so the transaction" + labelText() + " was rolled back: "
                        + e.getMessage(), e);
            }
            throw new DataAccessException("Could not read the transaction" + labelText() + "'s id before COMMIT"
                    + " (SQLSTATE " + e.getSQLState() + "), so it was rolled back: " + e.getMessage(), e);
        }
        try {
            connection.commit();
            state = State.COMMITTED;
        } catch (SQLException e) {
            if (SqlStates.isConnectionFailure(e) && ticket != null) {
                resolveLostCommit(ticket, e);
                return;
            }
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

    /**
     * The connection failed while COMMIT was in flight: asks the server what became of the transaction. Returns when
     * it committed (or wrote nothing, so that there is nothing to lose); throws a retryable failure when it rolled
     * back, and {@link CommitOutcomeUnknownException} when the server could not be asked in time.
     */
    private void resolveLostCommit(CommitTicket ticket, SQLException failure) {
        state = State.FAILED;
        connectionBroken = true;
        if (!ticket.wroteAnything()) {
            state = State.COMMITTED;
            log.debug("The connection failed while COMMIT of transaction{} was in flight; it wrote nothing, so"
                    + " nothing was lost", labelText());
            return;
        }
        long budgetNanos = deadline == null ? resolver.budgetWithoutDeadline().toNanos()
                : Math.max(deadline.deadline().remainingNanos(), RESOLUTION_GRACE_NANOS);
        CommitOutcomeResolver.Resolution resolution = resolver.resolve(ticket, budgetNanos);
        String lost = "The connection failed while COMMIT of transaction" + labelText() + " of SessionManager '"
                + managerName + "' was in flight (SQLSTATE " + failure.getSQLState() + ": " + failure.getMessage()
                + ")";
        switch (resolution.outcome()) {
            case COMMITTED -> {
                state = State.COMMITTED;
                log.warn("{}; the server says it committed: {}", lost, resolution.account());
            }
            case ABORTED -> {
                log.warn("{}; the server says it rolled back: {}", lost, resolution.account());
                throw new DataAccessException(lost + ", and the server says it rolled back, so nothing was committed"
                        + " and running it again is safe: " + resolution.account(), failure);
            }
            default -> {
                commitOutcomeUnknown = true;
                throw new CommitOutcomeUnknownException(lost + ", and the server could not tell whether it"
                        + " committed: " + resolution.account() + ". Check the data before doing the work again; it"
                        + " is not retried automatically", failure);
            }
        }
    }

    void rollback(Savepoint savepoint) {
        try {
            if (savepoint != null) {
                savepoints().rollbackTo(savepoint);
                return;
            }
            if (state == State.FAILED) {
                // The connection failed during COMMIT: there is nothing left to roll back on it.
                return;
            }
            if (connectionLost()) {
                // Closed already: the server ended the session (a FATAL such as idle_in_transaction_session_timeout's
                // or transaction_timeout's), which rolled the transaction back, and the driver or the pool closed the
                // connection on it. A ROLLBACK could only fail with "connection is closed", noise beside the
                // server's reason.
                state = State.FAILED;
                connectionBroken = true;
                return;
            }
            if (deadline != null) {
                deadline.beforeEnd();
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
        if (connectionLost()) {
            throw new RollbackOnlyException("The transaction" + labelText() + " was rolled back and nothing was"
                    + " committed: the connection to the server was lost while it ran, which rolls a transaction back,"
                    + " and the callback caught the failure and returned normally", null);
        }
        if (abortedOnServer()) {
            throw new RollbackOnlyException("The transaction" + labelText() + " was rolled back and nothing was"
                    + " committed: a statement failed inside it, so PostgreSQL aborted the transaction, and the"
                    + " callback caught the error and returned normally. Let the statement's exception propagate, or"
                    + " use a savepoint (Propagation.NESTED) around a statement that may fail", null);
        }
        if (deadline != null && deadline.deadline().hasPassed()) {
            throw deadline.deadline().exceeded(options, null);
        }
        if (owner.isInterrupted()) {
            throw new SessionException("The transaction" + labelText() + " was rolled back because thread "
                    + MessageParts.thread(owner) + " was interrupted while it ran; nothing was committed and the"
                    + " interrupt flag is kept");
        }
    }

    /**
     * Whether the connection is gone: the driver (or the pool, which replaces a broken connection by a closed one) says
     * so without a round trip. A transaction whose connection is gone cannot commit.
     */
    private boolean connectionLost() {
        try {
            return connection.isClosed();
        } catch (SQLException e) {
            return true;
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
     * The callback failed with {@code failure}, and the transaction is still open: when a statement failed on a lock
     * timeout, a deadline or a deadlock, asks the server who blocked it (within {@link LockDiagnostics#TIMEOUT}),
     * while the blockers are likely still there.
     */
    void diagnoseLockFailure(Throwable failure) {
        if (lockDiagnostics == null || lockReport != null) {
            return;
        }
        PSQLException lockFailure = LockDiagnostics.lockFailure(failure);
        if (lockFailure != null) {
            lockReport = lockDiagnostics.describe(lockFailure, ownPid(lockFailure));
            if (lockReport != null) {
                log.warn("Transaction{} of SessionManager '{}' failed on a lock (SQLSTATE {}: {}); {}", labelText(),
                        managerName, lockFailure.getSQLState(),
                        lockFailure.getMessage().lines().findFirst().orElse(""), lockReport);
            }
        }
    }

    /** This transaction's backend: the one a deadlock report starts with, else as the driver knows it. */
    private int ownPid(PSQLException failure) {
        String detail = failure.getServerErrorMessage() == null ? null : failure.getServerErrorMessage().getDetail();
        if (detail != null && detail.startsWith("Process ")) {
            int end = detail.indexOf(' ', "Process ".length());
            try {
                return Integer.parseInt(detail.substring("Process ".length(), end));
            } catch (RuntimeException e) {
                // Not the report's usual shape: ask the driver.
            }
        }
        try {
            return connection.unwrap(PGConnection.class).getBackendPID();
        } catch (SQLException e) {
            return -1;
        }
    }

    /**
     * What the caller gets for {@code failure}: a {@link TransactionTimeoutException} when it is the database
     * enforcing this transaction's deadline, naming the blocking backends when it was spent waiting for a lock;
     * otherwise the very exception the block threw, with the blocking backends attached as a suppressed
     * {@link SessionException} when a statement failed on a lock.
     */
    Throwable explain(Throwable failure) {
        if (deadline != null && !(failure instanceof TransactionTimeoutException)
                && !(failure instanceof CommitOutcomeUnknownException) && deadline.enforced(failure)) {
            return deadline.deadline().exceeded(options, failure, lockReport);
        }
        if (lockReport != null) {
            // The block's own exception stays the one thrown, never wrapped: the blockers ride along with it.
            failure.addSuppressed(new SessionException("Lock diagnostics: " + lockReport));
        }
        return failure;
    }

    /**
     * Ends the scope: nothing can use it any more. Returns {@code true} when the connection is fit to go back to the
     * pool as it is, {@code false} when it should be evicted (the transaction did not end cleanly).
     */
    boolean finish() {
        if (state == State.ACTIVE) {
            // jOOQ did not get to commit or roll back: begin() itself failed, or nothing began (the deadline had passed
            // by the time the connection came). The connection is healthy unless this rollback says otherwise; the
            // driver sends nothing when no transaction is open.
            try {
                if (!connection.getAutoCommit()) {
                    connection.rollback();
                }
                state = State.ROLLED_BACK;
            } catch (SQLException e) {
                state = State.FAILED;
                connectionBroken = true;
            }
        }
        State outcome = state;
        if (outcome == State.FAILED || connectionBroken) {
            return false;
        }
        try {
            // All local to the driver: no transaction is open, so no round trip. Read-only first, while auto-commit
            // is still off: with readOnlyMode=always the driver would otherwise send SET SESSION CHARACTERISTICS.
            if (readOnlyToRestore) {
                connection.setReadOnly(false);
            }
            if (autoCommitToRestore) {
                connection.setAutoCommit(true);
            }
            if (deadline != null) {
                deadline.restore();
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
    // State kept for the runner and the gate
    // ---------------------------------------------------------------------------------------------------------------

    State state() {
        return state;
    }

    /** The thread the transaction belongs to. */
    Thread owner() {
        return owner;
    }

    ConnectionGate gate() {
        return gate;
    }

    /** The afterCommit and afterRollback actions of this attempt; created on the first registration. */
    CompletionCallbacks completion() {
        if (completion == null) {
            completion = new CompletionCallbacks();
        }
        return completion;
    }

    /** Runs the completion actions, if any were registered, now that the outcome is final. */
    void runCompletionCallbacks(Throwable failure, InFlightTransactions inFlight) {
        if (completion != null) {
            completion.run(this, failure, inFlight);
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Savepoints: what rolling back to one undoes
    // ---------------------------------------------------------------------------------------------------------------

    /** The savepoints open in this transaction; created on the first one. */
    Savepoints savepoints() {
        if (savepoints == null) {
            savepoints = new Savepoints(connection, this);
        }
        return savepoints;
    }

    long serverTimeoutMillis() {
        return deadline == null ? DeadlineEnforcement.UNKNOWN : deadline.serverTimeoutMillis();
    }

    void restoreServerTimeout(long millis) {
        if (deadline != null) {
            deadline.restoreServerTimeout(millis);
        }
    }

    CompletionCallbacks.Position completionPosition() {
        return completion == null ? CompletionCallbacks.Position.NONE : completion.position();
    }

    void undoCompletionActionsSince(CompletionCallbacks.Position position) {
        if (completion != null) {
            completion.undoSince(position);
        }
    }

    void bind(DSLContext transactionDsl) {
        this.dsl = transactionDsl;
    }

    /** The transaction's {@code DSLContext}, as handed to the outermost callback. */
    DSLContext dsl() {
        return dsl;
    }

    /**
     * The isolation and access mode the transaction runs with: from its options when they say, else as PostgreSQL
     * reports them (one round trip, only for a joined call that asks for specific settings).
     */
    TransactionSettings actualSettings() {
        if (actualSettings == null) {
            actualSettings = ServerSettings.actual(connection, options);
        }
        return actualSettings;
    }

    /** How many pooled connections this thread holds through this scope and the ones it suspended. */
    int heldConnections() {
        return 1 + (suspendedParent == null ? 0 : suspendedParent.heldConnections());
    }

    boolean isSuspended() {
        return suspended;
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

    /**
     * Lets blocks join whatever isolation, access mode or deferrability they ask for: this transaction stands in for
     * the one they would begin (a test's, in rollback mode), rather than being one they are part of.
     */
    void standInForAnyJoin() {
        standsInForAnyJoin = true;
    }

    /** Whether {@link #standInForAnyJoin()} was called. */
    boolean standsInForAnyJoin() {
        return standsInForAnyJoin;
    }

    /**
     * Whether a block that would begin a transaction of its own is to run in this one's stead: it stands in for such
     * blocks, and none runs yet (blocks called inside that one join it, as they would join its own transaction).
     */
    boolean standsInForTheNextBlock() {
        return standsInForAnyJoin && blocksStoodInFor == 0;
    }

    /** A block runs in this transaction's stead ({@code +1}) or has ended ({@code -1}). */
    void blockStoodInFor(int change) {
        blocksStoodInFor += change;
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

    String managerName() {
        return managerName;
    }

    TransactionOptions options() {
        return options;
    }

    /** The deadline of this transaction, retries included, or {@code null} when it has none. */
    Deadline deadline() {
        return deadline == null ? null : deadline.deadline();
    }

    String labelText() {
        return MessageParts.label(options);
    }
}
