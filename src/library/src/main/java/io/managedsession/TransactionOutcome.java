package io.managedsession;

/** How a transaction ended. */
public enum TransactionOutcome {

    /** Committed. */
    COMMIT,

    /** Rolled back because its callback threw (or COMMIT failed and the transaction was rolled back). */
    ROLLBACK,

    /** Rolled back because a joined block failed, or a statement failed, and the callback returned normally. */
    ROLLBACK_ONLY,

    /** Rolled back because it ran past its deadline. */
    TIMEOUT,

    /** The connection failed while COMMIT was in flight: nobody knows whether it committed. */
    COMMIT_UNKNOWN;

    /**
     * Classifies how a transaction ended from what it threw.
     *
     * @param failure what the transaction threw, or {@code null} when it committed
     * @return the outcome
     */
    public static TransactionOutcome of(Throwable failure) {
        if (failure == null) {
            return COMMIT;
        }
        if (failure instanceof CommitOutcomeUnknownException) {
            return COMMIT_UNKNOWN;
        }
        if (failure instanceof TransactionTimeoutException) {
            return TIMEOUT;
        }
        if (failure instanceof RollbackOnlyException) {
            return ROLLBACK_ONLY;
        }
        return ROLLBACK;
    }
}
