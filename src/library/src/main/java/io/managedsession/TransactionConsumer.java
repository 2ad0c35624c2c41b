package io.managedsession;

import org.jooq.DSLContext;

/**
 * A unit of work that runs inside a transaction and returns nothing.
 *
 * @param <X> the checked exception the consumer may throw; use {@link RuntimeException} when it throws none
 * @see TransactionCallback
 */
@FunctionalInterface
public interface TransactionConsumer<X extends Exception> {

    /**
     * Runs the unit of work.
     *
     * @param ctx the transaction's {@code DSLContext}; valid only on the calling thread and only until this method
     *            returns
     * @throws X to roll the transaction back; the caller receives the same exception
     */
    void run(DSLContext ctx) throws X;
}
