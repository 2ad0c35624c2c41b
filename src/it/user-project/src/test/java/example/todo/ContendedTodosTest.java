package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.CompletedTransaction;
import io.managedsession.SessionException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionOutcome;
import io.managedsession.TransactionTimeoutException;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * Two users at the same todos, as the installed jar meets them: the one kept waiting is told who holds the row, and
 * a deadlock between two renames is run again by the manager, both transactions committing, while the user's own
 * observer is told which other transaction the deadlock was with.
 */
@DatabaseTest(perTest = true)
class ContendedTodosTest {

    private TestDatabase database;
    private SessionManager sessions;
    private ExecutorService users;

    @BeforeEach
    void start(TestDatabase database) {
        this.database = database;
        sessions = database.sessionManagerBuilder().name("todos").labelInApplicationName(true).build();
        users = Executors.newFixedThreadPool(2);
    }

    @AfterEach
    void stop() {
        users.shutdownNow();
        sessions.close();
    }

    private static TransactionOptions labelled(String label) {
        return TransactionOptions.builder().label(label).build();
    }

    private static int backendPid(DSLContext tx) {
        return tx.fetchSingle("SELECT pg_backend_pid()").get(0, Integer.class);
    }

    @Test
    void aSaveKeptWaitingPastItsDeadlineNamesTheEditorHoldingTheTodoAndWritesNothing() throws Exception {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "draft"));
        CountDownLatch editing = new CountDownLatch(1);
        CountDownLatch saved = new CountDownLatch(1);
        AtomicInteger editorPid = new AtomicInteger();
        Future<?> editor = users.submit(() -> sessions.transactionResult(labelled("editor"), tx -> {
            editorPid.set(backendPid(tx));
            Todos.rename(tx, id, "edited");
            editing.countDown();
            return saved.await(30, TimeUnit.SECONDS);
        }));
        assertTrue(editing.await(30, TimeUnit.SECONDS), "the editor holds the todo");

        TransactionTimeoutException timedOut = assertThrows(TransactionTimeoutException.class,
                () -> sessions.transaction(TransactionOptions.builder().label("save").deadline(Duration.ofMillis(500))
                        .build(), tx -> Todos.complete(tx, id)));
        saved.countDown();
        editor.get(30, TimeUnit.SECONDS);

        String message = timedOut.getMessage();
        assertTrue(message.contains("exceeded its deadline of 500 ms"), message);
        assertTrue(message.contains("pid " + editorPid.get() + " (application_name 'todos/editor'"), message);
        assertTrue(message.contains("query 'update todos set title = $1 where id = $2'"), message);
        assertEquals(Optional.of("edited"), sessions.transactionResult(tx -> Todos.title(tx, id)));
        assertEquals(List.of("edited"), sessions.transactionResult(Todos::open), "the timed-out save wrote nothing");
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aDeadlockBetweenTwoRenamesIsRunAgainAndTheUsersObserverIsToldWhoItWasWith() throws Exception {
        long first = sessions.transactionResult(tx -> Todos.add(tx, "first"));
        long second = sessions.transactionResult(tx -> Todos.add(tx, "second"));
        List<String> failedLabels = new CopyOnWriteArrayList<>();
        List<Throwable> failures = new CopyOnWriteArrayList<>();
        CountDownLatch survivorCommitted = new CountDownLatch(1);
        sessions.addObserver(new TransactionObserver() {
            @Override
            public void attemptFailed(String managerName, TransactionOptions options, int attempt, Throwable failure,
                    boolean retrying) {
                failedLabels.add(options.label().orElseThrow());
                failures.add(failure);
            }

            @Override
            public void transactionCompleted(CompletedTransaction transaction) {
                if (transaction.outcome() == TransactionOutcome.COMMIT) {
                    survivorCommitted.countDown();
                }
            }
        });
        CyclicBarrier bothHoldOne = new CyclicBarrier(2);
        long[][] orders = {{first, second}, {second, first}};
        int[] pids = new int[2];
        List<Future<?>> renames = new CopyOnWriteArrayList<>();
        for (int user = 0; user < 2; user++) {
            int index = user;
            String title = "renamed by user-" + user;
            AtomicInteger attempts = new AtomicInteger();
            TransactionOptions options = TransactionOptions.builder().label("user-" + user).maxAttempts(3).build();
            renames.add(users.submit(() -> sessions.transactionResult(options, tx -> {
                boolean firstAttempt = attempts.incrementAndGet() == 1;
                if (firstAttempt) {
                    pids[index] = backendPid(tx);
                }
                Todos.rename(tx, orders[index][0], title);
                if (firstAttempt) {
                    bothHoldOne.await(30, TimeUnit.SECONDS);
                }
                try {
                    Todos.rename(tx, orders[index][1], title);
                } catch (DataAccessException deadlock) {
                    // The victim's error frees its locks at once, and the survivor commits; waiting for that here
                    // makes certain what the report describes and that the next attempt meets nobody.
                    assertTrue(survivorCommitted.await(30, TimeUnit.SECONDS), "the survivor commits");
                    throw deadlock;
                }
                return attempts.get();
            })));
        }
        for (Future<?> rename : renames) {
            rename.get(60, TimeUnit.SECONDS);
        }

        assertEquals(1, failures.size(), "one deadlock victim, run again once: " + failures);
        DataAccessException deadlock = assertInstanceOf(DataAccessException.class, failures.get(0));
        assertEquals("40P01", deadlock.sqlState());
        assertEquals(1, deadlock.getSuppressed().length, "the lock diagnostics ride along: " + deadlock);
        SessionException diagnostics = assertInstanceOf(SessionException.class, deadlock.getSuppressed()[0]);
        String victim = failedLabels.get(0);
        int survivor = victim.equals("user-0") ? 1 : 0;
        String report = diagnostics.getMessage();
        assertTrue(report.startsWith("Lock diagnostics: the other party of the deadlock: pid " + pids[survivor]
                + " (its transaction "), report);
        assertTrue(report.contains(", which took part in the deadlock, has committed since; now application_name"
                + " 'todos', idle, no transaction"), report);
        // The victim ran again after the survivor committed: its renames are the ones that stay.
        String renamed = "renamed by " + victim;
        assertEquals(List.of(renamed, renamed), sessions.transactionResult(Todos::open));
        database.assertNothingLeaked(sessions);
    }
}
