package io.managedsession.support;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.jooq.DSLContext;

import io.managedsession.SessionManager;
import io.managedsession.TransactionConsumer;

/**
 * Transactions held open on threads of their own until {@link #close()}: each runs its work, signals that it is
 * inside, then waits for the release. For tests that need connections checked out (an exhausted pool, close() waiting
 * for running transactions).
 */
public final class HeldTransactions implements AutoCloseable {

    private final CountDownLatch release = new CountDownLatch(1);
    private final ExecutorService threads;
    private final Future<?>[] running;

    private HeldTransactions(SessionManager sessions, int count, TransactionConsumer<Exception> work)
            throws InterruptedException {
        CountDownLatch inside = new CountDownLatch(count);
        threads = Executors.newFixedThreadPool(count);
        running = new Future<?>[count];
        for (int i = 0; i < count; i++) {
            running[i] = threads.submit(() -> {
                sessions.transaction((DSLContext ctx) -> {
                    work.run(ctx);
                    inside.countDown();
                    release.await();
                });
                return null;
            });
        }
        assertThat(inside.await(30, TimeUnit.SECONDS)).as("%d transactions held open", count).isTrue();
    }

    /** Starts {@code count} transactions that each run {@code SELECT 1} and then wait; returns once all are inside. */
    public static HeldTransactions hold(SessionManager sessions, int count) throws InterruptedException {
        return new HeldTransactions(sessions, count, ctx -> ctx.fetchValue("SELECT 1"));
    }

    /** Starts {@code count} transactions that each run {@code work} and then wait; returns once all are inside. */
    public static HeldTransactions hold(SessionManager sessions, int count, TransactionConsumer<Exception> work)
            throws InterruptedException {
        return new HeldTransactions(sessions, count, work);
    }

    /** Lets the held transactions commit and waits for them; fails when one of them failed. */
    public void release() throws Exception {
        release.countDown();
        try {
            for (Future<?> transaction : running) {
                transaction.get(30, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdown();
        }
    }

    /** The outcome of held transaction {@code index} after {@link #release()}. */
    public Future<?> outcome(int index) {
        return running[index];
    }

    @Override
    public void close() {
        release.countDown();
        threads.shutdown();
        try {
            assertThat(threads.awaitTermination(30, TimeUnit.SECONDS)).as("held transactions ended").isTrue();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("Interrupted while the held transactions ended", e);
        }
    }
}
