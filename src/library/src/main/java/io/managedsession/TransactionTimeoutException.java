package io.managedsession;

import java.time.Duration;

/**
 * Thrown when a transaction ran past its {@linkplain TransactionOptions.Builder#deadline(Duration) deadline}; it was
 * rolled back and nothing was committed. Its cause, when there is one, is PostgreSQL's cancellation of the statement
 * that was running (SQLSTATE {@code 57014} for the statement timeout, {@code 55P03} for the lock timeout).
 */
public class TransactionTimeoutException extends SessionException {

    private static final long serialVersionUID = 1L;

    private final Duration deadline;

    /**
     * Creates the exception.
     *
     * @param message  what ran out of time
     * @param deadline the deadline that was exceeded
     * @param cause    the database's cancellation, or {@code null} when the deadline passed between statements
     */
    public TransactionTimeoutException(String message, Duration deadline, Throwable cause) {
        super(message, cause);
        this.deadline = deadline;
    }

    /**
     * Returns the deadline that was exceeded.
     *
     * @return the deadline given in the transaction's options, or in those of the transaction it began in when that
     *         deadline passed first
     */
    public Duration deadline() {
        return deadline;
    }
}
