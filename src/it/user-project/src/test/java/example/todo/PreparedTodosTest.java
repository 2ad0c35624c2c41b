package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.stream.IntStream;

import org.jooq.DSLContext;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.Record3;
import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.junit.jupiter.api.Test;

import io.managedsession.PreparedQuery;
import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The user's own statements declared as PreparedQuery on plain-SQL tables and fields of their own, run from the
 * installed jar: in transactions, on the test's own DSLContext, on a context with other settings, from two managers
 * at once, and where an ExecuteListener of the user's watches.
 */
@DatabaseTest(perTest = true)
class PreparedTodosTest {

    @Test
    void preparedStatementsReadAndWriteWhatTheDslDoes(SessionManager sessions, DSLContext ctx) {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "draft"));

        sessions.transaction(tx -> Todos.rename(tx, id, "final"));

        assertEquals(Optional.of("final"), sessions.transactionResult(tx -> Todos.title(tx, id)));
        assertEquals(List.of("final"), Todos.open(ctx));
        assertEquals(Optional.empty(), Todos.title(ctx, id + 1));
    }

    @Test
    void aFailedTransactionUndoesItsPreparedWrites(SessionManager sessions, DSLContext ctx) {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "kept"));

        IllegalStateException failed = assertThrows(IllegalStateException.class, () -> sessions.transaction(tx -> {
            Todos.rename(tx, id, "lost");
            assertEquals(Optional.of("lost"), Todos.title(tx, id)); // the transaction sees its own write
            throw new IllegalStateException("the caller gives up");
        }));
        DataAccessException refused = assertThrows(DataAccessException.class,
                () -> sessions.transaction(tx -> Todos.rename(tx, id, "   ")));

        assertEquals("the caller gives up", failed.getMessage());
        assertEquals("23514", refused.sqlState());
        assertEquals(Optional.of("kept"), Todos.title(ctx, id));
    }

    @Test
    void anImportAddsAllItsTodosInOneBatchOrNoneOfThem(SessionManager sessions, DSLContext ctx) {
        List<String> titles = IntStream.rangeClosed(1, 500).mapToObj(i -> "imported " + i).toList();

        int added = sessions.transactionResult(tx -> Todos.addAll(tx, titles));
        DataAccessException refused = assertThrows(DataAccessException.class,
                () -> sessions.transaction(tx -> Todos.addAll(tx, List.of("fine", "   ", "never"))));

        assertEquals(500, added);
        assertEquals("23514", refused.sqlState());
        assertEquals(titles, Todos.open(ctx), "the refused import left nothing");
    }

    @Test
    void oneDeclarationServesTwoManagersAndContextsWithOtherSettings(TestDatabase database) throws Exception {
        try (SessionManager first = database.sessionManagerBuilder().name("todos-a").build();
             SessionManager second = database.sessionManagerBuilder().name("todos-b").build();
             Connection own = database.connect()) {
            long id = first.transactionResult(tx -> Todos.add(tx, "shared"));
            DSLContext formatted = DSL.using(own, SQLDialect.POSTGRES, new Settings().withRenderFormatted(true));

            second.transaction(tx -> Todos.rename(tx, id, "renamed by the second manager"));

            Optional<String> renamed = Optional.of("renamed by the second manager");
            assertEquals(renamed, first.transactionResult(tx -> Todos.title(tx, id)));
            assertEquals(renamed, Todos.title(formatted, id));
            String plain = first.transactionResult(Todos.TITLE_OF::sql);
            assertNotEquals(plain, Todos.TITLE_OF.sql(formatted), "rendered again for the other settings");
            assertEquals(plain, second.transactionResult(Todos.TITLE_OF::sql));
            database.assertNothingLeaked(first);
            database.assertNothingLeaked(second);
        }
    }

    @Test
    void refusesArgumentsOfTheWrongTypeAndQueriesWhoseShapeVaries(SessionManager sessions) {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "typed"));

        IllegalArgumentException wrongType = assertThrows(IllegalArgumentException.class,
                () -> sessions.transaction(tx -> Todos.RENAME.execute(tx, "x", (int) id)));
        IllegalArgumentException dynamic = assertThrows(IllegalArgumentException.class,
                () -> PreparedQuery.of(DSL.select(Todos.TITLE).from(Todos.TODOS).where(Todos.ID.in(List.of(1L, 2L)))));

        assertTrue(wrongType.getMessage().contains("parameter 'todo' takes java.lang.Long, but was given a"
                + " java.lang.Integer"), wrongType.getMessage());
        assertTrue(dynamic.getMessage().contains("bind value number 1 (of type java.lang.Long) has no name"),
                dynamic.getMessage());
        assertEquals(Optional.of("typed"), sessions.transactionResult(tx -> Todos.title(tx, id)));
    }

    @Test
    void anExecuteListenerOfTheUsersSeesThePreparedStatementsTheirValuesAndTheirFailures(SessionManager sessions,
            TestDatabase database) throws Exception {
        List<String> seen = new ArrayList<>();
        List<String> failed = new ArrayList<>();
        ExecuteListener recorder = new ExecuteListener() {
            @Override
            public void executeStart(ExecuteContext ctx) {
                seen.add(ctx.sql() + " " + ctx.query().getBindValues());
            }

            @Override
            public void exception(ExecuteContext ctx) {
                failed.add(ctx.sqlException() == null ? "?" : ctx.sqlException().getSQLState());
            }
        };
        ExecuteListenerProvider watching = new DefaultExecuteListenerProvider(recorder);
        long id = sessions.transactionResult(tx -> Todos.add(tx, "watched"));

        // Where a user adds a listener inside a transaction: a context derived from the transaction's.
        Optional<String> read = sessions.transactionResult(tx -> {
            DSLContext watched = tx.configuration().derive(watching).dsl();
            Todos.rename(watched, id, "seen");
            return Todos.title(watched, id);
        });
        DataAccessException refused = assertThrows(DataAccessException.class, () -> sessions.transaction(tx ->
                Todos.rename(tx.configuration().derive(watching).dsl(), id, "  ")));
        // And on a context of the user's own, outside any SessionManager.
        Optional<String> outside;
        try (Connection own = database.connect()) {
            DSLContext traced = DSL.using(own, SQLDialect.POSTGRES).configuration().derive(watching).dsl();
            outside = Todos.title(traced, id);
        }

        assertEquals(Optional.of("seen"), read);
        assertEquals(Optional.of("seen"), outside);
        assertEquals("23514", refused.sqlState());
        assertEquals(List.of("23514"), failed);
        String rename = sessions.transactionResult(Todos.RENAME::sql);
        String titleOf = sessions.transactionResult(Todos.TITLE_OF::sql);
        assertEquals(List.of(rename + " [seen, " + id + "]", titleOf + " [" + id + "]", rename + " [  , " + id + "]",
                titleOf + " [" + id + "]"), seen);
        assertEquals(Optional.of("seen"), sessions.transactionResult(tx -> Todos.title(tx, id)),
                "the refused rename left nothing");
        database.assertNothingLeaked(sessions);
    }

    @Test
    void aStatementLogSetOnTheBuilderSeesEveryStatementOfEveryTransaction(TestDatabase database) {
        List<String> log = Collections.synchronizedList(new ArrayList<>());
        // One listener per statement, as a service wires its statement log or metrics into jOOQ.
        ExecuteListenerProvider statementLog = () -> new ExecuteListener() {
            @Override
            public void executeEnd(ExecuteContext ctx) {
                log.add(ctx.sql());
            }
        };
        try (SessionManager logged = database.sessionManagerBuilder().name("todos-logged")
                .executeListeners(statementLog).build()) {
            long id = logged.transactionResult(tx -> Todos.add(tx, "logged"));
            logged.transaction(tx -> Todos.rename(tx, id, "still logged"));
            Optional<String> title = logged.transactionResult(tx -> Todos.title(tx, id));
            int imported = logged.transactionResult(tx -> Todos.addAll(tx, List.of("logged too", "and this")));

            assertEquals(Optional.of("still logged"), title);
            assertEquals(2, imported);
            assertEquals(4, log.size(), log.toString());
            assertTrue(log.get(0).startsWith("insert into todos"), log.get(0));
            assertEquals(List.of(logged.transactionResult(Todos.RENAME::sql),
                    logged.transactionResult(Todos.TITLE_OF::sql), logged.transactionResult(Todos.ADD::sql)),
                    log.subList(1, 4), "the import is one batch in the log");
            database.assertNothingLeaked(logged);
        }
    }

    @Test
    void aListingOfTheWholePlainSqlTableIsRefusedWhenDeclaredAndNamingItsColumnsReadsThem(SessionManager sessions) {
        sessions.transaction(tx -> Todos.add(tx, "listed"));

        // The table is plain SQL: jOOQ knows no columns of it, and would read every row as an empty record.
        IllegalArgumentException unknown = assertThrows(IllegalArgumentException.class,
                () -> PreparedQuery.of(DSL.selectFrom(Todos.TODOS)));
        IllegalArgumentException star = assertThrows(IllegalArgumentException.class,
                () -> PreparedQuery.of(DSL.select(DSL.asterisk()).from(Todos.TODOS)));
        PreparedQuery<Record3<Long, String, Boolean>> listing = PreparedQuery.of(
                DSL.select(Todos.ID, Todos.TITLE, Todos.DONE).from(Todos.TODOS).orderBy(Todos.ID));
        List<Record3<Long, String, Boolean>> rows = sessions.transactionResult(tx -> listing.fetch(tx));

        assertTrue(unknown.getMessage().contains("its columns are not known when it is declared"),
                unknown.getMessage());
        assertTrue(star.getMessage().contains("its columns are not known when it is declared"), star.getMessage());
        assertEquals(1, rows.size());
        assertEquals("listed", rows.get(0).value2());
        assertEquals(false, rows.get(0).value3());
    }
}
