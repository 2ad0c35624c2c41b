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
 */
public record CompletedTransaction(String managerName, String label, Propagation propagation, Isolation isolation,
        boolean readOnly, TransactionOutcome outcome, int attempts, Duration duration, Throwable failure) {
}
