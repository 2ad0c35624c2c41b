package io.managedsession;

import org.jooq.DSLContext;

/**
 * A unit of work that runs inside a transaction and returns a result.
 *
 * <p>The exception type parameter lets the callback throw a checked exception that the caller of
 * {@link SessionManager#transactionResult(TransactionCallback)} sees unchanged: the transaction is rolled back and the
 * very same exception object is rethrown, never wrapped.
 *
 * @param <T> the result type
 * @param <X> the checked exception the callback may throw; use {@link RuntimeException} when it throws none
 */
@FunctionalInterface
public interface TransactionCallback<T, X extends Exception> {

    /**
     * Runs the unit of work.
     *
     * @param ctx the transaction's {@code DSLContext}; valid only on the calling thread and only until this method
     *            returns
     * @return the result, handed back to the caller after the transaction commits
     * @throws X to roll the transaction back; the caller receives the same exception
     */
    T run(DSLContext ctx) throws X;
}
