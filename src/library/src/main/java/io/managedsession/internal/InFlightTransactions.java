package io.managedsession.internal;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.locks.Condition;
import java.util.concurrent.locks.ReentrantLock;

import io.managedsession.SessionException;

/**
 * Counts the outermost transactions that are running, so that {@code close()} can refuse new ones and wait for the
 * running ones to finish.
 *
 * <p>A transaction increments first and checks the closed flag second; {@code close} sets the flag first and reads
 * the count second. With both volatile, either the transaction sees the flag and backs out, or {@code close} sees the
 * transaction and waits for it. The lock is taken only when the count drops to zero after closing.
 */
final class InFlightTransactions {

    private final AtomicInteger running = new AtomicInteger();
    private final ReentrantLock lock = new ReentrantLock();
    private final Condition drained = lock.newCondition();
    private final String managerName;
    private final ThreadLocal<int[]> runningHooks = new ThreadLocal<>();
    private volatile boolean closed;

    InFlightTransactions(String managerName) {
        this.managerName = managerName;
    }

    /** Registers a new outermost transaction, or refuses it when the manager is closed. */
    void enter() {
        running.incrementAndGet();
        if (closed) {
            exit();
            throw new SessionException("SessionManager '" + managerName + "' is closed and accepts no new transactions");
        }
    }

    void exit() {
        if (running.decrementAndGet() <= 1 && closed) {
            lock.lock();
            try {
                drained.signalAll();
            } finally {
                lock.unlock();
            }
        }
    }

    /** The number of outermost transactions running now. */
    int running() {
        return running.get();
    }

    /**
     * Marks the calling thread as running the completion actions of a transaction it still counts as running, or no
     * longer: a {@code close()} called from such an action must not wait for the transaction that called it.
     */
    void hooksRunning(boolean running) {
        int[] depth = runningHooks.get();
        if (running) {
            if (depth == null) {
                runningHooks.set(new int[] {1});
            } else {
                depth[0]++;
            }
        } else if (depth != null && --depth[0] == 0) {
            // Actions can start transactions with actions of their own: only the outermost leaves no residue.
            runningHooks.remove();
        }
    }

    /**
     * Refuses new transactions from now on and waits up to {@code timeout} for the running ones to finish, apart from
     * the one whose completion action is calling (which cannot finish before this returns).
     *
     * @return {@code true} when none is running any more
     * @throws InterruptedException when the waiting thread is interrupted
     */
    boolean closeAndAwait(Duration timeout) throws InterruptedException {
        closed = true;
        int own = runningHooks.get() != null ? 1 : 0;
        long nanos = timeout.toNanos();
        lock.lock();
        try {
            while (running.get() > own) {
                if (nanos <= 0) {
                    return false;
                }
                nanos = drained.awaitNanos(nanos);
            }
            return true;
        } finally {
            lock.unlock();
        }
    }
}
