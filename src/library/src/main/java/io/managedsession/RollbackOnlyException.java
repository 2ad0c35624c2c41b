package io.managedsession;

/**
 * Thrown when a transaction was rolled back because a block that joined it failed, although the outer block
 * returned normally.
 *
 * <p>A joined block shares its connection and transaction with the outer block; when it throws, the whole
 * transaction can no longer commit. If the outer block catches that exception and returns, committing would silently
 * persist half of the unit of work, so the transaction is rolled back instead and this exception is thrown. Its
 * {@linkplain #getCause() cause} is the joined block's failure.
 */
public class RollbackOnlyException extends SessionException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what happened
     * @param cause   the failure of the joined block that marked the transaction rollback-only
     */
    public RollbackOnlyException(String message, Throwable cause) {
        super(message, cause);
    }
}
