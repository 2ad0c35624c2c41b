package io.managedsession;

import static io.managedsession.support.Managers.pool;
import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** afterCommit and afterRollback: once each, after the outcome is final and the connection is back. */
@DatabaseTest(migrations = {})
class CompletionCallbacksTest {

    private final TestDatabase db;
    private SessionManager sessions;

    CompletionCallbacksTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE orders (id integer PRIMARY KEY)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE orders");
        sessions = Managers.on(db).build();
    }

    @AfterEach
    void stop() {
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
    }

    /** A failure the retry rule below accepts. */
    static final class Transient extends RuntimeException {
        private static final long serialVersionUID = 1L;

        Transient() {
            super("transient");
        }
    }

    @Test
    void afterCommitRunsOnceAfterTheCommitWithTheConnectionBackAndNoTransactionOnTheThread() {
        List<String> seen = new ArrayList<>();

        sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO orders VALUES (1)");
            sessions.afterCommit(() -> seen.add("committed rows visible: " + rowCount(db, "orders")
                    + ", connections out: " + pool(sessions).getActiveConnections()
                    + ", in transaction: " + sessions.current().isPresent()));
            sessions.afterRollback(() -> seen.add("rollback action must not run"));
        });

        assertThat(seen).containsExactly("committed rows visible: 1, connections out: 0, in transaction: false");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void actionsRegisteredInARolledBackSavepointFollowItsWorkNotTheOuterOutcome() {
        TransactionOptions nested = TransactionOptions.builder().propagation(Propagation.NESTED).build();
        List<String> ran = new ArrayList<>();

        sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO orders VALUES (1)");
            sessions.afterCommit(() -> ran.add("afterCommit of the outer work"));
            catchThrowable(() -> sessions.transaction(nested, part -> {
                part.execute("INSERT INTO orders VALUES (2)");
                sessions.afterCommit(() -> ran.add("afterCommit of the undone part"));
                sessions.afterRollback(() -> ran.add("afterRollback of the undone part"));
                throw new IllegalStateException("the part is rolled back to its savepoint");
            }));
            sessions.afterRollback(() -> ran.add("afterRollback of the outer work"));
        });

        assertThat(rowCount(db, "orders")).isEqualTo(1);
        assertThat(ran).as("the undone part will never commit; its rollback did happen")
                .containsExactly("afterCommit of the outer work", "afterRollback of the undone part");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void actionsOfAReleasedSavepointFollowTheOuterOutcome() {
        TransactionOptions nested = TransactionOptions.builder().propagation(Propagation.NESTED).build();
        List<String> ran = new ArrayList<>();

        catchThrowable(() -> sessions.transaction(ctx -> {
            sessions.transaction(nested, part -> {
                part.execute("INSERT INTO orders VALUES (3)");
                sessions.afterCommit(() -> ran.add("afterCommit of the released part"));
                sessions.afterRollback(() -> ran.add("afterRollback of the released part"));
            });
            throw new IllegalStateException("the outer transaction rolls back, the released part with it");
        }));

        assertThat(rowCount(db, "orders")).isZero();
        assertThat(ran).containsExactly("afterRollback of the released part");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void unitThatFailsOnceAndCommitsOnRetryRunsAfterRollbackOnceAndAfterCommitOnce() {
        TransactionOptions retried = TransactionOptions.builder().maxAttempts(3)
                .retryOn(t -> t instanceof Transient).build();
        AtomicInteger attempts = new AtomicInteger();
        AtomicInteger afterCommit = new AtomicInteger();
        AtomicInteger afterRollback = new AtomicInteger();

        sessions.transaction(retried, ctx -> {
            sessions.afterCommit(afterCommit::incrementAndGet);
            sessions.afterRollback(afterRollback::incrementAndGet);
            ctx.execute("INSERT INTO orders VALUES (1)");
            if (attempts.incrementAndGet() == 1) {
                throw new Transient();
            }
        });

        assertThat(attempts.get()).isEqualTo(2);
        assertThat(afterRollback.get()).isEqualTo(1);
        assertThat(afterCommit.get()).isEqualTo(1);
        assertThat(rowCount(db, "orders")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void failingAfterCommitIsLoggedAndNeverUndoesTheCommit() {
        AtomicInteger laterActions = new AtomicInteger();

        try (LogCapture logs = LogCapture.everything()) {
            int result = sessions.transactionResult(TransactionOptions.builder().label("with-hooks").build(), ctx -> {
                ctx.execute("INSERT INTO orders VALUES (1)");
                sessions.afterCommit(() -> {
                    throw new IllegalStateException("mail server down");
                });
                sessions.afterCommit(laterActions::incrementAndGet);
                return 42;
            });

            assertThat(result).isEqualTo(42);
            assertThat(logs.lines()).anyMatch(line -> line.startsWith("WARN")
                    && line.contains("An afterCommit action of transaction 'with-hooks'")
                    && line.contains("stays committed")
                    && line.contains("mail server down"));
        }
        assertThat(laterActions.get()).as("the remaining actions still run").isEqualTo(1);
        assertThat(rowCount(db, "orders")).isEqualTo(1);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void afterCommitThatThrowsAnErrorIsLoggedLikeAnyFailureButTheJvmsOwnErrorsPropagate() {
        try (LogCapture logs = LogCapture.everything()) {
            int result = sessions.transactionResult(ctx -> {
                ctx.execute("INSERT INTO orders VALUES (1)");
                sessions.afterCommit(() -> {
                    throw new NoClassDefFoundError("com/example/MissingMailClient");
                });
                return 1;
            });

            assertThat(result).isEqualTo(1);
            assertThat(logs.lines()).anyMatch(line -> line.startsWith("WARN") && line.contains("stays committed")
                    && line.contains("com/example/MissingMailClient"));
        }

        Throwable fatal = catchThrowable(() -> sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO orders VALUES (2)");
            sessions.afterCommit(() -> {
                throw new OutOfMemoryError("simulated");
            });
        }));

        assertThat(fatal).isInstanceOf(OutOfMemoryError.class).hasMessage("simulated");
        assertThat(rowCount(db, "orders")).as("both committed").isEqualTo(2);
        db.assertNothingLeaked(sessions);
    }

    @Test
    void failingAfterRollbackIsAttachedToTheExceptionTheCallerGets() {
        IllegalStateException failure = new IllegalStateException("business rule");

        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            sessions.afterRollback(() -> {
                throw new IllegalStateException("cleanup failed");
            });
            throw failure;
        }));

        assertThat(caught).isSameAs(failure);
        assertThat(caught.getSuppressed()).extracting(Throwable::getMessage).containsExactly("cleanup failed");
        db.assertNothingLeaked(sessions);
    }

    @Test
    void requiresNewHasCallbacksOfItsOwn() {
        List<String> order = new ArrayList<>();
        TransactionOptions requiresNew = TransactionOptions.builder().propagation(Propagation.REQUIRES_NEW).build();

        sessions.transaction(outer -> {
            sessions.afterCommit(() -> order.add("outer committed"));
            sessions.transaction(requiresNew, inner -> sessions.afterCommit(() -> order.add("inner committed")));
            order.add("outer goes on");
        });

        assertThat(order).containsExactly("inner committed", "outer goes on", "outer committed");
    }

    @Test
    void registeringOutsideATransactionFails() {
        assertThatThrownBy(() -> sessions.afterCommit(() -> { }))
                .isInstanceOf(NoTransactionException.class)
                .hasMessageContaining("afterCommit(...) needs a running transaction");
        assertThatThrownBy(() -> sessions.afterRollback(() -> { }))
                .isInstanceOf(NoTransactionException.class);
    }
}
