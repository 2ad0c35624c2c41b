package io.managedsession;

import static io.managedsession.support.Managers.pool;
import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import java.io.IOException;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.Duration;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import io.managedsession.support.ConnectionsMade;
import io.managedsession.support.HeldTransactions;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The rows of the transaction contract (the README's "What you can count on") that need no TransactionOptions, each
 * checked from a second connection and against the pool afterwards.
 */
@DatabaseTest(migrations = {})
class SessionManagerContractTest {

    private final TestDatabase db;
    private SessionManager sessions;

    SessionManagerContractTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTables(TestDatabase db) {
        execute(db, "CREATE TABLE items (id integer PRIMARY KEY, label text NOT NULL)");
        execute(db, "CREATE TABLE deferred_items (id integer,"
                + " CONSTRAINT deferred_items_id_key UNIQUE (id) DEFERRABLE INITIALLY DEFERRED)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE items, deferred_items");
        sessions = Managers.on(db).name("contract").build();
    }

    @AfterEach
    void stop() {
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
    }

    private static int backendPid(DSLContext ctx) {
        return ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
    }

    private static int insertItem(DSLContext ctx, int id, String label) {
        return ctx.execute("INSERT INTO items (id, label) VALUES (?, ?)", id, label);
    }

    // --- commit and rollback -----------------------------------------------------------------------------------------

    @Test
    void commitsWhenCallbackReturns() {
        int result = sessions.transactionResult(ctx -> insertItem(ctx, 1, "committed"));

        assertThat(result).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM items WHERE label = 'committed'")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void transactionWithoutResultCommits() {
        sessions.transaction(ctx -> insertItem(ctx, 1, "void"));

        assertThat(rowCount(db, "items")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    static Stream<Throwable> uncheckedThrowables() {
        class SimulatedError extends Error {
            private static final long serialVersionUID = 1L;
        }
        return Stream.of(new IllegalArgumentException("boom"), new SimulatedError());
    }

    @ParameterizedTest
    @MethodSource("uncheckedThrowables")
    void rollsBackAndRethrowsTheSameUncheckedThrowable(Throwable thrown) {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            insertItem(ctx, 1, "rolled back");
            if (thrown instanceof RuntimeException runtime) {
                throw runtime;
            }
            throw (Error) thrown;
        }));

        assertThat(caught).isSameAs(thrown);
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void rollsBackAndRethrowsSameCheckedExceptionUnwrapped() {
        IOException thrown = new IOException("disk full");

        // The checked type reaches the caller's signature: this method must catch or declare IOException.
        Throwable caught;
        try {
            sessions.<Integer, IOException>transactionResult(ctx -> {
                insertItem(ctx, 1, "rolled back");
                throw thrown;
            });
            caught = null;
        } catch (IOException e) {
            caught = e;
        }

        assertThat(caught).isSameAs(thrown);
        assertThat(caught.getSuppressed()).isEmpty();
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void failedRollbackIsAttachedAsSuppressedToTheCallbacksException() throws Exception {
        IllegalStateException thrown = new IllegalStateException("business failure");

        Throwable caught;
        try (Connection observer = db.connect()) {
            caught = catchThrowable(() -> sessions.transaction(ctx -> {
                insertItem(ctx, 1, "lost with the connection");
                int pid = backendPid(ctx);
                // Kill this transaction's own backend from outside and wait until it is gone: ROLLBACK must fail.
                try (PreparedStatement kill = observer.prepareStatement("SELECT pg_terminate_backend(?, 10000)")) {
                    kill.setInt(1, pid);
                    kill.execute();
                }
                throw thrown;
            }));
        }

        assertThat(caught).isSameAs(thrown);
        assertThat(caught.getSuppressed()).hasSize(1);
        assertThat(caught.getSuppressed()[0]).isInstanceOf(DataAccessException.class)
                .hasMessageContaining("ROLLBACK failed");
        // 57P01: the server's "terminating connection due to administrator command"; 08xxx: the socket failed first.
        assertThat(((DataAccessException) caught.getSuppressed()[0]).sqlState()).matches("08...|57P0.");
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
        // The broken connection was evicted; the next transaction gets a working one.
        int insertedAfter = sessions.transactionResult(ctx -> insertItem(ctx, 2, "after"));
        assertThat(insertedAfter).isEqualTo(1);
        assertThat(rowCount(db, "items")).isEqualTo(1);
    }

    @Test
    void failedCommitRollsBackAndThrowsTheCommitsError() {
        ConnectionsMade connectionsMade = new ConnectionsMade();
        try (SessionManager single = Managers.on(db).name("single").maximumPoolSize(1)
                .poolConfiguration(pool -> pool.setMetricsTrackerFactory(connectionsMade)).build()) {
            int pidBefore = single.transactionResult(SessionManagerContractTest::backendPid);
            int madeBefore = connectionsMade.count();

            Throwable caught = catchThrowable(() -> single.transaction(ctx -> {
                insertItem(ctx, 1, "part of a failed commit");
                // The unique constraint is deferred: both inserts succeed and COMMIT fails.
                ctx.execute("INSERT INTO deferred_items VALUES (7), (7)");
            }));

            assertThat(caught).isInstanceOf(DataAccessException.class).hasMessageContaining("COMMIT failed");
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("23505");
            assertThat(rowCount(db, "items")).isZero();
            assertThat(rowCount(db, "deferred_items")).isZero();
            db.assertNothingLeaked(single);
            int pidAfter = single.transactionResult(SessionManagerContractTest::backendPid);
            assertThat(connectionsMade.count())
                    .as("the connection is healthy and stays in the pool: none made to replace it").isEqualTo(madeBefore);
            if (!Managers.throughPgBouncer()) {
                assertThat(pidAfter).as("the same server session").isEqualTo(pidBefore);
            }
        }
    }

    @Test
    void swallowedStatementFailureDoesNotCommit() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            insertItem(ctx, 1, "before the failed statement");
            try {
                insertItem(ctx, 1, "duplicate key");
            } catch (DataAccessException swallowed) {
                // The caller pretends nothing happened; PostgreSQL has aborted the transaction all the same.
            }
        }));

        assertThat(caught).isInstanceOf(RollbackOnlyException.class)
                .hasMessageContaining("a statement failed inside it");
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    // --- joining -------------------------------------------------------------------------------------------------

    @Test
    void nestedCallOnSameThreadJoinsWithoutSecondCheckout() {
        long[] pids = new long[2];
        int[] activeInside = new int[1];

        sessions.transaction(outer -> {
            insertItem(outer, 1, "outer");
            pids[0] = backendPid(outer);
            sessions.transaction(inner -> {
                pids[1] = backendPid(inner);
                activeInside[0] = pool(sessions).getActiveConnections();
                // The joined block sees the outer block's uncommitted row.
                assertThat(inner.fetchCount(table("items"))).isEqualTo(1);
                insertItem(inner, 2, "inner");
            });
            assertThat(rowCount(db, "items")).as("nothing visible outside before the outer block ends").isZero();
        });

        assertThat(pids[1]).isEqualTo(pids[0]);
        assertThat(activeInside[0]).isEqualTo(1);
        assertThat(rowCount(db, "items")).isEqualTo(2);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void swallowedFailureOfJoinedBlockEndsInRollbackOnlyException() {
        IllegalStateException innerFailure = new IllegalStateException("inner failed");

        Throwable caught = catchThrowable(() -> sessions.transaction(outer -> {
            insertItem(outer, 1, "outer");
            try {
                sessions.transaction(inner -> {
                    insertItem(inner, 2, "inner");
                    throw innerFailure;
                });
            } catch (IllegalStateException swallowed) {
                // The outer block carries on as if nothing happened.
            }
            insertItem(outer, 3, "after the swallowed failure");
        }));

        assertThat(caught).isInstanceOf(RollbackOnlyException.class).hasCause(innerFailure)
                .hasMessageContaining("joined block failed");
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void failureOfJoinedBlockPropagatedByOuterBlockIsRethrownAsIs() {
        IllegalStateException innerFailure = new IllegalStateException("inner failed");

        Throwable caught = catchThrowable(() -> sessions.transaction(outer -> {
            insertItem(outer, 1, "outer");
            sessions.transaction(inner -> {
                throw innerFailure;
            });
        }));

        assertThat(caught).isSameAs(innerFailure);
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void jooqNestedTransactionOnTheContextIsASavepoint() {
        sessions.transaction(ctx -> {
            insertItem(ctx, 1, "outer");
            catchThrowable(() -> ctx.transaction(nested -> {
                insertItem(nested.dsl(), 2, "rolled back to the savepoint");
                throw new IllegalStateException("nested failure");
            }));
            ctx.transaction(nested -> insertItem(nested.dsl(), 3, "released savepoint"));
        });

        assertThat(queryLong(db, "SELECT count(*) FROM items WHERE id IN (1, 3)")).isEqualTo(2);
        assertThat(rowCount(db, "items")).isEqualTo(2);
        db.assertNothingLeaked(sessions);
    }

    // --- current() and the thread scope ------------------------------------------------------------------------------

    @Test
    void currentIsTheRunningTransactionsContextAndEmptyOutside() throws Exception {
        assertThat(sessions.current()).isEmpty();
        AtomicReference<Object> seenFromOtherThread = new AtomicReference<>();

        sessions.transaction(ctx -> {
            assertThat(sessions.current()).containsSame(ctx);
            CompletableFuture.runAsync(() -> seenFromOtherThread.set(sessions.current())).get(10, TimeUnit.SECONDS);
        });

        assertThat(seenFromOtherThread.get()).isEqualTo(Optional.empty());
        assertThat(sessions.current()).isEmpty();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void scopeIsClearedOnEveryPathForAReusedThread() throws Exception {
        ExecutorService single = Executors.newSingleThreadExecutor();
        try {
            // Three ways out of a transaction on the same pooled thread: return, throw, rollback-only.
            single.submit(() -> sessions.transaction(ctx -> insertItem(ctx, 1, "a"))).get(10, TimeUnit.SECONDS);
            single.submit(() -> catchThrowable(() -> sessions.transaction(ctx -> {
                throw new IllegalStateException("x");
            }))).get(10, TimeUnit.SECONDS);
            single.submit(() -> catchThrowable(() -> sessions.transaction(outer -> {
                catchThrowable(() -> sessions.transaction(inner -> {
                    throw new IllegalStateException("y");
                }));
            }))).get(10, TimeUnit.SECONDS);

            // Nothing is left on the thread: the next call begins a transaction of its own instead of joining.
            Integer pidOfNext = single.submit(() -> {
                assertThat(sessions.current()).isEmpty();
                return sessions.transactionResult(ctx -> {
                    insertItem(ctx, 2, "b");
                    return backendPid(ctx);
                });
            }).get(10, TimeUnit.SECONDS);

            assertThat(pidOfNext).isPositive();
            assertThat(rowCount(db, "items")).isEqualTo(2);
        } finally {
            single.shutdownNow();
        }
        db.assertNothingLeaked(sessions);
    }

    // --- interrupts ------------------------------------------------------------------------------------------------

    @Test
    void interruptDuringCallbackRollsBackAndKeepsTheFlag() {
        try {
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
                insertItem(ctx, 1, "interrupted");
                Thread.currentThread().interrupt();
            }));

            assertThat(caught).isInstanceOf(SessionException.class).hasMessageContaining("interrupted");
            assertThat(Thread.currentThread().isInterrupted()).as("interrupt flag kept").isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void interruptedThreadStartsNoTransactionAndKeepsTheFlag() {
        long checkoutsBefore = pool(sessions).getActiveConnections();
        try {
            Thread.currentThread().interrupt();
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> insertItem(ctx, 1, "never")));

            assertThat(caught).isInstanceOf(SessionException.class).hasMessageContaining("interrupted");
            assertThat(Thread.currentThread().isInterrupted()).isTrue();
        } finally {
            Thread.interrupted();
        }
        assertThat(pool(sessions).getActiveConnections()).isEqualTo(checkoutsBefore);
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void interruptedExceptionFromCallbackIsRethrownAndRolledBack() {
        InterruptedException thrown = new InterruptedException("cancelled");

        Throwable caught = catchThrowable(() -> sessions.<InterruptedException>transaction(ctx -> {
            insertItem(ctx, 1, "cancelled");
            throw thrown;
        }));

        assertThat(caught).isSameAs(thrown);
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    // --- misuse of a transaction's DSLContext ------------------------------------------------------------------------

    @Test
    void contextUsedAfterItsTransactionEndedFailsClearly() {
        DSLContext leaked = sessions.transactionResult(ctx -> ctx);

        assertThatThrownBy(() -> leaked.fetchValue("SELECT 1"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already ended (committed)");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void rawConnectionKeptBeyondItsTransactionFailsClearly() {
        Connection leaked = sessions.transactionResult(ctx -> ctx.connectionResult(connection -> connection));

        assertThatThrownBy(() -> leaked.prepareStatement("SELECT 1"))
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("already ended");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void contextUsedFromAnotherThreadFailsClearlyAndTransactionGoesOn() throws InterruptedException {
        AtomicReference<Throwable> fromOtherThread = new AtomicReference<>();

        sessions.transaction(ctx -> {
            insertItem(ctx, 1, "owner thread");
            Thread other = Thread.ofPlatform().name("intruder").start(
                    () -> fromOtherThread.set(catchThrowable(() -> insertItem(ctx, 2, "other thread"))));
            other.join();
        });

        assertThat(fromOtherThread.get()).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("used from thread 'intruder'")
                .hasMessageContaining("not thread safe");
        assertThat(queryLong(db, "SELECT count(*) FROM items WHERE id = 1")).isEqualTo(1);
        assertThat(rowCount(db, "items")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void endingTheTransactionThroughTheRawConnectionIsRefused() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            insertItem(ctx, 1, "not committed behind the manager's back");
            ctx.connection(Connection::commit);
        }));

        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("Connection.commit() is not allowed");
        assertThat(rowCount(db, "items")).isZero();
        db.assertNothingLeaked(sessions);
    }

    // --- the pool ------------------------------------------------------------------------------------------------

    @Test
    void exhaustedPoolGivesAClearErrorWithThePoolsNumbers() throws Exception {
        try (SessionManager small = Managers.on(db).name("exhausted").maximumPoolSize(2)
                .connectionTimeout(Duration.ofMillis(500)).build()) {
            try (HeldTransactions held = HeldTransactions.hold(small, 2)) {
                Throwable caught = catchThrowable(() -> small.transaction(ctx -> ctx.fetchValue("SELECT 1")));

                assertThat(caught).isInstanceOf(ConnectionUnavailableException.class)
                        .hasMessageContaining("'exhausted'")
                        .hasMessageContaining("total=2, active=2, idle=0");
                held.release();
            }
            db.assertNothingLeaked(small);
        }
    }
}
