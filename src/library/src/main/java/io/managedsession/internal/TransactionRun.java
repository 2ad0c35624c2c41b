package io.managedsession.internal;

import io.managedsession.Route;

/**
 * One transaction that began, across its attempts: its deadline, the number of the attempt that runs, and where the
 * latest attempt ran (for the report of the whole transaction). Created by the {@link RetryLoop}; only the
 * transaction's thread touches it.
 */
final class TransactionRun {

    private final Deadline deadline;
    private int attempt = 1;
    private Route route = Route.PRIMARY;
    private String replica;

    /** @param deadline the transaction's deadline, or {@code null} */
    TransactionRun(Deadline deadline) {
        this.deadline = deadline;
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
