package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.Optional;

import javax.sql.DataSource;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CommitPosition;
import io.managedsession.NoTransactionException;
import io.managedsession.SessionException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionCallback;
import io.managedsession.TransactionOptions;

/**
 * Runs callbacks in transactions according to their propagation: joins the thread's running transaction, opens a
 * savepoint in it, or begins one (suspending the running one for REQUIRES_NEW). A transaction that begins runs its
 * attempts through the {@link RetryLoop}; each attempt takes a pooled connection, runs the callback in a transaction
 * on it, ends it on every path, gives the connection back, and then runs the completion
 * callbacks.
 *
 * <p>Thread safety: one runner serves all threads; everything per transaction lives in a {@link TransactionScope}
 * that only its own thread touches.
 */
public final class TransactionRunner implements RetryLoop.Attempt {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final Configuration baseConfiguration;
    private final ServerRouter router;
    private final InFlightTransactions inFlight;
    private final ThreadScope threadScope = new ThreadScope();
    private final String managerName;
    private final Instrumentation instrumentation;
    private final RetryLoop retryLoop;
    private final boolean labelInApplicationName;
    private final ThreadLocal<CommitPosition> lastCommitPosition = new ThreadLocal<>();
    private final CommitOutcomeResolver resolver;
    private final boolean resolveByDefault;
    private final LockDiagnostics lockDiagnostics;
    private final DSLContext currentTransactionDsl;
    private final DataSource currentTransactionDataSource;

    /**
     * @param baseConfiguration      dialect and settings; the runner adds its {@link ScopeTransactionProvider}, and
     *                               each transaction reads it through a {@link TransactionConfiguration} with its
     *                               scope's gate as connection provider
     * @param labelInApplicationName whether a labelled transaction sets {@code application_name} to its label
     * @param resolver               asks the server about a COMMIT whose connection failed
     * @param resolveByDefault       whether transactions whose options do not say resolve commit outcomes
     * @param lockDiagnostics        names who blocked a statement that failed on a lock, or {@code null} when off
     */
    TransactionRunner(Configuration baseConfiguration, ServerRouter router, InFlightTransactions inFlight,
            String managerName, Instrumentation instrumentation, boolean labelInApplicationName,
            CommitOutcomeResolver resolver, boolean resolveByDefault, LockDiagnostics lockDiagnostics) {
        this.baseConfiguration = baseConfiguration.derive(new ScopeTransactionProvider());
        String none = " of SessionManager '" + managerName + "', and this thread runs none: call it from inside"
                + " sessions.transaction(...)";
        this.currentTransactionDsl = this.baseConfiguration.derive(new CurrentTransactionConnections(threadScope,
                "sessions.dsl() runs each statement in the calling thread's transaction" + none)).dsl();
        this.currentTransactionDataSource = new CurrentTransactionDataSource(new CurrentTransactionConnections(
                threadScope, "sessions.transactionalDataSource() hands out the connection of the calling thread's"
                        + " transaction" + none + ", or take a connection of sessions.dataSource()"), managerName);
        this.router = router;
        this.inFlight = inFlight;
        this.managerName = managerName;
        this.instrumentation = instrumentation;
        this.retryLoop = new RetryLoop(instrumentation, inFlight, managerName);
        this.labelInApplicationName = labelInApplicationName;
        this.resolver = resolver;
        this.resolveByDefault = resolveByDefault;
        this.lockDiagnostics = lockDiagnostics;
    }

    /** Runs {@code callback} as {@code options} say. */
    public <T, X extends Exception> T run(TransactionOptions options, TransactionCallback<T, X> callback) throws X {
        TransactionScope current = threadScope.get();
        return switch (options.propagation()) {
            case REQUIRED -> current == null ? begin(options, callback, null)
                    : current.standsInForTheNextBlock() ? standIn(current, callback) : join(current, options, callback);
            case MANDATORY -> join(mandatory(current, options), options, callback);
            case NESTED -> current == null ? begin(options, callback, null)
                    : current.standsInForTheNextBlock() ? standIn(current, callback) : nested(current, options, callback);
            case REQUIRES_NEW -> begin(options, callback, current);
        };
    }

    /**
     * One {@code DSLContext} for every thread, that runs each statement in the calling thread's transaction and refuses
     * on a thread that runs none.
     */
    public DSLContext currentTransactionDsl() {
        return currentTransactionDsl;
    }

    /**
     * One {@code DataSource} for every thread, whose connections are the calling thread's transaction's, and which
     * refuses on a thread that runs none.
     */
    public DataSource currentTransactionDataSource() {
        return currentTransactionDataSource;
    }

    /** The {@code DSLContext} of this thread's transaction, if it runs one. */
    public Optional<DSLContext> current() {
        TransactionScope scope = threadScope.get();
        return scope == null ? Optional.empty() : Optional.ofNullable(scope.dsl());
    }

    /**
     * Where the last read-write transaction this thread committed stands in the WAL; empty without replicas, before
     * the first such commit, or when the position could not be read.
     */
    public Optional<CommitPosition> lastCommitPosition() {
        return Optional.ofNullable(lastCommitPosition.get());
    }

    /** Whether the calling thread is inside a transaction of this manager. */
    public boolean inTransaction() {
        return threadScope.get() != null;
    }

    /** Registers an action to run once after this thread's transaction commits. */
    public void afterCommit(Runnable action) {
        runningScope("afterCommit").completion().addAfterCommit(action);
    }

    /** Registers an action to run once after this thread's transaction rolls back. */
    public void afterRollback(Runnable action) {
        runningScope("afterRollback").completion().addAfterRollback(action);
    }

    private TransactionScope runningScope(String what) {
        TransactionScope scope = threadScope.get();
        if (scope == null) {
            throw new NoTransactionException(what + "(...) needs a running transaction of SessionManager '"
                    + managerName + "' on thread " + MessageParts.thread(Thread.currentThread())
                    + ", and there is none; call it from inside sessions.transaction(...)");
        }
        return scope;
    }

    private TransactionScope mandatory(TransactionScope current, TransactionOptions options) {
        if (current == null) {
            throw new NoTransactionException("A MANDATORY transactional call" + MessageParts.label(options)
                    + " found no running transaction of SessionManager '" + managerName + "' on thread "
                    + MessageParts.thread(Thread.currentThread()));
        }
        return current;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Joining and savepoints
    // ---------------------------------------------------------------------------------------------------------------

    private <T, X extends Exception> T join(TransactionScope scope, TransactionOptions options,
            TransactionCallback<T, X> callback) throws X {
        checkCompatible(options, scope);
        try {
            return callback.run(scope.dsl());
        } catch (Throwable failure) {
            // The joined block shares the transaction: it may no longer commit, even if the outer block swallows this.
            scope.markRollbackOnly(failure);
            throw failure;
        }
    }

    private <T, X extends Exception> T nested(TransactionScope scope, TransactionOptions options,
            TransactionCallback<T, X> callback) throws X {
        checkCompatible(options, scope);
        return inSavepoint(scope, callback, false);
    }

    /**
     * Runs the callback in a savepoint of the scope's transaction: jOOQ's nested transactionResult, which the
     * ScopeTransactionProvider makes a savepoint, so that rolling back to it undoes whatever failed inside it, a joined
     * block included (see Savepoints). With {@code mayNotRelease}, what would stop a transaction of the block's own
     * from committing ({@link TransactionScope#beforeCommit()}) rolls back to the savepoint too, and is thrown.
     */
    private <T, X extends Exception> T inSavepoint(TransactionScope scope, TransactionCallback<T, X> callback,
            boolean mayNotRelease) throws X {
        Throwable[] callbackFailure = new Throwable[1];
        try {
            return scope.dsl().transactionResult(configuration -> {
                T result;
                try {
                    result = callback.run(configuration.dsl());
                } catch (Throwable t) {
                    callbackFailure[0] = t;
                    throw t;
                }
                if (mayNotRelease) {
                    scope.beforeCommit();
                }
                return result;
            });
        } catch (Throwable thrown) {
            throw ExceptionTunnel.<X>rethrow(thrown, callbackFailure[0]);
        }
    }

    /**
     * Runs a block that would begin a transaction of its own in a savepoint of the {@link #holdUntilRolledBack() held}
     * transaction, which stands in for it: what the block's own transaction would undo, a failure of the block, or
     * one it may not commit after (a joined block failed, a statement failed and was caught), is rolled back to the
     * savepoint and thrown as its own transaction would throw it, and the held transaction goes on usable.
     */
    private <T, X extends Exception> T standIn(TransactionScope scope, TransactionCallback<T, X> callback) throws X {
        scope.blockStoodInFor(+1);
        try {
            return inSavepoint(scope, callback, true);
        } finally {
            scope.blockStoodInFor(-1);
        }
    }

    /** A call that joins a running transaction must not ask for other settings than it has. */
    private void checkCompatible(TransactionOptions requested, TransactionScope running) {
        if (requested.isolation().isEmpty() && requested.readOnlySetting().isEmpty() || running.standsInForAnyJoin()) {
            return;
        }
        TransactionSettings actual = running.actualSettings();
        if (requested.isolation().isPresent() && requested.isolation().get() != actual.isolation()) {
            throw new SessionException("A " + requested.propagation() + " call" + MessageParts.label(requested)
                    + " asks for isolation " + requested.isolation().get() + " but the running transaction"
                    + running.labelText() + " it would join has isolation " + actual.isolation() + "; use the same"
                    + " isolation, or REQUIRES_NEW for a transaction of its own");
        }
        if (requested.readOnlySetting().isPresent() && requested.isReadOnly() != actual.readOnly()) {
            throw new SessionException("A " + requested.propagation() + " call" + MessageParts.label(requested)
                    + " asks for a " + accessMode(requested.isReadOnly()) + " transaction but the running transaction"
                    + running.labelText() + " it would join is " + accessMode(actual.readOnly()) + "; use the same"
                    + " access mode, or REQUIRES_NEW for a transaction of its own");
        }
        if (requested.isDeferrable() && !actual.deferrable()) {
            // Joining would give the caller a snapshot that can still fail with a serialization failure.
            throw new SessionException("A " + requested.propagation() + " call" + MessageParts.label(requested)
                    + " asks for a DEFERRABLE transaction but the running transaction" + running.labelText()
                    + " it would join is not deferrable; use REQUIRES_NEW for a transaction of its own");
        }
    }

    private static String accessMode(boolean readOnly) {
        return readOnly ? "read-only" : "read-write";
    }

    // ---------------------------------------------------------------------------------------------------------------
    // A transaction held open without a block (test support)
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Begins a transaction on this thread, with the default options, that stays open until the returned handle rolls
     * it back: every block this thread runs meanwhile joins it, whatever isolation or access mode it asks for, since
     * this transaction stands in for the one the block would begin. For rollback mode of {@code @DatabaseTest}, whose
     * transaction has to span calls JUnit makes one after another; nothing else uses it, so it leaves out what only
     * transactions of blocks have: retries, deadlines, metrics and observers.
     *
     * @throws IllegalStateException when this thread already runs a transaction of this manager
     */
    public HeldTransaction holdUntilRolledBack() {
        Thread thread = Thread.currentThread();
        if (threadScope.get() != null) {
            throw new IllegalStateException("Thread " + MessageParts.thread(thread) + " already runs a transaction of"
                    + " SessionManager '" + managerName + "'");
        }
        TransactionOptions options = TransactionOptions.defaults();
        ServerRouter.Lease lease = router.acquire(options, 0, null);
        TransactionScope scope = new TransactionScope(lease.connection(), thread, managerName, options, null, null,
                labelInApplicationName, null, lockDiagnostics);
        scope.standInForAnyJoin();
        try {
            scope.bind(new TransactionConfiguration(baseConfiguration, scope.gate()).dsl());
            scope.begin();
        } catch (SQLException e) {
            router.release(lease, scope.finish(), e);
            throw new DataAccessException("Could not begin a transaction: " + e.getMessage(), e);
        } catch (RuntimeException | Error e) {
            router.release(lease, scope.finish(), e);
            throw e;
        }
        threadScope.enter(scope);
        return new HeldTransaction(this, scope, lease);
    }

    /** Ends a {@link HeldTransaction}: rollback, connection back (evicted unless clean), afterRollback actions. */
    void rollBackHeld(TransactionScope scope, ServerRouter.Lease lease) {
        RuntimeException failure = null;
        try {
            scope.rollback(null);
        } catch (RuntimeException e) {
            failure = e;
        } finally {
            if (threadScope.get() == scope) {
                threadScope.leave(null);
            }
            router.release(lease, scope.finish(), failure);
        }
        scope.runCompletionCallbacks(failure, inFlight);
        if (failure != null) {
            throw failure;
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Transactions that begin: one attempt
    // ---------------------------------------------------------------------------------------------------------------

    private <T, X extends Exception> T begin(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended) throws X {
        return retryLoop.run(options, callback, suspended, this);
    }

    /**
     * One attempt: takes a connection where the {@link ServerRouter} says (waiting no longer than the deadline), runs
     * the callback in a transaction on it, gives the connection back on every path, the JVM's own errors included,
     * then runs the completion actions. With read replicas, a read-write transaction that committed first notes its
     * commit position for read-your-writes.
     */
    @Override
    public <T, X extends Exception> T attempt(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended, TransactionRun run) throws X {
        Thread thread = Thread.currentThread();
        if (thread.isInterrupted()) {
            throw new SessionException("No transaction was started: thread " + MessageParts.thread(thread)
                    + " is interrupted (its interrupt flag is kept)");
        }
        boolean timed = run.timed();
        long beforeAcquire = timed ? System.nanoTime() : 0;
        ServerRouter.Lease lease = router.acquire(options, suspended == null ? 0 : suspended.heldConnections(),
                run.deadline());
        // From here on the connection is this attempt's: every path, whatever it throws, gives it back exactly once.
        Connection connection = lease.connection();
        TransactionScope scope = null;
        LeakDetector.Watch watch = null;
        T result = null;
        Throwable failure = null;
        long acquired = timed ? System.nanoTime() : 0;
        try {
            run.ranOn(lease.route(), lease.serverName());
            if (timed) {
                instrumentation.connectionAcquired(acquired - beforeAcquire);
            }
            watch = instrumentation.watch(options);
            instrumentation.attemptBegan(options, run);
            scope = new TransactionScope(connection, thread, managerName, options, run.deadline(), suspended,
                    labelInApplicationName, resolves(options) ? resolver : null, lockDiagnostics);
            TransactionScope previous = threadScope.enter(scope);
            try {
                if (previous != null) {
                    previous.suspend();
                }
                result = execute(scope, callback);
            } finally {
                threadScope.leave(previous);
                if (previous != null) {
                    previous.resume();
                }
            }
        } catch (Throwable t) {
            failure = scope == null ? t : scope.explain(t);
        } finally {
            // A scope that never began leaves the connection as it came: fit for the pool.
            boolean reusable = scope == null || scope.finish();
            if (reusable && scope != null && scope.committed() && router.hasReplicas() && !options.isReadOnly()) {
                reusable = noteCommitPosition(connection, options);
            }
            router.release(lease, reusable, failure);
            if (watch != null) {
                watch.ended();
            }
        }
        if (timed) {
            instrumentation.attemptEnded(options, run.attempt(), acquired, failure);
        }
        if (scope != null) {
            scope.runCompletionCallbacks(failure, inFlight);
        }
        if (failure != null) {
            throw ExceptionTunnel.<X>rethrow(failure, failure);
        }
        return result;
    }

    /** Whether a lost COMMIT of a transaction with {@code options} is resolved: never for a read-only one. */
    private boolean resolves(TransactionOptions options) {
        return !options.isReadOnly() && options.resolveCommitOutcomeSetting().orElse(resolveByDefault);
    }

    /**
     * Notes where a commit stands, for {@link #lastCommitPosition()}; returns whether the connection is still fit for
     * the pool. The commit stands either way: failing to read its position only costs read-your-writes for this one
     * commit, which a WARN says.
     */
    private boolean noteCommitPosition(Connection connection, TransactionOptions options) {
        try {
            lastCommitPosition.set(ServerRouter.commitPosition(connection));
            return true;
        } catch (SQLException | RuntimeException e) {
            lastCommitPosition.remove();
            log.warn("Transaction{} of SessionManager '{}' committed, but its commit position could not be read, so"
                    + " lastCommitPosition() is empty and a read that should see this commit may run on a replica"
                    + " that has not replayed it yet: {}", MessageParts.label(options), managerName, e.getMessage());
            return false;
        }
    }

    /**
     * Runs the callback in the scope's transaction: begins it, commits when the callback returns, rolls back when it
     * throws (or when the transaction may not commit), on every path. jOOQ's {@code transactionResult} would do the
     * same, but derives a full copy of the configuration per transaction; the scope drives the connection itself,
     * and the callback's {@code DSLContext} reads the manager's configuration through a {@link TransactionConfiguration}.
     * A {@code ctx.transaction(...)} inside it is jOOQ's again, a savepoint through the {@link ScopeTransactionProvider}.
     */
    private <T, X extends Exception> T execute(TransactionScope scope, TransactionCallback<T, X> callback) throws X {
        DSLContext ctx = new TransactionConfiguration(baseConfiguration, scope.gate()).dsl();
        scope.bind(ctx);
        scope.gate().check();
        try {
            scope.begin();
        } catch (SQLException e) {
            throw new DataAccessException("Could not begin a transaction: " + e.getMessage(), e);
        }
        T result;
        try {
            result = callback.run(ctx);
        } catch (Throwable t) {
            scope.callbackFailed(t);
            scope.diagnoseLockFailure(t);
            throw rolledBack(scope, t);
        }
        try {
            scope.beforeCommit();
            scope.commit(null);
        } catch (Throwable t) {
            throw rolledBack(scope, t);
        }
        return result;
    }

    /**
     * Rolls the transaction back after {@code failure}, which stays the exception thrown; a failed rollback rides along
     * as suppressed, as with jOOQ.
     */
    private static <X extends Exception> RuntimeException rolledBack(TransactionScope scope, Throwable failure) throws X {
        try {
            scope.rollback(null);
        } catch (Throwable rollbackFailure) {
            failure.addSuppressed(rollbackFailure);
        }
        throw ExceptionTunnel.<X>rethrow(failure, failure);
    }
}
