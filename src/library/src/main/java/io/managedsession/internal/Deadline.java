package io.managedsession.internal;

import java.time.Duration;

import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * A point in time by which a transaction, retries included, must be done.
 *
 * @param budget   the time allowed, as given in the options
 * @param endNanos {@link System#nanoTime()} when it runs out
 */
record Deadline(Duration budget, long endNanos) {

    static Deadline startingNow(Duration budget) {
        return new Deadline(budget, System.nanoTime() + budget.toNanos());
    }

    /** Nanoseconds left; zero or less once it has passed. */
    long remainingNanos() {
        return endNanos - System.nanoTime();
    }

    boolean hasPassed() {
        return remainingNanos() <= 0;
    }

    /** Whole milliseconds left, at least 1, as PostgreSQL's timeouts take them (0 would mean "no timeout"). */
    long remainingMillisForServer() {
        return Math.max(1, remainingNanos() / 1_000_000);
    }

    /** The exception for a transaction that ran past this deadline. */
    TransactionTimeoutException exceeded(TransactionOptions options, Throwable cause) {
        return exceeded(options, cause, null);
    }

    /**
     * The exception for a transaction that ran past this deadline, naming what blocked it when that is known.
     *
     * @param blockers who blocked its last statement, or {@code null}
     */
    TransactionTimeoutException exceeded(TransactionOptions options, Throwable cause, String blockers) {
        return new TransactionTimeoutException("The transaction" + MessageParts.label(options) + " exceeded its"
                + " deadline of " + budget.toMillis() + " ms and was rolled back; nothing was committed"
                + (blockers == null ? "" : "; " + blockers), budget, cause);
    }
}
