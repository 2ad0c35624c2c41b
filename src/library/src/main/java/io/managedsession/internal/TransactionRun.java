package io.managedsession.internal;

import io.managedsession.Route;

/**
 * One transaction that began, across its attempts: its deadline, the number of the attempt that runs, and where the
 * latest attempt ran (for the report of the whole transaction). Created by the {@link RetryLoop}; only the
 * transaction's thread touches it.
 */
final class TransactionRun {

    /** {@link #startNanos()} of a transaction nobody times: no clock was read for it. */
    static final long NOT_TIMED = Long.MIN_VALUE;

    private final Deadline deadline;
    private final long startNanos;
    private int attempt = 1;
    private Route route = Route.PRIMARY;
    private String replica;

    /**
     * @param deadline   the transaction's deadline, or {@code null}
     * @param startNanos when it began ({@link System#nanoTime()}), or {@link #NOT_TIMED}
     */
    TransactionRun(Deadline deadline, long startNanos) {
        this.deadline = deadline;
        this.startNanos = startNanos;
    }

    /**
     * Whether anything looks at how long this transaction and its steps take (see {@link Instrumentation#timed()}):
     * if not, the clock is not read at all, which would cost a good part of what the whole layer costs.
     */
    boolean timed() {
        return startNanos != NOT_TIMED;
    }

    /** When the transaction began ({@link System#nanoTime()}), or {@link #NOT_TIMED}. */
    long startNanos() {
        return startNanos;
    }

    /** The transaction's deadline, or {@code null}. */
    Deadline deadline() {
        return deadline;
    }

    /** The number of the attempt that runs, 1 for the first. */
    int attempt() {
        return attempt;
    }

    void nextAttempt() {
        attempt++;
    }

    /** Where the latest attempt ran. */
    Route route() {
        return route;
    }

    /** The replica the latest attempt ran on, or {@code null}. */
    String replica() {
        return replica;
    }

    void ranOn(Route route, String replica) {
        this.route = route;
        this.replica = replica;
    }
}
