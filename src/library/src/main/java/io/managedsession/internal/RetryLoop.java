package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionCallback;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * Runs a transaction that begins: its first attempt and, as its options allow, the attempts after a retryable
 * failure, with a {@link Backoff} between them, all within its deadline; and reports the whole to the
 * {@link Instrumentation} as one transaction. The failure finally thrown carries the earlier attempts' failures as
 * suppressed exceptions.
 *
 * <p>What one attempt does is the {@link Attempt}'s business; the loop only decides whether there is another.
 */
final class RetryLoop {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    /** One attempt of a transaction, from taking a connection to giving it back. */
    interface Attempt {

        /**
         * Runs attempt number {@code run.attempt()} of {@code callback}'s transaction, and notes in {@code run} where
         * it ran.
         *
         * @param suspended the transaction this thread suspended for it (REQUIRES_NEW), or {@code null}
         */
        <T, X extends Exception> T attempt(TransactionOptions options, TransactionCallback<T, X> callback,
                TransactionScope suspended, TransactionRun run) throws X;
    }

    private final Instrumentation instrumentation;
    private final InFlightTransactions inFlight;
    private final String managerName;

    RetryLoop(Instrumentation instrumentation, InFlightTransactions inFlight, String managerName) {
        this.instrumentation = instrumentation;
        this.inFlight = inFlight;
        this.managerName = managerName;
    }

    /**
     * Runs the transaction. It counts as running, for {@code close()} to wait for, from before its first attempt to
     * after its last: a transaction that has begun may finish its attempts while the manager closes (within the close
     * timeout); a new one is refused.
     */
    <T, X extends Exception> T run(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended, Attempt attempts) throws X {
        inFlight.enter();
        try {
            return runAttempts(options, callback, suspended, attempts);
        } finally {
            inFlight.exit();
        }
    }

    private <T, X extends Exception> T runAttempts(TransactionOptions options, TransactionCallback<T, X> callback,
            TransactionScope suspended, Attempt attempts) throws X {
        TransactionFlightEvent event = instrumentation.started(options);
        long startNanos = instrumentation.timed() ? System.nanoTime() : TransactionRun.NOT_TIMED;
        Deadline deadline = suspended == null ? Deadline.of(options, null, null)
                : Deadline.of(options, suspended.deadline(), suspended.options());
        TransactionRun run = new TransactionRun(deadline, startNanos);
        List<Throwable> earlier = null;
        Throwable finalFailure = null;
        try {
            for (; ; run.nextAttempt()) {
                int attempt = run.attempt();
                try {
                    return attempts.attempt(options, callback, suspended, run);
                } catch (Throwable failure) {
                    boolean retry = shouldRetry(options, failure, attempt, deadline);
                    instrumentation.attemptFailed(options, attempt, failure, retry);
                    if (retry) {
                        if (earlier == null) {
                            earlier = new ArrayList<>(options.maxAttempts() - 1);
                        }
                        earlier.add(failure);
                        retry = pause(options, attempt, deadline, failure);
                        if (!retry) {
                            earlier.remove(earlier.size() - 1);
                        }
                    }
                    if (!retry) {
                        attach(failure, earlier);
                        finalFailure = failure;
                        throw failure;
                    }
                }
            }
        } finally {
            instrumentation.completed(event, options, run, finalFailure);
        }
    }

    private static boolean shouldRetry(TransactionOptions options, Throwable failure, int attempt, Deadline deadline) {
        return attempt < options.maxAttempts()
                && !(failure instanceof CommitOutcomeUnknownException)
                && !(failure instanceof TransactionTimeoutException)
                && (deadline == null || !deadline.hasPassed())
                && !Thread.currentThread().isInterrupted()
                && options.retryOn().test(failure);
    }

    /**
     * Waits the backoff before the next attempt, never past the deadline.
     *
     * @return {@code false} when the wait was interrupted (the flag is set again): no more attempts
     */
    private boolean pause(TransactionOptions options, int attempt, Deadline deadline, Throwable failure) {
        long pauseNanos = Backoff.pauseNanos(options, attempt);
        if (deadline != null) {
            pauseNanos = Math.max(0, Math.min(pauseNanos, deadline.remainingNanos()));
        }
        log.info("Transaction{} of SessionManager '{}' failed on attempt {} of {} (SQLSTATE {}: {}); running it again"
                + " in {} ms", MessageParts.label(options), managerName, attempt, options.maxAttempts(),
                SqlStates.sqlState(failure), failure.getMessage(), TimeUnit.NANOSECONDS.toMillis(pauseNanos));
        try {
            TimeUnit.NANOSECONDS.sleep(pauseNanos);
            return true;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return false;
        }
    }

    private static void attach(Throwable failure, List<Throwable> earlier) {
        if (earlier != null) {
            for (Throwable previous : earlier) {
                if (previous != failure) {
                    failure.addSuppressed(previous);
                }
            }
        }
    }
}
