package io.managedsession.reliability;

import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.HdrHistogram.ConcurrentHistogram;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.support.Bank;
import io.managedsession.support.Managers;
import io.managedsession.support.TestGroups;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** Load on the real thing: serializable transfers with retries, ten thousand virtual threads, and hygiene over 100,000 transactions. */
@Tag(TestGroups.LOAD)
@DatabaseTest(migrations = Bank.MIGRATIONS)
class LoadTest {

    private static long[] openAccounts(SessionManager sessions, String prefix, int count, long balance) {
        long[] ids = new long[count];
        for (int i = 0; i < count; i++) {
            int n = i;
            ids[i] = sessions.transactionResult(ctx -> Bank.open(ctx, prefix + n, balance));
        }
        return ids;
    }

    @Test
    void eightThreadsMakingFiveThousandSerializableTransfersEachKeepTheLedgerWhole(TestDatabase db) throws Exception {
        TransactionOptions serializable = TransactionOptions.serializable().toBuilder().maxAttempts(20)
                .backoff(Duration.ofMillis(1), Duration.ofMillis(50)).label("load-transfer").build();
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(8).connectionTimeout(Duration.ofSeconds(60))
                .build()) {
            long[] ids = openAccounts(sessions, "serializable-", 20, 10_000_00);
            long totalBefore = queryLong(db, "SELECT sum(balance) FROM accounts WHERE owner LIKE 'serializable-%'");
            long transfersBefore = rowCount(db, "transfers");
            AtomicInteger committed = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            AtomicInteger gaveUp = new AtomicInteger();
            int earlierFailures = serializable.maxAttempts() - 1;
            AtomicInteger attempts = new AtomicInteger();
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            CountDownLatch go = new CountDownLatch(1);
            ExecutorService threads = Executors.newFixedThreadPool(8);
            List<Future<?>> work = new ArrayList<>();
            try {
                for (int t = 0; t < 8; t++) {
                    int thread = t;
                    work.add(threads.submit(() -> {
                        go.await();
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        for (int i = 0; i < 5_000; i++) {
                            int from = random.nextInt(ids.length);
                            int to = (from + 1 + random.nextInt(ids.length - 1)) % ids.length;
                            long amount = 1 + random.nextInt(5_00);
                            String key = "serializable-" + thread + "-" + i;
                            try {
                                sessions.transaction(serializable, ctx -> {
                                    attempts.incrementAndGet();
                                    Bank.transfer(ctx, ids[from], ids[to], amount, key);
                                });
                                committed.incrementAndGet();
                            } catch (Bank.InsufficientFundsException e) {
                                refused.incrementAndGet();
                            } catch (DataAccessException e) {
                                // A serialization failure on every attempt is rare but legitimate on a loaded box:
                                // the caller gets the last one, with the ones before it attached.
                                if ("40001".equals(e.sqlState()) && e.getSuppressed().length == earlierFailures) {
                                    gaveUp.incrementAndGet();
                                } else {
                                    unexpected.add(e);
                                }
                            }
                        }
                        return null;
                    }));
                }
                go.countDown();
                for (Future<?> future : work) {
                    future.get(10, TimeUnit.MINUTES);
                }
            } finally {
                threads.shutdownNow();
            }

            System.out.printf("serializable load: %d committed, %d refused for funds, %d gave up after %d attempts,"
                    + " %d attempts (%d retries)%n", committed.get(), refused.get(), gaveUp.get(),
                    serializable.maxAttempts(), attempts.get(), attempts.get() - 40_000);
            assertThat(unexpected).isEmpty();
            assertThat(committed.get()).as("retries get most transfers through").isGreaterThan(gaveUp.get());
            assertThat(committed.get() + refused.get() + gaveUp.get()).isEqualTo(40_000);
            assertThat(attempts.get()).as("serialization failures were retried")
                    .isGreaterThanOrEqualTo(40_000 + earlierFailures * gaveUp.get()).isGreaterThan(40_000);
            assertThat(queryLong(db, "SELECT sum(balance) FROM accounts WHERE owner LIKE 'serializable-%'"))
                    .isEqualTo(totalBefore);
            assertThat(rowCount(db, "transfers") - transfersBefore).isEqualTo(committed.get());
            assertThat(queryLong(db, "SELECT count(*) FROM entries e JOIN transfers t ON t.id = e.transfer_id"
                    + " WHERE t.idempotency_key LIKE 'serializable-%'")).isEqualTo(2L * committed.get());
            assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE balance < 0")).isZero();
            assertThat(sessions.transactionResult(Bank::entriesMatchBalances)).isTrue();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void tenThousandVirtualThreadsOnAPoolOfTenAllFinish(TestDatabase db) throws Exception {
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(10).connectionTimeout(Duration.ofSeconds(60))
                .build()) {
            long[] ids = openAccounts(sessions, "virtual-", 50, 0);
            ConcurrentHistogram latencies = new ConcurrentHistogram(TimeUnit.MINUTES.toNanos(5), 3);
            AtomicInteger done = new AtomicInteger();
            long start;
            long drained;
            try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
                CountDownLatch go = new CountDownLatch(1);
                for (int i = 0; i < 10_000; i++) {
                    threads.submit(() -> {
                        go.await();
                        long t0 = System.nanoTime();
                        long account = ids[ThreadLocalRandom.current().nextInt(ids.length)];
                        sessions.transaction(ctx -> Bank.deposit(ctx, account, 1));
                        latencies.recordValue(System.nanoTime() - t0);
                        done.incrementAndGet();
                        return null;
                    });
                }
                start = System.nanoTime();
                go.countDown();
            } // close() waits for every task
            drained = System.nanoTime() - start;

            System.out.printf("10,000 virtual threads on 10 connections: drained in %d ms, p50 %d ms, p99 %d ms, max %d ms%n",
                    TimeUnit.NANOSECONDS.toMillis(drained), latencies.getValueAtPercentile(50) / 1_000_000,
                    latencies.getValueAtPercentile(99) / 1_000_000, latencies.getMaxValue() / 1_000_000);
            assertThat(done.get()).isEqualTo(10_000);
            assertThat(queryLong(db, "SELECT sum(balance) FROM accounts WHERE owner LIKE 'virtual-%'"))
                    .isEqualTo(10_000);
            db.assertNothingLeaked(sessions);
        }
    }

    /** What each hygiene transaction does; one is drawn at random. */
    enum Mischief { COMMIT, RUNTIME_EXCEPTION, CHECKED_EXCEPTION, INTERRUPT, TIMEOUT, SWALLOWED_JOINED_FAILURE }

    @Test
    void hundredThousandTransactionsWithInjectedFailuresLeaveNothingBehind(TestDatabase db) throws Exception {
        int workers = 4;
        TransactionOptions shortDeadline = TransactionOptions.builder().deadline(Duration.ofMillis(5)).build();
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(workers).build()) {
            ExecutorService threads = Executors.newFixedThreadPool(workers);
            AtomicInteger[] counts = new AtomicInteger[Mischief.values().length];
            for (int i = 0; i < counts.length; i++) {
                counts[i] = new AtomicInteger();
            }
            ConcurrentLinkedQueue<Throwable> unexpected = new ConcurrentLinkedQueue<>();
            long[] heap = new long[2];
            try {
                for (int batch = 0; batch < 10; batch++) {
                    List<Future<?>> tasks = new ArrayList<>(10_000);
                    for (int i = 0; i < 10_000; i++) {
                        tasks.add(threads.submit(() -> {
                            Mischief mischief = draw();
                            counts[mischief.ordinal()].incrementAndGet();
                            try {
                                runWith(sessions, mischief, shortDeadline);
                                if (mischief != Mischief.COMMIT) {
                                    unexpected.add(new AssertionError(mischief + " did not fail"));
                                }
                            } catch (Exception e) {
                                if (mischief == Mischief.COMMIT) {
                                    unexpected.add(e);
                                }
                            } finally {
                                Thread.interrupted();
                            }
                        }));
                    }
                    for (Future<?> task : tasks) {
                        task.get(5, TimeUnit.MINUTES);
                    }
                    if (batch == 1) {
                        heap[0] = usedHeapAfterGc();
                    }
                }
                heap[1] = usedHeapAfterGc();

                // Every pooled thread, reused 25,000 times, is out of any transaction.
                CyclicBarrier allThreads = new CyclicBarrier(workers);
                List<Future<Boolean>> residue = new ArrayList<>();
                for (int i = 0; i < workers; i++) {
                    residue.add(threads.submit(() -> {
                        allThreads.await(30, TimeUnit.SECONDS);
                        return sessions.current().isPresent();
                    }));
                }
                for (Future<Boolean> inTransaction : residue) {
                    assertThat(inTransaction.get(30, TimeUnit.SECONDS)).as("thread-scope residue").isFalse();
                }
            } finally {
                threads.shutdownNow();
            }

            System.out.printf("hygiene: %s; heap after GC %d MiB after 20,000 and %d MiB after 100,000 transactions%n",
                    Arrays.stream(Mischief.values()).map(m -> m + "=" + counts[m.ordinal()].get()).toList(),
                    heap[0] / (1024 * 1024), heap[1] / (1024 * 1024));
            assertThat(unexpected).as("outcomes other than the injected ones").isEmpty();
            assertThat(heap[1] - heap[0]).as("heap growth over 80,000 transactions, bytes").isLessThan(32L * 1024 * 1024);
            assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE owner LIKE 'hygiene-%'"
                    + " AND owner <> 'hygiene-commit'")).as("nothing a failed transaction wrote stayed").isZero();
            assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE owner = 'hygiene-commit'"))
                    .as("every committed one stayed").isEqualTo(counts[Mischief.COMMIT.ordinal()].get());
            db.assertNothingLeaked(sessions);
        }
    }

    private static Mischief draw() {
        int roll = ThreadLocalRandom.current().nextInt(100);
        if (roll < 50) {
            return Mischief.COMMIT;
        }
        if (roll < 65) {
            return Mischief.RUNTIME_EXCEPTION;
        }
        if (roll < 78) {
            return Mischief.CHECKED_EXCEPTION;
        }
        if (roll < 90) {
            return Mischief.INTERRUPT;
        }
        if (roll < 92) {
            return Mischief.TIMEOUT;
        }
        return Mischief.SWALLOWED_JOINED_FAILURE;
    }

    private static void runWith(SessionManager sessions, Mischief mischief, TransactionOptions shortDeadline)
            throws Exception {
        switch (mischief) {
            case COMMIT -> sessions.transaction(ctx -> ctx.execute(
                    "INSERT INTO accounts (owner, balance) VALUES ('hygiene-commit', 0)"));
            case RUNTIME_EXCEPTION -> sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO accounts (owner, balance) VALUES ('hygiene-runtime', 0)");
                throw new IllegalStateException("injected");
            });
            case CHECKED_EXCEPTION -> sessions.<IOException>transaction(ctx -> {
                ctx.execute("INSERT INTO accounts (owner, balance) VALUES ('hygiene-checked', 0)");
                throw new IOException("injected");
            });
            case INTERRUPT -> sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO accounts (owner, balance) VALUES ('hygiene-interrupt', 0)");
                Thread.currentThread().interrupt();
            });
            case TIMEOUT -> sessions.transaction(shortDeadline, ctx -> {
                ctx.execute("INSERT INTO accounts (owner, balance) VALUES ('hygiene-timeout', 0)");
                ctx.execute("SELECT pg_sleep(1)");
            });
            case SWALLOWED_JOINED_FAILURE -> sessions.transaction(outer -> {
                outer.execute("INSERT INTO accounts (owner, balance) VALUES ('hygiene-joined', 0)");
                try {
                    sessions.transaction(inner -> {
                        throw new IllegalStateException("injected, swallowed");
                    });
                } catch (IllegalStateException swallowed) {
                    // The outer block carries on; the transaction must still roll back.
                }
            });
        }
    }

    private static long usedHeapAfterGc() {
        for (int i = 0; i < 3; i++) {
            System.gc();
        }
        return ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed();
    }
}
