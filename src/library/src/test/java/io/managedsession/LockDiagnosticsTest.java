package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorCompletionService;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A statement that fails on a lock timeout, a deadline or a deadlock names who blocked it: pid, application_name
 * (carrying the blocker's label), state, transaction age and query, in the exception and in a WARN line.
 */
@DatabaseTest(migrations = {})
class LockDiagnosticsTest {

    private static final String LOCK_TIMEOUT = "SET LOCAL lock_timeout = '300ms'";

    private final TestDatabase db;
    private SessionManager sessions;
    private ExecutorService threads;

    LockDiagnosticsTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeEach
    void start() {
        execute(db, "DROP TABLE IF EXISTS stock", "CREATE TABLE stock (id int PRIMARY KEY, n int NOT NULL)",
                "INSERT INTO stock VALUES (1, 0), (2, 0)");
        sessions = Managers.on(db).name("diag").labelInApplicationName(true).build();
        threads = Executors.newCachedThreadPool();
    }

    @AfterEach
    void stop() {
        if (threads != null) {
            threads.shutdownNow();
        }
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
    }

    private static TransactionOptions labelled(String label) {
        return TransactionOptions.builder().label(label).build();
    }

    /** A transaction labelled {@code holder} that runs {@code sql} and holds its locks until released. */
    private final class Holder implements AutoCloseable {

        final CountDownLatch holding = new CountDownLatch(1);
        final CountDownLatch release = new CountDownLatch(1);
        final AtomicInteger pid = new AtomicInteger();
        final Future<?> done;

        Holder(String sql) throws InterruptedException {
            done = threads.submit(() -> sessions.transactionResult(labelled("holder"), ctx -> {
                pid.set(backendPid(ctx));
                ctx.execute(sql);
                holding.countDown();
                release.await();
                return null;
            }));
            assertThat(holding.await(10, TimeUnit.SECONDS)).isTrue();
        }

        @Override
        public void close() throws ExecutionException, TimeoutException {
            release.countDown();
            try {
                done.get(10, TimeUnit.SECONDS);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while the holder ended", e);
            }
        }
    }

    private static int backendPid(DSLContext ctx) {
        return ctx.fetchSingle("SELECT pg_backend_pid()").get(0, Integer.class);
    }

    /** The blockers, as attached to the block's own exception, which is thrown as it was, never wrapped. */
    private static String diagnostics(Throwable caught) {
        assertThat(caught.getSuppressed()).hasSize(1);
        assertThat(caught.getSuppressed()[0]).isExactlyInstanceOf(SessionException.class)
                .hasMessageStartingWith("Lock diagnostics: ");
        return caught.getSuppressed()[0].getMessage();
    }

    @Test
    void aLockTimeoutNamesTheBlockingPidItsLabelStateAndQuery() throws Exception {
        try (Holder holder = new Holder("UPDATE stock SET n = n + 1 WHERE id = 1");
             LogCapture log = LogCapture.everything()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("waiter"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                ctx.execute("UPDATE stock SET n = n + 10 WHERE id = 1");
            }));

            assertThat(caught).isExactlyInstanceOf(DataAccessException.class)
                    .hasMessageContaining("canceling statement due to lock timeout");
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("55P03");
            assertThat(diagnostics(caught)).contains("blocked by the holder of row (0,1) in \"stock\"")
                    .contains("pid " + holder.pid.get() + " (application_name 'diag/holder', idle in transaction")
                    .contains("transaction running").contains("query 'UPDATE stock SET n = n + 1 WHERE id = 1'");
            assertThat(log.lines()).anySatisfy(line -> assertThat(line).startsWith("WARN")
                    .contains("Transaction 'waiter' of SessionManager 'diag' failed on a lock (SQLSTATE 55P03")
                    .contains("pid " + holder.pid.get() + " (application_name 'diag/holder'"));
        }
    }

    @Test
    void aDeadlineSpentWaitingForALockNamesTheBlocker() throws Exception {
        try (Holder holder = new Holder("SELECT * FROM stock WHERE id = 2 FOR UPDATE")) {
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .label("deadline").deadline(Duration.ofMillis(500)).build(),
                    ctx -> ctx.execute("DELETE FROM stock WHERE id = 2")));

            assertThat(caught).as("a deadline's own exception carries the blockers in its message")
                    .isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("exceeded its deadline of 500 ms")
                    .hasMessageContaining("pid " + holder.pid.get() + " (application_name 'diag/holder'")
                    .hasMessageContaining("FOR UPDATE");
        }
    }

    @Test
    void aDeadlockNamesTheOtherParty() throws Exception {
        CyclicBarrier bothHoldOneRow = new CyclicBarrier(2);
        CountDownLatch victimSeen = new CountDownLatch(1);
        int[] pids = new int[2];
        ExecutorCompletionService<Throwable> sides = new ExecutorCompletionService<>(threads);
        for (int side = 0; side < 2; side++) {
            int first = side + 1;
            int second = 2 - side;
            int index = side;
            sides.submit(() -> catchThrowable(() -> sessions.transaction(labelled("side-" + index), ctx -> {
                pids[index] = backendPid(ctx);
                ctx.execute("UPDATE stock SET n = n + 1 WHERE id = " + first);
                bothHoldOneRow.await(10, TimeUnit.SECONDS);
                ctx.execute("UPDATE stock SET n = n + 1 WHERE id = " + second);
                // The survivor goes on with its work, as it would: it is still there when it is named.
                victimSeen.await(10, TimeUnit.SECONDS);
            })));
        }
        Throwable caught = sides.take().get(30, TimeUnit.SECONDS);
        victimSeen.countDown();
        Throwable survivor = sides.take().get(30, TimeUnit.SECONDS);

        assertThat(survivor).as("one side survives the deadlock").isNull();
        assertThat(caught).as("the other is its victim").isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) caught).sqlState()).isEqualTo("40P01");
        int other = diagnostics(caught).contains("pid " + pids[0] + " (") ? 0 : 1;
        assertThat(diagnostics(caught)).contains("the other party of the deadlock: pid " + pids[other]
                + " (application_name 'diag/side-" + other + "'").contains("UPDATE stock SET n = n + 1 WHERE id = ");
    }

    @Test
    void aDeadlockWhoseOtherPartyHasCommittedSinceSaysSoAndWhatThatBackendDoesNow() throws Exception {
        // The usual case: the victim's error frees its locks at once, so the survivor finishes its work and commits
        // before anyone can ask about it. The victim here waits for that, so that the order is certain.
        CyclicBarrier bothHoldOneRow = new CyclicBarrier(2);
        CountDownLatch survivorCommitted = new CountDownLatch(1);
        int[] pids = new int[2];
        long[] transactionIds = new long[2];
        ExecutorCompletionService<Throwable> sides = new ExecutorCompletionService<>(threads);
        for (int side = 0; side < 2; side++) {
            int first = side + 1;
            int second = 2 - side;
            int index = side;
            sides.submit(() -> {
                Throwable failure = catchThrowable(() -> sessions.transaction(labelled("side-" + index), ctx -> {
                    pids[index] = backendPid(ctx);
                    ctx.execute("UPDATE stock SET n = n + 1 WHERE id = " + first);
                    transactionIds[index] = ctx.fetchSingle("SELECT pg_current_xact_id()::text::bigint % 4294967296")
                            .get(0, Long.class);
                    bothHoldOneRow.await(10, TimeUnit.SECONDS);
                    try {
                        ctx.execute("UPDATE stock SET n = n + 1 WHERE id = " + second);
                    } catch (DataAccessException deadlock) {
                        assertThat(survivorCommitted.await(10, TimeUnit.SECONDS)).isTrue();
                        throw deadlock;
                    }
                }));
                if (failure == null) {
                    survivorCommitted.countDown();
                }
                return failure;
            });
        }
        Throwable firstDone = sides.take().get(30, TimeUnit.SECONDS);
        Throwable caught = firstDone == null ? sides.take().get(30, TimeUnit.SECONDS) : firstDone;

        assertThat(((DataAccessException) caught).sqlState()).isEqualTo("40P01");
        int survivor = diagnostics(caught).contains("pid " + pids[0] + " (") ? 0 : 1;
        String committedSince = "the other party of the deadlock: pid " + pids[survivor] + " (its transaction "
                + transactionIds[survivor] + ", which took part in the deadlock, has committed since; ";
        // Behind PgBouncer, which hands out the server connection freed last (server_round_robin = 0, its default),
        // the survivor's backend goes on to serve the lookup itself.
        assertThat(diagnostics(caught)).contains(committedSince + (Managers.throughPgBouncer()
                ? "the backend now serves this lookup, handed over by a transaction pooler)"
                : "now application_name 'diag', idle, no transaction, query 'COMMIT')"));
    }

    @Test
    void aRowHolderThatEndsBeforeTheLookupIsSaidToHaveEndedAndNobodyElseIsGuessedAt() throws Exception {
        try (Holder bystander = new Holder("UPDATE stock SET n = n + 1 WHERE id = 2")) {
            // An older transaction holding other locks, which a guess would name.
            Holder holder = new Holder("UPDATE stock SET n = n + 1 WHERE id = 1");
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("waiter"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                try {
                    ctx.execute("UPDATE stock SET n = n + 10 WHERE id = 1");
                } catch (DataAccessException timedOut) {
                    holder.close(); // the holder commits just after the wait gave up, before anyone asks
                    throw timedOut;
                }
            }));

            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("55P03");
            assertThat(diagnostics(caught)).isEqualTo("Lock diagnostics: blocked by the holder of row (0,1) in"
                    + " \"stock\", whose transaction has ended since (that version of the row is gone)")
                    .doesNotContain("pid " + bystander.pid.get());
        }
    }

    @Test
    void aRowLockerThatEndsBeforeTheLookupIsNoLongerFoundAndTheOlderLockHoldersAreOnlyLikely() throws Exception {
        try (Holder bystander = new Holder("UPDATE stock SET n = n + 1 WHERE id = 2")) {
            Holder locker = new Holder("SELECT * FROM stock WHERE id = 1 FOR UPDATE");
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("waiter"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                try {
                    ctx.execute("UPDATE stock SET n = n + 10 WHERE id = 1");
                } catch (DataAccessException timedOut) {
                    locker.close(); // the row stays as it was, with the ended locker's id as its xmax
                    throw timedOut;
                }
            }));

            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("55P03");
            assertThat(diagnostics(caught)).startsWith("Lock diagnostics: the holder of row (0,1) in \"stock\" is no"
                    + " longer found (ended since, or one of several sharing the row); transactions older than this"
                    + " one that hold locks, likely: pid " + bystander.pid.get() + " (application_name 'diag/holder'");
        }
    }

    @Test
    void aRowHeldBySavepointWorkIsStillPinnedOnItsBackend() throws Exception {
        // The row's xmax is then the subtransaction's id, which pg_stat_activity does not show.
        try (Holder holder = new Holder("SAVEPOINT inner_work; UPDATE stock SET n = n + 1 WHERE id = 1")) {
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("waiter"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                ctx.execute("UPDATE stock SET n = n + 10 WHERE id = 1");
            }));

            assertThat(diagnostics(caught)).startsWith("Lock diagnostics: blocked by the holder of row (0,1) in"
                    + " \"stock\": pid " + holder.pid.get() + " (application_name 'diag/holder', idle in transaction");
        }
    }

    @Test
    void aTableLockWithoutARowNamesTheOlderTransactionsHoldingLocksAsLikelyBlockers() throws Exception {
        try (Holder holder = new Holder("LOCK TABLE stock IN ACCESS EXCLUSIVE MODE")) {
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("reader"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                ctx.fetch("SELECT * FROM stock");
            }));

            assertThat(diagnostics(caught)).contains("the server did not say which lock was waited for")
                    .contains("pid " + holder.pid.get() + " (application_name 'diag/holder'")
                    .contains("LOCK TABLE stock");
        }
    }

    @Test
    void aStatementTimeoutThatWaitedForNoRowNamesNobody() throws Exception {
        try (Holder holder = new Holder("UPDATE stock SET n = n + 1 WHERE id = 1")) {
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("slow"), ctx -> {
                ctx.execute("SET LOCAL statement_timeout = '100ms'");
                ctx.execute("SELECT pg_sleep(5)");
            }));

            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("57014");
            assertThat(caught.getSuppressed()).as("a slow query, not a lock: nobody to name").isEmpty();
        }
    }

    @Test
    void withDiagnosticsOffTheErrorIsThePlainOne() throws Exception {
        try (SessionManager quiet = Managers.on(db).lockDiagnostics(false).build();
             Holder holder = new Holder("UPDATE stock SET n = n + 1 WHERE id = 1")) {
            Throwable caught = catchThrowable(() -> quiet.transaction(ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                ctx.execute("UPDATE stock SET n = n + 10 WHERE id = 1");
            }));

            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("55P03");
            assertThat(caught.getSuppressed()).isEmpty();
        }
    }

    @Test
    void aPasswordInTheBlockersQueryIsNotCopied() throws Exception {
        // As in ALTER ROLE ... PASSWORD '...': the literal after PASSWORD never reaches a message.
        try (Holder holder = new Holder("UPDATE stock SET n = n + 1 WHERE id = 1 /* PASSWORD 'hunter2-secret' */")) {
            Throwable caught = catchThrowable(() -> sessions.transaction(labelled("second"), ctx -> {
                ctx.execute(LOCK_TIMEOUT);
                ctx.execute("UPDATE stock SET n = 0 WHERE id = 1");
            }));

            assertThat(diagnostics(caught)).contains("pid " + holder.pid.get()).contains("PASSWORD '***'")
                    .doesNotContain("hunter2-secret");
        }
    }
}
