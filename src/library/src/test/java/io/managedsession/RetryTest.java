package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.internal.SqlStates;
import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** Serialization failures and deadlocks made real by two threads, and the retry rules around them. */
@DatabaseTest(migrations = {})
class RetryTest {

    private final TestDatabase db;
    private SessionManager sessions;

    RetryTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTables(TestDatabase db) {
        execute(db, "CREATE TABLE doctors (name text PRIMARY KEY, on_call boolean NOT NULL)");
        execute(db, "CREATE TABLE counters (id integer PRIMARY KEY, n integer NOT NULL)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE doctors, counters");
        execute(db, "INSERT INTO doctors VALUES ('alice', true), ('bob', true)");
        execute(db, "INSERT INTO counters VALUES (1, 0), (2, 0)");
        sessions = Managers.on(db).build();
    }

    @AfterEach
    void stop() {
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
    }

    /**
     * The classic write skew: each doctor may go off call if another one is still on call. Both read "two on call"
     * (the barrier makes sure they both read before either writes), then both go off call. Under SERIALIZABLE,
     * PostgreSQL fails one of them with 40001.
     */
    private List<Future<Boolean>> twoDoctorsGoOffCall(TransactionOptions options, AtomicInteger attempts,
            ExecutorService threads) {
        CyclicBarrier bothHaveRead = new CyclicBarrier(2);
        List<Future<Boolean>> outcomes = new ArrayList<>();
        for (String doctor : List.of("alice", "bob")) {
            AtomicInteger myAttempts = new AtomicInteger();
            outcomes.add(threads.submit(() -> sessions.transactionResult(options, ctx -> {
                attempts.incrementAndGet();
                int onCall = ctx.fetchCount(ctx.selectFrom("doctors").where("on_call"));
                if (myAttempts.incrementAndGet() == 1) {
                    bothHaveRead.await(30, TimeUnit.SECONDS);
                }
                if (onCall < 2) {
                    return false;
                }
                ctx.execute("UPDATE doctors SET on_call = false WHERE name = ?", doctor);
                return true;
            })));
        }
        return outcomes;
    }

    @Test
    void writeSkewIsRetriedAndTheInvariantHolds() throws Exception {
        AtomicInteger attempts = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        List<Boolean> wentOffCall = new ArrayList<>();
        List<String> logLines;
        try (LogCapture logs = LogCapture.everything()) {
            for (Future<Boolean> outcome : twoDoctorsGoOffCall(TransactionOptions.serializable(), attempts, threads)) {
                wentOffCall.add(outcome.get(60, TimeUnit.SECONDS));
            }
            logLines = logs.lines();
        } finally {
            threads.shutdownNow();
        }

        assertThat(queryLong(db, "SELECT count(*) FROM doctors WHERE on_call")).as("someone is on call").isEqualTo(1);
        assertThat(wentOffCall).containsExactlyInAnyOrder(true, false);
        assertThat(attempts.get()).as("two first attempts and one retry").isEqualTo(3);
        assertThat(logLines).as("each retry is logged with its attempt and SQLSTATE")
                .filteredOn(line -> line.startsWith("INFO") && line.contains("running it again"))
                .singleElement().asString().contains("failed on attempt 1 of 3 (SQLSTATE 40001");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void withoutRetriesTheCallerGetsTheSerializationFailure() throws Exception {
        TransactionOptions once = TransactionOptions.serializable().toBuilder().maxAttempts(1).build();
        AtomicInteger attempts = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        List<Throwable> failures = new ArrayList<>();
        try {
            for (Future<Boolean> outcome : twoDoctorsGoOffCall(once, attempts, threads)) {
                failures.add(catchThrowable(() -> outcome.get(60, TimeUnit.SECONDS)));
            }
        } finally {
            threads.shutdownNow();
        }

        List<Throwable> serializationFailures = failures.stream().filter(f -> f != null)
                .map(Throwable::getCause).toList();
        assertThat(serializationFailures).singleElement().isInstanceOf(DataAccessException.class)
                .satisfies(f -> assertThat(((DataAccessException) f).sqlState()).isEqualTo("40001"));
        assertThat(attempts.get()).isEqualTo(2);
        assertThat(queryLong(db, "SELECT count(*) FROM doctors WHERE on_call")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void realDeadlockIsRetriedAndBothUnitsFinish() throws Exception {
        TransactionOptions retried = TransactionOptions.builder().maxAttempts(3).label("crossing").build();
        CyclicBarrier bothHoldTheirFirstRow = new CyclicBarrier(2);
        AtomicInteger attempts = new AtomicInteger();
        ExecutorService threads = Executors.newFixedThreadPool(2);
        try {
            List<Future<?>> units = new ArrayList<>();
            for (int[] order : new int[][] {{1, 2}, {2, 1}}) {
                AtomicInteger myAttempts = new AtomicInteger();
                units.add(threads.submit(() -> {
                    sessions.transaction(retried, ctx -> {
                        attempts.incrementAndGet();
                        increment(ctx, order[0]);
                        if (myAttempts.incrementAndGet() == 1) {
                            bothHoldTheirFirstRow.await(30, TimeUnit.SECONDS);
                        }
                        increment(ctx, order[1]);
                    });
                    return null;
                }));
            }
            for (Future<?> unit : units) {
                unit.get(60, TimeUnit.SECONDS);
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(queryLong(db, "SELECT n FROM counters WHERE id = 1")).isEqualTo(2);
        assertThat(queryLong(db, "SELECT n FROM counters WHERE id = 2")).isEqualTo(2);
        assertThat(attempts.get()).as("the deadlock victim ran once more").isEqualTo(3);
        db.assertNothingLeaked(sessions);
    }

    /**
     * A rolling deploy: the next release's migration changes the type of a column this release reads. The driver
     * prepares a statement on the server from its fifth run on a connection, and the server refuses to run such a
     * plan once its result type changed ("cached plan must not change result type", SQLSTATE 0A000), once per
     * connection: the driver prepares it again on the next try. A transaction that may run again does, and what its
     * failed attempt wrote is gone.
     */
    @Test
    void aStatementPreparedBeforeItsColumnChangedTypeRunsAgain() {
        execute(db, "CREATE TABLE stock (id integer PRIMARY KEY, n integer NOT NULL)");
        execute(db, "INSERT INTO stock VALUES (1, 0)");
        TransactionOptions retried = TransactionOptions.builder().maxAttempts(3).label("restock").build();
        AtomicInteger attempts = new AtomicInteger();
        List<String> failedAttempts = new ArrayList<>();
        // Straight to the server, also in the run behind PgBouncer, whose managers prepare nothing on the server.
        try (SessionManager direct = db.sessionManagerBuilder().maximumPoolSize(1).build()) {
            direct.addObserver(new TransactionObserver() {
                @Override
                public void attemptFailed(String managerName, TransactionOptions options, int attempt,
                        Throwable failure, boolean retrying) {
                    failedAttempts.add(attempt + " " + SqlStates.sqlState(failure) + " " + retrying);
                }
            });
            for (int i = 0; i < 6; i++) {
                direct.transactionResult(ctx -> restock(ctx));
            }
            execute(db, "ALTER TABLE stock ALTER COLUMN n TYPE bigint"); // the next release's migration

            long stock = direct.transactionResult(retried, ctx -> {
                attempts.incrementAndGet();
                return restock(ctx);
            });

            assertThat(failedAttempts).containsExactly("1 0A000 true");
            assertThat(attempts.get()).isEqualTo(2);
            assertThat(stock).as("the first attempt's write rolled back").isEqualTo(7L);
            db.assertNothingLeaked(direct);
        }
        assertThat(queryLong(db, "SELECT n FROM stock WHERE id = 1")).isEqualTo(7L);
    }

    /** Adds one to the stock, then reads it: the read's result type is the column's. */
    private static long restock(DSLContext ctx) {
        ctx.execute("UPDATE stock SET n = n + 1 WHERE id = 1");
        return ((Number) ctx.fetchValue("SELECT n FROM stock WHERE id = ?", 1)).longValue();
    }

    private static void increment(DSLContext ctx, int id) {
        ctx.execute("UPDATE counters SET n = n + 1 WHERE id = ?", id);
    }

    /** A failure that the tests below declare retryable. */
    static final class Flaky extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Flaky(int attempt) {
            super("flaky on attempt " + attempt);
        }
    }

    @Test
    void exhaustedRetriesThrowTheLastFailureWithTheEarlierOnesSuppressed() {
        TransactionOptions options = TransactionOptions.builder().maxAttempts(3)
                .retryOn(t -> t instanceof Flaky).backoff(Duration.ofMillis(1), Duration.ofMillis(5)).build();
        AtomicInteger attempts = new AtomicInteger();

        Throwable caught = catchThrowable(() -> sessions.transaction(options, ctx -> {
            ctx.execute("UPDATE counters SET n = n + 1 WHERE id = 1");
            throw new Flaky(attempts.incrementAndGet());
        }));

        assertThat(attempts.get()).isEqualTo(3);
        assertThat(caught).isInstanceOf(Flaky.class).hasMessage("flaky on attempt 3");
        assertThat(caught.getSuppressed()).extracting(Throwable::getMessage)
                .containsExactly("flaky on attempt 1", "flaky on attempt 2");
        assertThat(queryLong(db, "SELECT n FROM counters WHERE id = 1")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void failuresTheRuleDoesNotAcceptAreNotRetried() {
        AtomicInteger attempts = new AtomicInteger();

        Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.serializable(), ctx -> {
            attempts.incrementAndGet();
            throw new IllegalArgumentException("a bug, not a conflict");
        }));

        assertThat(caught).hasMessage("a bug, not a conflict");
        assertThat(attempts.get()).isEqualTo(1);
    }

    @Test
    void retryableFailureInsideAJoinedBlockRetriesTheWholeUnit() {
        TransactionOptions options = TransactionOptions.builder().maxAttempts(2)
                .retryOn(t -> t instanceof Flaky || t.getCause() instanceof Flaky).build();
        AtomicInteger outerRuns = new AtomicInteger();
        AtomicInteger innerRuns = new AtomicInteger();

        sessions.transaction(options, outer -> {
            outerRuns.incrementAndGet();
            outer.execute("UPDATE counters SET n = n + 1 WHERE id = 1");
            sessions.transaction(options, inner -> {
                // Joined: its own retry settings do not apply, the failure goes to the outermost transaction.
                if (innerRuns.incrementAndGet() == 1) {
                    throw new Flaky(1);
                }
                inner.execute("UPDATE counters SET n = n + 1 WHERE id = 2");
            });
        });

        assertThat(outerRuns.get()).isEqualTo(2);
        assertThat(innerRuns.get()).isEqualTo(2);
        assertThat(queryLong(db, "SELECT n FROM counters WHERE id = 1")).as("first attempt rolled back").isEqualTo(1);
        assertThat(queryLong(db, "SELECT n FROM counters WHERE id = 2")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void retriesStopAtTheDeadline() {
        Duration deadline = Duration.ofMillis(300);
        TransactionOptions options = TransactionOptions.builder().maxAttempts(100).deadline(deadline)
                .retryOn(t -> t instanceof Flaky).backoff(Duration.ofMillis(20), Duration.ofMillis(50)).build();
        AtomicInteger attempts = new AtomicInteger();
        long start = System.nanoTime();

        Throwable caught = catchThrowable(() -> sessions.transaction(options, ctx -> {
            ctx.execute("SELECT 1");
            throw new Flaky(attempts.incrementAndGet());
        }));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(attempts.get()).isBetween(1, 99);
        assertThat(caught).isInstanceOfAny(TransactionTimeoutException.class, Flaky.class);
        int earlierAttempts = caught instanceof Flaky ? attempts.get() - 1 : attempts.get();
        assertThat(caught.getSuppressed()).hasSize(earlierAttempts);
        assertThat(took).as("bounded by the deadline, with slack for a loaded machine")
                .isLessThan(deadline.plusSeconds(3));
        db.assertNothingLeaked(sessions);
    }
}
