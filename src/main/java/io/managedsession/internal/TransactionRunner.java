package io.managedsession.internal;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.Isolation;
import io.managedsession.NoTransactionException;
import io.managedsession.SessionException;
import io.managedsession.TransactionCallback;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * Runs callbacks in transactions according to their options: joins the thread's running transaction, opens a
 * savepoint in it, or begins one (suspending the running one for REQUIRES_NEW) on a pooled connection through
 * {@code DSLContext.transactionResult}, retries it when allowed, ends it on every path, and then runs its completion
 * callbacks.
 *
 * <p>Thread safety: one runner serves all threads; everything per transaction lives in a {@link TransactionScope}
 * that only its own thread touches.
 */
public final class TransactionRunner {

    private static final Logger log = LoggerFactory.getLogger(TransactionRunner.class);

    private final DSLContext baseDsl;
    private final PooledConnections connections;
    private final InFlightTransactions inFlight;
    private final ThreadScope threadScope = new ThreadScope();
    private final String managerName;
    private final Instrumentation instrumentation;
    private final boolean labelInApplicationName;

    /**
     * @param baseConfiguration      dialect and settings; the runner adds its {@link ScopeTransactionProvider}, and
     *                               each transaction gets jOOQ's copy of it with its scope as connection provider
     * @param labelInApplicationName whether a labelled transaction sets {@code application_name} to its label
     */
    public TransactionRunner(Configuration baseConfiguration, PooledConnections connections,
            InFlightTransactions inFlight, String managerName, Instrumentation instrumentation,
            boolean labelInApplicationName) {
        this.baseDsl = baseConfiguration.derive(new ScopeTransactionProvider(threadScope)).dsl();
        this.connections = connections;
        this.inFlight = inFlight;
        this.managerName = managerName;
        this.instrumentation = instrumentation;
        this.labelInApplicationName = labelInApplicationName;
    }

    /** Runs {@code callback} as {@code options} say. */
    public <T, X extends Exception> T run(TransactionOptions options, TransactionCallback<T, X> callback) throws X {
        TransactionScope current = threadScope.get();
        switch (options.propagation()) {
            case REQUIRED:
                return current != null ? join(current, options, callback) : runWithRetries(options, callback, null);
            case MANDATORY:
                if (current == null) {
                    throw new NoTransactionException("A MANDATORY transactional call" + label(options) + " found no"
                            + " running transaction of SessionManager '" + managerName + "' on thread "
                            + TransactionScope.describe(Thread.currentThread()));
                }
                return join(current, options, callback);
            case NESTED:
                return current != null ? nested(current, options, callback) : runWithRetries(options, callback, null);
            case REQUIRES_NEW:
                return runWithRetries(options, callback, current);
            default:
                throw new IllegalArgumentException("Unknown propagation " + options.propagation());
        }
    }

    /** The {@code DSLContext} of this thread's transaction, if it runs one. */
    public Optional<DSLContext> current() {
        TransactionScope scope = threadScope.get();
        return scope == null ? Optional.empty() : Optional.ofNullable(scope.dsl());
    }

    /** Whether the calling thread is inside a transaction of this manager. */
    public boolean inTransaction() {
        return threadScope.get() != null;
    }

    /** Registers an action to run once after this thread's transaction commits. */
    public void afterCommit(Runnable action) {
        runningScope("afterCommit").addAfterCommit(action);
    }

    /** Registers an action to run once after this thread's transaction rolls back. */
    public void afterRollback(Runnable action) {
        runningScope("afterRollback").addAfterRollback(action);
    }

    private TransactionScope runningScope(String what) {
        TransactionScope scope = threadScope.get();
        if (scope == null) {
            throw new NoTransactionException(what + "(...) needs a running transaction of SessionManager '"
                    + managerName + "' on thread " + TransactionScope.describe(Thread.currentThread())
                    + ", and there is none; call it from inside sessions.transaction(...)");
        }
        return scope;
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
        Throwable doomedBefore = scope.rollbackOnlyCause();
        Throwable[] callbackFailure = new Throwable[1];
        try {
            // jOOQ's nested transactionResult: the ScopeTransactionProvider makes it a savepoint.
            return scope.dsl().transactionResult(configuration -> {
                try {
                    return callback.run(configuration.dsl());
                } catch (Throwable t) {
                    callbackFailure[0] = t;
                    throw t;
                }
            });
        } catch (Throwable thrown) {
            // Rolled back to the savepoint: whatever failed inside it, a joined block included, is undone with it.
            scope.restoreRollbackOnly(doomedBefore);
            throw ExceptionTunnel.<X>rethrow(thrown, callbackFailure[0]);
        }
    }

    /** A call that joins a running transaction must not ask for other settings than it has. */
    private void checkCompatible(TransactionOptions requested, TransactionScope running) {
        if (requested.isolation().isEmpty() && requested.readOnlySetting().isEmpty()) {
            return;
        }
        TransactionSettings actual = running.actualSettings();
        if (requested.isolation().isPresent() && requested.isolation().get() != actual.isolation()) {
            throw new SessionException("A " + requested.propagation() + " call" + label(requested) + " asks for"
                    + " isolation " + requested.isolation().get() + " but the running transaction" + running.labelText()
                    + " it would join has isolation " + actual.isolation() + "; use the same isolation, or"
                    + " REQUIRES_NEW for a transaction of its own");
        }
        if (requested.readOnlySetting().isPresent() && requested.isReadOnly() != actual.readOnly()) {
            throw new SessionException("A " + requested.propagation() + " call" + label(requested) + " asks for a "
                    + accessMode(requested.isReadOnly()) + " transaction but the running transaction"
                    + running.labelText() + " it would join is " + accessMode(actual.readOnly()) + "; use the same"
                    + " access mode, or REQUIRES_NEW for a transaction of its own");
        }
    }

    private static String accessMode(boolean readOnly) {
        return readOnly ? "read-only" : "read-write";
    }

    /** What the running transaction actually has, as PostgreSQL reports it. */
    record TransactionSettings(Isolation isolation, boolean readOnly) {
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Transactions that begin: retries, one attempt, completion callbacks
    // ---------------------------------------------------------------------------------------------------------------

    private <T, X extends Exception> T runWithRetries(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended) throws X {
        long startNanos = System.nanoTime();
        TransactionFlightEvent event = instrumentation.started(options);
        Deadline deadline = options.deadline().map(Deadline::startingNow).orElse(null);
        List<Throwable> earlier = null;
        Throwable finalFailure = null;
        int attempt = 1;
        try {
            for (; ; attempt++) {
                try {
                    return runOnce(options, callback, suspended, deadline, attempt);
                } catch (Throwable failure) {
                    boolean retry = shouldRetry(options, failure, attempt, deadline);
                    instrumentation.attemptFailed(options, attempt, failure, retry);
                    if (!retry) {
                        attach(failure, earlier);
                        finalFailure = failure;
                        throw failure;
                    }
                    if (earlier == null) {
                        earlier = new ArrayList<>(options.maxAttempts() - 1);
                    }
                    earlier.add(failure);
                    if (!pauseBeforeAttempt(options, attempt, deadline, failure)) {
                        earlier.remove(earlier.size() - 1);
                        attach(failure, earlier);
                        finalFailure = failure;
                        throw failure;
                    }
                }
            }
        } finally {
            instrumentation.completed(startNanos, event, options, attempt, finalFailure);
        }
    }

    private static boolean shouldRetry(TransactionOptions options, Throwable failure, int attempt, Deadline deadline) {
        return attempt < options.maxAttempts()
                && !(failure instanceof CommitOutcomeUnknownException)
                && !(failure instanceof TransactionTimeoutException)
                && (deadline == null || !deadline.hasPassed())
                && !Thread.currentThread().isInterrupted()
                && options.retryOn().test(failure);
    }

    /**
     * Waits a full-jitter backoff, never past the deadline.
     *
     * @return {@code false} when the wait was interrupted (the flag is set again)
     */
    private boolean pauseBeforeAttempt(TransactionOptions options, int attempt, Deadline deadline, Throwable failure) {
        long capNanos = options.initialBackoff().toNanos() << Math.min(attempt - 1, 30);
        capNanos = Math.min(capNanos <= 0 ? Long.MAX_VALUE : capNanos, options.maxBackoff().toNanos());
        long pauseNanos = ThreadLocalRandom.current().nextLong(capNanos + 1);
        if (deadline != null) {
            pauseNanos = Math.max(0, Math.min(pauseNanos, deadline.remainingNanos()));
        }
        log.info("Transaction{} of SessionManager '{}' failed on attempt {} of {} (SQLSTATE {}: {}); running it again"
                + " in {} ms", label(options), managerName, attempt, options.maxAttempts(), SqlStates.sqlState(failure),
                failure.getMessage(), TimeUnit.NANOSECONDS.toMillis(pauseNanos));
        try {
            TimeUnit.NANOSECONDS.sleep(pauseNanos);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void attach(Throwable failure, List<Throwable> earlier) {
        if (earlier != null) {
            for (Throwable previous : earlier) {
                if (previous != failure) {
                    failure.addSuppressed(previous);
                }
            }
        }
    }

    private <T, X extends Exception> T runOnce(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended, Deadline deadline, int attempt) throws X {
        inFlight.enter();
        try {
            Thread thread = Thread.currentThread();
            if (thread.isInterrupted()) {
                throw new SessionException("No transaction was started: thread " + TransactionScope.describe(thread)
                        + " is interrupted (its interrupt flag is kept)");
            }
            if (deadline != null && deadline.hasPassed()) {
                // Not even worth a connection: the time ran out before this attempt could begin.
                throw TransactionScope.timeout(options, deadline, null);
            }
            long beforeAcquire = System.nanoTime();
            Connection connection = connections.acquire(suspended == null ? 0 : suspended.heldConnections());
            long acquired = System.nanoTime();
            instrumentation.connectionAcquired(acquired - beforeAcquire);
            LeakDetector.Watch watch = instrumentation.watch(options);
            instrumentation.attemptBegan(options, attempt);
            TransactionScope scope = new TransactionScope(connection, thread, managerName, options, deadline,
                    suspended, attempt, labelInApplicationName);
            TransactionScope previous = threadScope.enter(scope);
            if (previous != null) {
                previous.suspend();
            }
            T result = null;
            Throwable failure = null;
            try {
                result = execute(scope, callback);
            } catch (Throwable t) {
                failure = scope.asTimeoutIfDeadlineEnforced(t);
            } finally {
                threadScope.leave(previous);
                if (previous != null) {
                    previous.resume();
                }
                connections.release(connection, scope.finish(), failure);
                if (watch != null) {
                    watch.ended();
                }
            }
            instrumentation.attemptEnded(options, attempt, acquired, failure);
            runCompletionCallbacks(scope, failure);
            if (failure != null) {
                throw ExceptionTunnel.<X>rethrow(failure, failure);
            }
            return result;
        } finally {
            inFlight.exit();
        }
    }

    private <T, X extends Exception> T execute(TransactionScope scope, TransactionCallback<T, X> callback) throws X {
        try {
            return baseDsl.transactionResult(configuration -> {
                DSLContext ctx = configuration.dsl();
                scope.bind(ctx);
                T result;
                try {
                    result = callback.run(ctx);
                } catch (Throwable t) {
                    scope.callbackFailed(t);
                    throw t;
                }
                scope.beforeCommit();
                return result;
            });
        } catch (Throwable thrown) {
            throw ExceptionTunnel.<X>rethrow(thrown, scope.callbackFailure());
        }
    }

    /**
     * Runs the callbacks registered in the transaction, now that its outcome is final and its connection is back in
     * the pool. A failing afterCommit action is logged at WARN and never undoes the commit; a failing afterRollback
     * action is attached to the exception the caller receives. When the outcome is unknown (the connection failed
     * during COMMIT), neither kind runs.
     */
    private void runCompletionCallbacks(TransactionScope scope, Throwable failure) {
        if (scope.committed()) {
            for (Runnable action : scope.afterCommitActions()) {
                try {
                    action.run();
                } catch (RuntimeException | Error e) {
                    Throwables.rethrowIfFatal(e);
                    log.warn("An afterCommit action of transaction{} of SessionManager '{}' failed; the transaction"
                            + " stays committed and the remaining actions still run", scope.labelText(), managerName, e);
                }
            }
        } else if (scope.rolledBack()) {
            for (Runnable action : scope.afterRollbackActions()) {
                try {
                    action.run();
                } catch (RuntimeException | Error e) {
                    Throwables.rethrowIfFatal(e);
                    if (failure != null && failure != e) {
                        failure.addSuppressed(e);
                    } else {
                        log.warn("An afterRollback action of transaction{} of SessionManager '{}' failed",
                                scope.labelText(), managerName, e);
                    }
                }
            }
        } else if (!scope.afterCommitActions().isEmpty() || !scope.afterRollbackActions().isEmpty()) {
            log.warn("Transaction{} of SessionManager '{}' lost its connection during COMMIT, so its outcome is"
                    + " unknown: none of its {} afterCommit and {} afterRollback action(s) ran", scope.labelText(),
                    managerName, scope.afterCommitActions().size(), scope.afterRollbackActions().size());
        }
    }

    private static String label(TransactionOptions options) {
        return TransactionScope.labelText(options);
    }
}
