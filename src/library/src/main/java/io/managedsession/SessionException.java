package io.managedsession;

/**
 * The base of every exception that managed-session itself raises.
 *
 * <p>Exceptions thrown by a transaction's callback are never wrapped in this type: they reach the caller unchanged.
 * SQL errors raised by jOOQ while the callback runs stay jOOQ's {@link org.jooq.exception.DataAccessException}.
 */
public class SessionException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates an exception with a message that says what went wrong.
     *
     * @param message what went wrong, with the values involved
     */
    public SessionException(String message) {
        super(message);
    }

    /**
     * Creates an exception with a message and the failure that caused it.
     *
     * @param message what went wrong, with the values involved
     * @param cause   the underlying failure
     */
    public SessionException(String message, Throwable cause) {
        super(message, cause);
    }
}
