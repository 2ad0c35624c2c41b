package io.managedsession.ledger;

import static io.managedsession.support.Managers.pool;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** Many threads, few connections: money is neither made nor lost, nothing deadlocks, every connection comes back. */
@DatabaseTest
class ConcurrentTransfersTest {

    private static final int THREADS = 32;
    private static final int TRANSFERS_PER_THREAD = 200;
    private static final int POOL_SIZE = 8;
    private static final int ACCOUNTS = 12;

    @Test
    void thirtyTwoThreadsOnEightConnectionsKeepTheTotalBalance(TestDatabase db) throws Exception {
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(POOL_SIZE)
                .connectionTimeout(Duration.ofSeconds(60)).build()) {
            long[] accounts = new long[ACCOUNTS];
            for (int i = 0; i < ACCOUNTS; i++) {
                int n = i;
                accounts[i] = sessions.transactionResult(ctx -> Accounts.open(ctx, "owner-" + n, 1_000_00));
            }
            BigDecimal totalBefore = sessions.transactionResult(Audits::audit).totalBalance();

            AtomicInteger committed = new AtomicInteger();
            AtomicInteger refused = new AtomicInteger();
            CountDownLatch start = new CountDownLatch(1);
            ExecutorService threads = Executors.newFixedThreadPool(THREADS);
            List<Future<?>> workers = new ArrayList<>();
            try {
                for (int t = 0; t < THREADS; t++) {
                    int thread = t;
                    workers.add(threads.submit(() -> {
                        start.await();
                        ThreadLocalRandom random = ThreadLocalRandom.current();
                        for (int i = 0; i < TRANSFERS_PER_THREAD; i++) {
                            long from = accounts[random.nextInt(ACCOUNTS)];
                            long to = accounts[random.nextInt(ACCOUNTS)];
                            if (from == to) {
                                to = accounts[(Arrays.binarySearch(accounts, from) + 1) % ACCOUNTS];
                            }
                            long amount = 1 + random.nextInt(50_00);
                            String key = "c-" + thread + "-" + i;
                            long fromAccount = from;
                            long toAccount = to;
                            try {
                                sessions.transaction(ctx -> Transfers.transfer(ctx, fromAccount, toAccount, amount, key));
                                committed.incrementAndGet();
                            } catch (InsufficientFundsException e) {
                                refused.incrementAndGet();
                            }
                        }
                        return null;
                    }));
                }
                start.countDown();
                for (Future<?> worker : workers) {
                    // A deadlock or a lost connection would show up here as a timeout.
                    worker.get(5, TimeUnit.MINUTES);
                }
            } finally {
                threads.shutdownNow();
            }

            Audits.Audit after = sessions.transactionResult(Audits::audit);
            assertThat(committed.get() + refused.get()).isEqualTo(THREADS * TRANSFERS_PER_THREAD);
            assertThat(committed.get()).as("most transfers go through").isGreaterThan(refused.get());
            assertThat(after.totalBalance()).isEqualTo(totalBefore);
            assertThat(after.holds()).isTrue();
            assertThat(rowCount(db, "transfers")).isEqualTo(committed.get());
            assertThat(queryLong(db, "SELECT count(*) FROM history WHERE transfer_id IS NOT NULL"))
                    .isEqualTo(2L * committed.get());
            assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE abalance < 0")).isZero();
            assertThat(pool(sessions).getTotalConnections()).isEqualTo(POOL_SIZE);
            db.assertNothingLeaked(sessions);
        }
    }
}
