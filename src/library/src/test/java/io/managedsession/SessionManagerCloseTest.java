package io.managedsession;

import static io.managedsession.support.SecondConnection.backends;
import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.support.HeldTransactions;
import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

@DatabaseTest(migrations = {})
class SessionManagerCloseTest {

    private final TestDatabase db;

    SessionManagerCloseTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE events (id serial PRIMARY KEY, label text NOT NULL)");
    }

    @Test
    void closeRefusesNewTransactionsLetsRunningOnesFinishAndClosesOwnedPool() throws Exception {
        SessionManager sessions = Managers.on(db).name("closing").build();
        ExecutorService closer = Executors.newSingleThreadExecutor();
        try (HeldTransactions running = HeldTransactions.hold(sessions, 1,
                ctx -> ctx.execute("INSERT INTO events (label) VALUES ('in flight at close')"))) {
            Future<?> closing = closer.submit(sessions::close);
            await().atMost(Duration.ofSeconds(10)).until(sessions::isClosed);

            assertThatThrownBy(() -> sessions.transaction(ctx -> ctx.fetchValue("SELECT 1")))
                    .isInstanceOf(SessionException.class)
                    .hasMessageContaining("'closing' is closed and accepts no new transactions");
            assertThat(closing.isDone()).as("close() waits for the running transaction").isFalse();

            running.release();
            closing.get(10, TimeUnit.SECONDS);
        } finally {
            closer.shutdownNow();
        }
        assertThat(queryLong(db, "SELECT count(*) FROM events WHERE label = 'in flight at close'")).isEqualTo(1);
        assertThat(((HikariDataSource) sessions.dataSource()).isClosed()).isTrue();
        if (!Managers.throughPgBouncer()) {
            // Behind PgBouncer the server connections are PgBouncer's, and outlive the pool by design.
            assertThat(backends(db, "closing")).isZero();
        }
    }

    @Test
    void closeLeavesADataSourcePassedInOpen() {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.jdbcUrl());
        config.setUsername(db.username());
        config.setPassword(db.password());
        config.setMaximumPoolSize(2);
        try (HikariDataSource pool = new HikariDataSource(config)) {
            SessionManager sessions = SessionManager.builder().dataSource(pool).build();
            sessions.transaction(ctx -> ctx.execute("INSERT INTO events (label) VALUES ('through a given pool')"));

            sessions.close();

            assertThat(pool.isClosed()).isFalse();
            assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero();
        }
    }

    @Test
    void closeGivesUpWaitingAfterTheCloseTimeout() throws Exception {
        SessionManager sessions = Managers.on(db).name("impatient").closeTimeout(Duration.ofMillis(200)).build();
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch finish = new CountDownLatch(1);
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try {
            Future<Throwable> running = thread.submit(() -> catchThrowable(() -> sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO events (label) VALUES ('outlived its manager')");
                inside.countDown();
                finish.await();
                ctx.execute("INSERT INTO events (label) VALUES ('after the pool closed')");
            })));
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

            sessions.close(); // returns after about 200 ms although the transaction still runs

            finish.countDown();
            Throwable failure = running.get(30, TimeUnit.SECONDS);
            assertThat(failure).as("the transaction cut off by close() fails").isNotNull();
        } finally {
            finish.countDown();
            thread.shutdownNow();
        }
        assertThat(queryLong(db, "SELECT count(*) FROM events WHERE label IN ('outlived its manager',"
                + " 'after the pool closed')")).isZero();
    }

    @Test
    void closeCalledFromAnAfterCommitActionDoesNotWaitForItsOwnTransaction() {
        SessionManager sessions = Managers.on(db).name("closed-by-its-hook").closeTimeout(Duration.ofSeconds(10))
                .build();
        try (LogCapture logs = LogCapture.everything()) {
            long start = System.nanoTime();
            sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO events (label) VALUES ('committed, then the manager closes')");
                sessions.afterCommit(sessions::close);
            });
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(sessions.isClosed()).isTrue();
            assertThat(took).as("no wait for the close timeout of 10 s").isLessThan(Duration.ofSeconds(5));
            assertThat(logs.lines()).noneMatch(line -> line.contains("still running after waiting"));
        }
        assertThat(((HikariDataSource) sessions.dataSource()).isClosed()).isTrue();
        assertThat(queryLong(db, "SELECT count(*) FROM events WHERE label = 'committed, then the manager closes'"))
                .isEqualTo(1);
    }

    @Test
    void closeWaitsForATransactionBetweenItsAttemptsWhichThenFinishes() throws Exception {
        SessionManager sessions = Managers.on(db).name("closing-mid-retry").build();
        TransactionOptions retried = TransactionOptions.builder().maxAttempts(2)
                .retryOn(failure -> failure instanceof IllegalStateException).build();
        AtomicInteger attempts = new AtomicInteger();
        ExecutorService closer = Executors.newSingleThreadExecutor();
        try {
            Future<?>[] closing = new Future<?>[1];
            sessions.transaction(retried, ctx -> {
                if (attempts.incrementAndGet() == 1) {
                    // Between this attempt and the next, close() is called and the manager refuses new work.
                    sessions.afterRollback(() -> {
                        closing[0] = closer.submit(sessions::close);
                        await().atMost(Duration.ofSeconds(10)).until(sessions::isClosed);
                    });
                    throw new IllegalStateException("fails once");
                }
                ctx.execute("INSERT INTO events (label) VALUES ('second attempt, while closing')");
            });
            closing[0].get(10, TimeUnit.SECONDS);
        } finally {
            closer.shutdownNow();
        }

        assertThat(attempts.get()).isEqualTo(2);
        assertThat(queryLong(db, "SELECT count(*) FROM events WHERE label = 'second attempt, while closing'"))
                .as("a transaction that has begun finishes its attempts").isEqualTo(1);
        assertThat(((HikariDataSource) sessions.dataSource()).isClosed()).isTrue();
    }

    @Test
    void closeFromInsideOwnTransactionIsRefused() {
        try (SessionManager sessions = Managers.on(db).build()) {
            assertThatThrownBy(() -> sessions.transaction(ctx -> sessions.close()))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot be closed from inside one of its own transactions");
            assertThat(sessions.isClosed()).isFalse();
        }
    }

    @Test
    void closingTwiceIsHarmless() {
        SessionManager sessions = Managers.on(db).build();
        sessions.close();
        sessions.close();
        assertThat(sessions.isClosed()).isTrue();
    }
}
