package io.managedsession.internal;

import java.util.concurrent.ThreadLocalRandom;

import io.managedsession.TransactionOptions;

/**
 * The pause before a retry: "full jitter", a random time between zero and {@code min(max, initial * 2^(attempt-1))},
 * so that transactions that failed together do not retry together.
 */
final class Backoff {

    private Backoff() {
    }

    /**
     * The pause after attempt {@code attempt} failed.
     *
     * @param attempt the attempt that failed, from 1
     * @return nanoseconds to wait
     */
    static long pauseNanos(TransactionOptions options, int attempt) {
        long cap = options.initialBackoff().toNanos() << Math.min(attempt - 1, 30);
        cap = Math.min(cap <= 0 ? Long.MAX_VALUE : cap, options.maxBackoff().toNanos());
        return ThreadLocalRandom.current().nextLong(cap + 1);
    }
}
