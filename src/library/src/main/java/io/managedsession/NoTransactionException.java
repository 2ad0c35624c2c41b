package io.managedsession;

/**
 * Thrown when something needs a running transaction on the calling thread and there is none: a
 * {@link Propagation#MANDATORY} call, or {@link SessionManager#afterCommit(Runnable)} outside a transaction.
 */
public class NoTransactionException extends SessionException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what needed a transaction
     */
    public NoTransactionException(String message) {
        super(message);
    }
}
