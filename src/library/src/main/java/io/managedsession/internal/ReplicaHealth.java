package io.managedsession.internal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicLong;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionManager;

/**
 * Whether a read replica is fit to use: a replica that could not be connected to, or whose connection broke, is
 * skipped until {@link #RETRY_AFTER} has passed; then the next read-only transaction tries it again (and skips it
 * again at once if it still fails). Each change is logged once: WARN when the replica is skipped, INFO when it serves
 * again.
 *
 * <p>Thread safety: lock-free; one atomic time stamp.
 */
final class ReplicaHealth {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    /** How long a replica that failed is left alone. */
    static final Duration RETRY_AFTER = Duration.ofSeconds(5);

    /** No replica is skipped: the value of {@link #skippedUntil} while it serves. */
    private static final long SERVING = Long.MIN_VALUE;

    private final String managerName;
    private final String replicaName;
    /** Until when ({@link System#nanoTime()}) the replica is skipped, or {@link #SERVING}. */
    private final AtomicLong skippedUntil = new AtomicLong(SERVING);

    ReplicaHealth(String managerName, String replicaName) {
        this.managerName = managerName;
        this.replicaName = replicaName;
    }

    /** Whether a transaction may try the replica now: it serves, or its time out is over. */
    boolean isAvailable() {
        long until = skippedUntil.get();
        return until == SERVING || System.nanoTime() - until >= 0;
    }

    /** Whether the replica is being skipped now. */
    boolean isSkipped() {
        return !isAvailable();
    }

    /** The replica could not be reached, or a connection to it broke: skip it for a while. */
    void unreachable(Throwable failure) {
        long previous = skippedUntil.getAndSet(System.nanoTime() + RETRY_AFTER.toNanos());
        if (previous == SERVING) {
            log.warn("SessionManager '{}': replica '{}' is skipped for {} s, its read-only transactions go to the other"
                    + " replicas or the primary: {}", managerName, replicaName, RETRY_AFTER.toSeconds(),
                    failure.getMessage());
        }
    }

    /** A connection to the replica worked. */
    void reachable() {
        if (skippedUntil.get() != SERVING && skippedUntil.getAndSet(SERVING) != SERVING) {
            log.info("SessionManager '{}': replica '{}' serves read-only transactions again", managerName,
                    replicaName);
        }
    }
}
