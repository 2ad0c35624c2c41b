package io.managedsession;

import java.time.Duration;

/**
 * A transaction that ended, as reported to {@link TransactionObserver}s: one per transaction that began (joined calls
 * and savepoints are part of the transaction they run in), after all its attempts.
 *
 * @param managerName the SessionManager's name
 * @param label       the label from its options, or {@code null}
 * @param propagation the propagation it was asked with ({@code REQUIRED}, {@code REQUIRES_NEW} or {@code NESTED})
 * @param isolation   the isolation it asked for, or {@code null} for the database's default
 * @param readOnly    whether it was read-only
 * @param outcome     how it ended
 * @param attempts    how many times it ran, the first included
 * @param duration    from the call to the end of the last attempt, backoffs included
 * @param failure     what the caller received, or {@code null} after a commit
 * @param route       which server its last attempt ran on: {@link Route#PRIMARY} unless the manager has read replicas
 */
public record CompletedTransaction(String managerName, String label, Propagation propagation, Isolation isolation,
        boolean readOnly, TransactionOutcome outcome, int attempts, Duration duration, Throwable failure,
        Route route) {

    /**
     * A transaction that ran on the primary: the form this record had before read replicas, kept for code that
     * builds one (tests of an observer, say).
     *
     * @param managerName the SessionManager's name
     * @param label       the label from its options, or {@code null}
     * @param propagation the propagation it was asked with
     * @param isolation   the isolation it asked for, or {@code null}
     * @param readOnly    whether it was read-only
     * @param outcome     how it ended
     * @param attempts    how many times it ran
     * @param duration    from the call to the end of the last attempt
     * @param failure     what the caller received, or {@code null} after a commit
     */
    public CompletedTransaction(String managerName, String label, Propagation propagation, Isolation isolation,
            boolean readOnly, TransactionOutcome outcome, int attempts, Duration duration, Throwable failure) {
        this(managerName, label, propagation, isolation, readOnly, outcome, attempts, duration, failure,
                Route.PRIMARY);
    }
}
