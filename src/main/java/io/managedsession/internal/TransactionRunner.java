package io.managedsession.internal;

import java.sql.Connection;
import java.util.Optional;

import org.jooq.Configuration;
import org.jooq.DSLContext;

import io.managedsession.SessionException;
import io.managedsession.TransactionCallback;

/**
 * Runs callbacks in transactions: joins the thread's running transaction, or begins one on a pooled connection
 * through {@code DSLContext.transactionResult} and ends it on every path.
 *
 * <p>Thread safety: one runner serves all threads; everything per transaction lives in a {@link TransactionScope}
 * that only its own thread touches.
 */
public final class TransactionRunner {

    private final Configuration baseConfiguration;
    private final PooledConnections connections;
    private final InFlightTransactions inFlight;
    private final ThreadScope threadScope = new ThreadScope();
    private final String managerName;

    /**
     * @param baseConfiguration dialect, settings and a {@link ScopeTransactionProvider}; each transaction derives
     *                          its own configuration from it with its scope as connection provider
     */
    public TransactionRunner(Configuration baseConfiguration, PooledConnections connections,
            InFlightTransactions inFlight, String managerName) {
        this.baseConfiguration = baseConfiguration;
        this.connections = connections;
        this.inFlight = inFlight;
        this.managerName = managerName;
    }

    /** Runs {@code callback} in this thread's transaction, or in a new one when there is none. */
    public <T, X extends Exception> T run(TransactionCallback<T, X> callback) throws X {
        TransactionScope current = threadScope.get();
        if (current != null) {
            return join(current, callback);
        }
        return runOutermost(callback);
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

    private static <T, X extends Exception> T join(TransactionScope scope, TransactionCallback<T, X> callback) throws X {
        try {
            return callback.run(scope.dsl());
        } catch (Throwable failure) {
            // The joined block shares the transaction: it may no longer commit, even if the outer block swallows this.
            scope.markRollbackOnly(failure);
            throw failure;
        }
    }

    private <T, X extends Exception> T runOutermost(TransactionCallback<T, X> callback) throws X {
        inFlight.enter();
        try {
            Thread thread = Thread.currentThread();
            if (thread.isInterrupted()) {
                throw new SessionException("No transaction was started: thread " + TransactionScope.describe(thread)
                        + " is interrupted (its interrupt flag is kept)");
            }
            Connection connection = connections.acquire();
            TransactionScope scope = new TransactionScope(connection, thread, managerName);
            TransactionScope previous = threadScope.enter(scope);
            Throwable failure = null;
            try {
                return execute(scope, callback);
            } catch (Throwable t) {
                failure = t;
                throw t;
            } finally {
                threadScope.leave(previous);
                connections.release(connection, scope.finish(), failure);
            }
        } finally {
            inFlight.exit();
        }
    }

    private <T, X extends Exception> T execute(TransactionScope scope, TransactionCallback<T, X> callback) throws X {
        try {
            return baseConfiguration.derive(scope).dsl().transactionResult(configuration -> {
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
}
