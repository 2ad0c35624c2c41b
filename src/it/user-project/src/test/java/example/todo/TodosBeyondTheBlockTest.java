package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.PrintWriter;
import java.io.StringReader;
import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.LockSupport;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.jooq.DSLContext;
import org.jooq.Loader;
import org.jooq.Query;
import org.jooq.Record1;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;

import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * What a user's code does with jOOQ beyond a plain query, as the installed jar meets it: a lazy stream, a CSV import
 * through jOOQ's Loader or the driver's COPY, and jOOQ's asynchronous calls. Each works inside the transaction; each
 * way of taking the transaction's connection elsewhere is refused with what to do instead, and nothing is written by
 * halves.
 */
@DatabaseTest(perTest = true)
class TodosBeyondTheBlockTest {

    private static Stream<String> titles(DSLContext ctx) {
        // A fetch size makes the driver read the rows a few at a time, over the transaction's connection.
        return ctx.select(Todos.TITLE).from(Todos.TODOS).orderBy(Todos.ID).fetchSize(2).fetchStream()
                .map(Record1::value1);
    }

    private static Loader<?> importTitles(DSLContext ctx, String csv) throws Exception {
        return ctx.loadInto(Todos.TODOS).loadCSV(csv).fields(Todos.TITLE).execute();
    }

    @Test
    void aStreamIsReadInsideItsTransactionAndOneReturnedFromItIsRefusedSayingWhatToDoInstead(SessionManager sessions,
            TestDatabase database) {
        sessions.transaction(tx -> List.of("one", "two", "three", "four", "five").forEach(t -> Todos.add(tx, t)));

        String inside = sessions.transactionResult(tx -> {
            try (Stream<String> all = titles(tx)) {
                return all.collect(Collectors.joining(","));
            }
        });
        Stream<String> kept = sessions.transactionResult(TodosBeyondTheBlockTest::titles);
        IllegalStateException refused = assertThrows(IllegalStateException.class, kept::toList);
        kept.close();

        assertEquals("one,two,three,four,five", inside);
        assertTrue(refused.getMessage().contains("that has already ended (committed)"), refused.getMessage());
        assertTrue(refused.getMessage().contains("A lazy Cursor or Stream is read on the thread of the transaction that"
                + " fetched it, before that transaction ends, or fetched at once with fetch()"), refused.getMessage());
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aCsvImportCommitsWithItsTransactionAndOneWhoseLoaderSwallowedAFailedRowCommitsNothing(SessionManager sessions,
            TestDatabase database) throws Exception {
        int imported = sessions.transactionResult(tx -> importTitles(tx, "title\nbuy milk\nwalk dog\n").stored());
        List<String> loaderErrors = new ArrayList<>();
        // The second row breaks the blank-title check. jOOQ's Loader records the failure instead of throwing it, so
        // the import returns normally; PostgreSQL has aborted the transaction, and COMMIT would silently roll back.
        RollbackOnlyException notCommitted = assertThrows(RollbackOnlyException.class,
                () -> sessions.transaction(tx -> {
                    Loader<?> loader = importTitles(tx, "title\nwater plants\n   \nfeed cat\n");
                    loader.errors().forEach(e -> loaderErrors.add(e.exception().sqlState()));
                }));
        UnsupportedOperationException committingItself = assertThrows(UnsupportedOperationException.class,
                () -> sessions.transaction(tx -> tx.loadInto(Todos.TODOS).commitAfter(1)
                        .loadCSV("title\nrake leaves\nmow lawn\n").fields(Todos.TITLE).execute()));

        assertEquals(2, imported);
        assertEquals(List.of("23514"), loaderErrors);
        assertTrue(notCommitted.getMessage().contains("a statement failed inside it, so PostgreSQL aborted the"
                + " transaction, and the callback caught the error and returned normally"), notCommitted.getMessage());
        assertTrue(committingItself.getMessage().contains("leave it at commitNone(), its default, and give each part"
                + " of a large load a transaction of its own"), committingItself.getMessage());
        assertEquals(List.of("buy milk", "walk dog"), sessions.transactionResult(Todos::open),
                "neither failed import left a row");
        database.assertNothingLeaked(sessions);
    }

    @Test
    void jooqsAsynchronousFetchOnTheTransactionsContextIsRefusedAndTheTransactionGoesOn(SessionManager sessions,
            TestDatabase database) {
        CompletionException refused = sessions.transactionResult(tx -> {
            Todos.add(tx, "written before");
            CompletionException failure = assertThrows(CompletionException.class,
                    () -> tx.select(Todos.TITLE).from(Todos.TODOS).fetchAsync().toCompletableFuture().join());
            Todos.add(tx, "written after");
            return failure;
        });

        IllegalStateException cause = assertInstanceOf(IllegalStateException.class, refused.getCause());
        assertTrue(cause.getMessage().contains("jOOQ's fetchAsync(), executeAsync() and transactionResultAsync() run"
                + " on another thread: call the synchronous forms inside the transaction, or begin a transaction"
                + " inside the asynchronous task"), cause.getMessage());
        assertEquals(List.of("written before", "written after"), sessions.transactionResult(Todos::open));
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aCopyThroughTheDriversCopyManagerImportsInsideTheTransactionAndAFailedImportKeepsNothing(
            SessionManager sessions, TestDatabase database) {
        IllegalStateException failed = assertThrows(IllegalStateException.class, () -> sessions.transaction(
                tx -> tx.connection(connection -> {
                    CopyManager copy = new CopyManager(connection.unwrap(BaseConnection.class));
                    copy.copyIn("COPY todos (title) FROM STDIN", new StringReader("one\ntwo\n"));
                    throw new IllegalStateException("the import's check fails after the copy");
                })));
        long copied = sessions.transactionResult(tx -> tx.connectionResult(connection -> connection
                .unwrap(PGConnection.class).getCopyAPI().copyIn("COPY todos (title) FROM STDIN",
                        new StringReader("three\nfour\n"))));

        assertEquals("the import's check fails after the copy", failed.getMessage());
        assertEquals(2, copied);
        assertEquals(List.of("three", "four"), sessions.transactionResult(Todos::open));
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aReportThatTunesTheDriversConnectionIsToldToTuneItsStatementAndTheNextTransactionKeepsTheDefault(
            SessionManager sessions, TestDatabase database) {
        sessions.transaction(tx -> List.of("one", "two", "three").forEach(title -> Todos.add(tx, title)));

        UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                () -> sessions.transaction(tx -> tx.connection(
                        connection -> connection.unwrap(PGConnection.class).setDefaultFetchSize(2))));
        int nextDefault = sessions.transactionResult(tx -> tx.connectionResult(
                connection -> connection.unwrap(PGConnection.class).getDefaultFetchSize()));
        String report = sessions.transactionResult(tx -> {
            try (Stream<String> all = titles(tx)) { // fetchSize(2) on the statement
                return all.collect(Collectors.joining(","));
            }
        });

        assertTrue(refused.getMessage().startsWith("PGConnection.setDefaultFetchSize(...) is not allowed"),
                refused.getMessage());
        assertTrue(refused.getMessage().contains("jOOQ: fetchSize(...)"), refused.getMessage());
        assertEquals(0, nextDefault);
        assertEquals("one,two,three", report);
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aSearchItsCallerGaveUpOnIsCancelledFromTheCallersThreadAndKeepsNothing(SessionManager sessions,
            TestDatabase database) throws Exception {
        ExecutorService requests = Executors.newSingleThreadExecutor();
        try {
            AtomicReference<Query> running = new AtomicReference<>();
            Future<?> search = requests.submit(() -> sessions.transaction(tx -> {
                Todos.add(tx, "written before the slow part");
                Query slowPart = tx.query("SELECT pg_sleep(30)");
                running.set(slowPart);
                slowPart.execute();
            }));
            // The caller gives up once the slow part runs on the server. Not sooner: the driver sends one cancel
            // request per execution, over a connection of its own, and PostgreSQL ignores one that arrives before
            // the statement it was meant for (it may overtake the statement on the way, through a container's port).
            awaitRunning(database, "SELECT pg_sleep(30)");
            running.get().cancel();

            ExecutionException failed = assertThrows(ExecutionException.class, search::get);
            assertTrue(stackTrace(failed).contains("canceling statement due to user request"), stackTrace(failed));
            assertEquals(List.of(), sessions.transactionResult(Todos::open));
            database.assertNothingLeaked(sessions);
        } finally {
            requests.shutdownNow();
        }
    }

    /** Waits until {@code sql} runs on the server: a backend of the database is active with it. */
    private static void awaitRunning(TestDatabase database, String sql) throws SQLException {
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(30);
        try (Connection connection = database.connect();
             PreparedStatement active = connection.prepareStatement("SELECT count(*) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND state = 'active' AND query = ?")) {
            active.setString(1, sql);
            while (true) {
                try (ResultSet count = active.executeQuery()) {
                    count.next();
                    if (count.getInt(1) > 0) {
                        return;
                    }
                }
                assertTrue(System.nanoTime() < giveUp, sql + " did not run within 30 s");
                LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(5));
            }
        }
    }

    private static String stackTrace(Throwable failure) {
        StringWriter text = new StringWriter();
        failure.printStackTrace(new PrintWriter(text));
        return text.toString();
    }
}
