package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.field;

import java.sql.Savepoint;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicReference;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** REQUIRES_NEW, NESTED and MANDATORY, isolation and read-only, and joined calls that ask for other settings. */
@DatabaseTest(migrations = {})
class PropagationTest {

    private static final TransactionOptions REQUIRES_NEW = TransactionOptions.builder()
            .propagation(Propagation.REQUIRES_NEW).build();
    private static final TransactionOptions NESTED = TransactionOptions.builder()
            .propagation(Propagation.NESTED).build();
    private static final TransactionOptions MANDATORY = TransactionOptions.builder()
            .propagation(Propagation.MANDATORY).build();

    private final TestDatabase db;
    private SessionManager sessions;

    PropagationTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE notes (id integer PRIMARY KEY, text text NOT NULL)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE notes");
        sessions = Managers.on(db).build();
    }

    @AfterEach
    void stop() {
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
    }

    private static int note(DSLContext ctx, int id, String text) {
        return ctx.execute("INSERT INTO notes (id, text) VALUES (?, ?)", id, text);
    }

    private static int pid(DSLContext ctx) {
        return ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
    }

    private long notes(String where) {
        return queryLong(db, "SELECT count(*) FROM notes WHERE " + where);
    }

    // --- REQUIRES_NEW ------------------------------------------------------------------------------------------------

    @Test
    void requiresNewCommitsOnAnotherBackendAlthoughTheOuterRollsBack() {
        int[] pids = new int[2];

        Throwable caught = catchThrowable(() -> sessions.transaction(outer -> {
            note(outer, 1, "outer, rolled back");
            pids[0] = pid(outer);
            sessions.transaction(REQUIRES_NEW, inner -> {
                note(inner, 2, "inner, committed on its own");
                pids[1] = pid(inner);
            });
            throw new IllegalStateException("outer fails after the inner committed");
        }));

        assertThat(caught).hasMessage("outer fails after the inner committed");
        assertThat(pids[1]).as("another backend").isNotEqualTo(pids[0]);
        assertThat(notes("id = 2")).isEqualTo(1);
        assertThat(notes("id = 1")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void suspendedOuterTransactionCannotBeUsedWhileRequiresNewRuns() {
        Throwable[] misuse = new Throwable[1];

        sessions.transaction(outer -> {
            note(outer, 1, "outer");
            sessions.transaction(REQUIRES_NEW, inner -> misuse[0] = catchThrowable(() -> note(outer, 2, "via outer")));
            assertThat(sessions.current()).containsSame(outer);
            note(outer, 3, "outer again, resumed");
        });

        assertThat(misuse[0]).isInstanceOf(IllegalStateException.class).hasMessageContaining("suspended");
        assertThat(notes("id IN (1, 3)")).isEqualTo(2);
        assertThat(notes("id = 2")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void requiresNewOnAPoolWithNoConnectionLeftNamesThePoolStarvationPattern() {
        try (SessionManager single = Managers.on(db).name("starved").maximumPoolSize(1)
                .connectionTimeout(Duration.ofMillis(300)).build()) {
            AtomicReference<Throwable> starved = new AtomicReference<>();

            single.transaction(outer -> {
                note(outer, 1, "outer holds the only connection");
                starved.set(catchThrowable(() -> single.transaction(REQUIRES_NEW, inner -> note(inner, 2, "never"))));
            });

            assertThat(starved.get()).isInstanceOf(ConnectionUnavailableException.class)
                    .hasMessageContaining("total=1, active=1")
                    .hasMessageContaining("already holds 1 connection(s) of this pool")
                    .hasMessageContaining("pool-starvation pattern")
                    .hasMessageContaining("maximumPoolSize");
            assertThat(notes("id = 1")).as("the outer transaction still commits").isEqualTo(1);
            db.assertNothingLeaked(single);
        }
    }

    // --- NESTED ------------------------------------------------------------------------------------------------------

    @Test
    void nestedFailureRollsBackToItsSavepointAndTheOuterWorkCommits() {
        IllegalStateException innerFailure = new IllegalStateException("inner failed");

        sessions.transaction(outer -> {
            note(outer, 1, "before the savepoint");
            Throwable caught = catchThrowable(() -> sessions.transaction(NESTED, inner -> {
                note(inner, 2, "inside the savepoint");
                throw innerFailure;
            }));
            assertThat(caught).isSameAs(innerFailure);
            note(outer, 3, "after the savepoint");
        });

        assertThat(notes("id IN (1, 3)")).isEqualTo(2);
        assertThat(notes("id = 2")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void nestedSavepointAlsoUndoesAFailedStatementSoTheOuterCanGoOn() {
        sessions.transaction(outer -> {
            note(outer, 1, "outer");
            Throwable caught = catchThrowable(() -> sessions.transaction(NESTED, inner -> note(inner, 1, "duplicate")));
            assertThat(caught).isInstanceOf(DataAccessException.class);
            note(outer, 2, "the transaction is usable again");
        });

        assertThat(notes("true")).isEqualTo(2);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void joinedFailureInsideARolledBackSavepointNoLongerDoomsTheOuterTransaction() {
        sessions.transaction(outer -> {
            note(outer, 1, "outer");
            catchThrowable(() -> sessions.transaction(NESTED, savepoint -> {
                // A joined block inside the savepoint fails and marks the transaction rollback-only ...
                sessions.transaction(joined -> {
                    note(joined, 2, "joined");
                    throw new IllegalStateException("joined failed");
                });
            }));
            // ... but the savepoint rolled all of it back, so the outer transaction may still commit.
        });

        assertThat(notes("id = 1")).isEqualTo(1);
        assertThat(notes("id = 2")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void joinedFailureInsideARolledBackJooqSavepointNoLongerDoomsTheOuterTransactionEither() {
        sessions.transaction(outer -> {
            note(outer, 1, "outer");
            // jOOQ's own nesting on the transaction's DSLContext is a savepoint too, and behaves as NESTED does.
            catchThrowable(() -> outer.transaction(savepoint -> sessions.transaction(joined -> {
                note(joined, 2, "joined");
                throw new IllegalStateException("joined failed");
            })));
        });

        assertThat(notes("id = 1")).isEqualTo(1);
        assertThat(notes("id = 2")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void savepointSetThroughTheRawConnectionIsTrackedLikeAnyOther() {
        sessions.transaction(outer -> {
            note(outer, 1, "outer");
            outer.connection(connection -> {
                Savepoint savepoint = connection.setSavepoint();
                catchThrowable(() -> sessions.transaction(joined -> {
                    note(joined, 2, "joined");
                    throw new IllegalStateException("joined failed");
                }));
                connection.rollback(savepoint);
            });
        });

        assertThat(notes("id = 1")).isEqualTo(1);
        assertThat(notes("id = 2")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void nestedWithoutARunningTransactionBeginsOne() {
        sessions.transaction(NESTED, ctx -> note(ctx, 1, "own transaction"));

        assertThat(notes("id = 1")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    // --- MANDATORY -----------------------------------------------------------------------------------------------

    @Test
    void mandatoryWithoutATransactionThrowsAndJoinsOtherwise() {
        assertThatThrownBy(() -> sessions.transaction(MANDATORY, ctx -> note(ctx, 1, "never")))
                .isInstanceOf(NoTransactionException.class)
                .hasMessageContaining("MANDATORY")
                .hasMessageContaining("found no running transaction");

        int[] pids = new int[2];
        sessions.transaction(outer -> {
            pids[0] = pid(outer);
            sessions.transaction(MANDATORY, inner -> pids[1] = pid(inner));
        });

        assertThat(pids[1]).isEqualTo(pids[0]);
        assertThat(notes("true")).isZero();
        db.assertNothingLeaked(sessions);
    }

    // --- isolation and access mode -----------------------------------------------------------------------------------

    @Test
    void isolationAndReadOnlyAreAppliedToTheTransaction() {
        TransactionOptions options = TransactionOptions.builder().isolation(Isolation.REPEATABLE_READ)
                .readOnly(true).build();

        String[] settings = sessions.transactionResult(options, ctx -> new String[] {
                String.valueOf(ctx.fetchValue("SHOW transaction_isolation")),
                String.valueOf(ctx.fetchValue("SHOW transaction_read_only"))});

        assertThat(settings).containsExactly("repeatable read", "on");
        String after = sessions.transactionResult(ctx -> String.valueOf(ctx.fetchValue("SHOW transaction_isolation")));
        assertThat(after).as("nothing carried over to the next transaction").isEqualTo("read committed");
    }

    @Test
    void writeInAReadOnlyTransactionFailsWithPostgresReasonAndWritesNothing() {
        Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.readOnly(),
                ctx -> note(ctx, 1, "refused")));

        assertThat(caught).isInstanceOf(DataAccessException.class)
                .hasMessageContaining("cannot execute INSERT in a read-only transaction");
        assertThat(((DataAccessException) caught).sqlState()).isEqualTo("25006");
        assertThat(notes("true")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void joiningWithAnotherIsolationFailsNamingBoth() {
        TransactionOptions repeatableRead = TransactionOptions.builder().isolation(Isolation.REPEATABLE_READ).build();

        Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.serializable(), outer ->
                sessions.transaction(repeatableRead, inner -> note(inner, 1, "never"))));

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("asks for isolation REPEATABLE_READ")
                .hasMessageContaining("has isolation SERIALIZABLE");
        assertThat(notes("true")).isZero();
        db.assertNothingLeaked(sessions);
    }

    @Test
    void joiningADefaultTransactionComparesWithWhatPostgresReports() {
        TransactionOptions readCommitted = TransactionOptions.builder().isolation(Isolation.READ_COMMITTED).build();
        TransactionOptions serializable = TransactionOptions.builder().isolation(Isolation.SERIALIZABLE).build();

        sessions.transaction(outer -> sessions.transaction(readCommitted, inner -> note(inner, 1, "same isolation")));
        Throwable caught = catchThrowable(() -> sessions.transaction(outer ->
                sessions.transaction(serializable, inner -> note(inner, 2, "never"))));

        assertThat(notes("id = 1")).isEqualTo(1);
        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("asks for isolation SERIALIZABLE")
                .hasMessageContaining("has isolation READ_COMMITTED");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void joiningWithAnotherAccessModeFailsNamingBoth() {
        Throwable caught = catchThrowable(() -> sessions.transaction(outer ->
                sessions.transaction(TransactionOptions.readOnly(), inner -> inner.fetchValue("SELECT 1"))));

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("asks for a read-only transaction")
                .hasMessageContaining("is read-write");
        db.assertNothingLeaked(sessions);
    }
}
