package io.managedsession.internal;

import java.time.Duration;

import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;

/**
 * A point in time by which a transaction, retries included, must be done.
 *
 * @param budget         the time allowed, as given in the options of the transaction it is the deadline of
 * @param endNanos       {@link System#nanoTime()} when it runs out
 * @param enclosingLabel {@code null} when it is the transaction's own; otherwise it is the deadline of a transaction
 *                       this one began inside, named by this text: that transaction's label with a leading space,
 *                       or nothing when it has none
 */
record Deadline(Duration budget, long endNanos, String enclosingLabel) {

    static Deadline startingNow(Duration budget) {
        return new Deadline(budget, System.nanoTime() + budget.toNanos(), null);
    }

    /**
     * The deadline of a transaction that begins now with {@code options}, inside the one of the thread it suspends
     * ({@code REQUIRES_NEW}) or not: its own, or the enclosing transaction's when that passes first. The enclosing
     * transaction waits for it, so its deadline bounds it as it bounds the rest of that transaction's work, its
     * wait for a connection included.
     *
     * @param enclosing        the suspended transaction's deadline, or {@code null} (none, or no such transaction)
     * @param enclosingOptions the suspended transaction's options, naming it in messages; unused without a deadline
     * @return the deadline, or {@code null} when neither has one
     */
    static Deadline of(TransactionOptions options, Deadline enclosing, TransactionOptions enclosingOptions) {
        Deadline own = options.deadline().map(Deadline::startingNow).orElse(null);
        if (enclosing == null || own != null && own.endNanos - enclosing.endNanos <= 0) {
            return own;
        }
        return new Deadline(enclosing.budget, enclosing.endNanos, enclosing.enclosingLabel != null
                ? enclosing.enclosingLabel : MessageParts.label(enclosingOptions));
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
        String whose = enclosingLabel == null ? " exceeded its deadline of " + budget.toMillis() + " ms"
                : " ran past the deadline of " + budget.toMillis() + " ms of the transaction" + enclosingLabel
                        + " it began in";
        return new TransactionTimeoutException("The transaction" + MessageParts.label(options) + whose
                + " and was rolled back; nothing was committed" + (blockers == null ? "" : "; " + blockers), budget,
                cause);
    }
}
