package io.managedsession;

import java.time.Duration;

/**
 * Receives what a SessionManager's transactions do, for metrics, tracing and the like; see
 * {@link SessionManager#addObserver(TransactionObserver)} and {@code io.managedsession.micrometer}.
 *
 * <p>Methods are called on the transaction's own thread, in order, so an implementation must be thread safe across
 * transactions, quick, and must not throw. An observer that throws, even an {@code Error} other than a
 * {@link VirtualMachineError}, is logged and otherwise ignored: it never changes a transaction's outcome. Only
 * transactions that begin are reported; calls that join a running transaction are part of it.
 */
public interface TransactionObserver {

    /**
     * A transaction is about to begin (before its first attempt takes a connection).
     *
     * @param managerName the SessionManager's name
     * @param options     the transaction's options
     */
    default void transactionStarted(String managerName, TransactionOptions options) {
    }

    /**
     * An attempt took a connection from the pool.
     *
     * @param managerName the SessionManager's name
     * @param waited      how long it waited for the connection
     */
    default void connectionAcquired(String managerName, Duration waited) {
    }

    /**
     * An attempt failed.
     *
     * @param managerName the SessionManager's name
     * @param options     the transaction's options
     * @param attempt     which attempt, from 1
     * @param failure     what it failed with
     * @param retrying    whether another attempt follows
     */
    default void attemptFailed(String managerName, TransactionOptions options, int attempt, Throwable failure,
            boolean retrying) {
    }

    /**
     * The transaction ended, after all its attempts and completion callbacks.
     *
     * @param transaction what happened
     */
    default void transactionCompleted(CompletedTransaction transaction) {
    }
}
