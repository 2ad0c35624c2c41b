package io.managedsession;

/**
 * Thrown when the connection failed while COMMIT was in flight, so that nobody on this side can know whether the
 * transaction committed.
 *
 * <p>The server may have committed and lost only the reply, or it may have rolled back. The caller must find out
 * (for example by looking for the row it wrote, or by an idempotency key) before doing the work again. managed-session
 * never retries a transaction after this exception.
 */
public class CommitOutcomeUnknownException extends SessionException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what happened
     * @param cause   the connection failure seen during COMMIT
     */
    public CommitOutcomeUnknownException(String message, Throwable cause) {
        super(message, cause);
    }
}
