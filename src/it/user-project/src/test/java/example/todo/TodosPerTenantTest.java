package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.util.List;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A service that keeps each tenant's todos in a schema of its own and picks the tenant per transaction, as
 * multi-tenant services on PostgreSQL do. The tenant chosen with {@code SET LOCAL search_path} ends with its
 * transaction; choosing it for the whole session, keeping a report's scratch table in the session, or committing from
 * inside the block, is what such code gets wrong first, and is refused before it reaches the server, with nothing of
 * the block kept. The same holds for a tenant chosen by row, with a setting a view reads.
 */
@DatabaseTest(perTest = true)
class TodosPerTenantTest {

    /** The tenant for the rest of this transaction only. */
    static void asTenant(DSLContext tx, String tenant) {
        tx.setLocal(DSL.name("search_path"), DSL.inline(tenant)).execute();
    }

    private static void createTenants(TestDatabase database, String... tenants) throws Exception {
        try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
            for (String tenant : tenants) {
                statement.execute("CREATE SCHEMA " + tenant);
                statement.execute("CREATE TABLE " + tenant + ".todos (LIKE public.todos INCLUDING ALL)");
            }
        }
    }

    private static long rows(TestDatabase database, String table) throws Exception {
        try (Connection connection = database.connect(); Statement statement = connection.createStatement();
             ResultSet count = statement.executeQuery("SELECT count(*) FROM " + table)) {
            count.next();
            return count.getLong(1);
        }
    }

    @Test
    void eachTransactionChoosesItsTenantAndTheNextOneOnTheSameConnectionStartsFromTheDefault(TestDatabase database)
            throws Exception {
        createTenants(database, "tenant_a", "tenant_b");
        // One connection, so that every transaction below runs on the connection the one before it used.
        try (SessionManager sessions = database.sessionManagerBuilder().maximumPoolSize(1).build()) {
            sessions.transaction(tx -> {
                asTenant(tx, "tenant_a");
                Todos.add(tx, "a's todo");
            });
            sessions.transaction(tx -> {
                asTenant(tx, "tenant_b");
                Todos.add(tx, "b's todo");
            });

            assertEquals(List.of(), sessions.transactionResult(Todos::open), "no tenant inherited");
            assertEquals(List.of("a's todo"), sessions.transactionResult(tx -> {
                asTenant(tx, "tenant_a");
                return Todos.open(tx);
            }));
            database.assertNothingLeaked(sessions);
        }
        assertEquals(1, rows(database, "tenant_b.todos"));
    }

    @Test
    void choosingTheTenantForTheWholeSessionIsRefusedAndTheBlockKeepsNothing(TestDatabase database) throws Exception {
        createTenants(database, "tenant_a");
        try (SessionManager sessions = database.sessionManagerBuilder().maximumPoolSize(1).build()) {
            sessions.transaction(tx -> Todos.add(tx, "everyone's todo"));

            UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                    () -> sessions.transaction(tx -> {
                        Todos.add(tx, "written before the tenant was chosen");
                        tx.setSchema("tenant_a").execute();
                        Todos.add(tx, "a's todo");
                    }));

            assertTrue(refused.getMessage().startsWith("SET search_path is not allowed in a transaction of"
                    + " SessionManager"), refused.getMessage());
            assertTrue(refused.getMessage().contains("use SET LOCAL"), refused.getMessage());
            assertEquals(List.of("everyone's todo"), sessions.transactionResult(Todos::open));
            database.assertNothingLeaked(sessions);
        }
        assertEquals(0, rows(database, "tenant_a.todos"));
    }

    /** The tenant by row: a setting the view reads, chosen for this transaction only. */
    static void asRowTenant(DSLContext tx, String tenant) {
        tx.select(DSL.function("set_config", String.class, DSL.inline("todo.tenant"), DSL.val(tenant),
                DSL.inline(true))).fetch();
    }

    static List<String> myTodos(DSLContext tx) {
        return tx.select(Todos.TITLE).from(DSL.table("my_todos")).orderBy(Todos.TITLE).fetch(Todos.TITLE);
    }

    @Test
    void aTenantChosenWithSetConfigEndsWithItsTransactionAndOneChosenForTheSessionIsRefused(TestDatabase database)
            throws Exception {
        try (Connection connection = database.connect(); Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE tenant_todos (tenant text NOT NULL, title text NOT NULL)");
            statement.execute("CREATE VIEW my_todos AS SELECT title FROM tenant_todos"
                    + " WHERE tenant = current_setting('todo.tenant', true)");
            statement.execute("INSERT INTO tenant_todos VALUES ('a', 'a''s todo'), ('b', 'b''s todo')");
        }
        try (SessionManager sessions = database.sessionManagerBuilder().maximumPoolSize(1).build()) {
            UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                    () -> sessions.transactionResult(tx -> {
                        tx.select(DSL.function("set_config", String.class, DSL.inline("todo.tenant"), DSL.val("a"),
                                DSL.inline(false))).fetch();
                        return myTodos(tx);
                    }));

            assertTrue(refused.getMessage().startsWith("set_config(todo.tenant, ...) with is_local false is not"
                    + " allowed in a transaction of SessionManager"), refused.getMessage());
            assertEquals(List.of(), sessions.transactionResult(TodosPerTenantTest::myTodos), "no tenant left behind");
            assertEquals(List.of("a's todo"), sessions.transactionResult(tx -> {
                asRowTenant(tx, "a");
                return myTodos(tx);
            }));
            assertEquals(List.of(), sessions.transactionResult(TodosPerTenantTest::myTodos), "none inherited");
            database.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aReportsScratchTableEndsWithItsTransactionAndOneThatWouldStayIsRefused(TestDatabase database)
            throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().maximumPoolSize(1).build()) {
            sessions.transaction(tx -> List.of("one", "two").forEach(title -> Todos.add(tx, title)));

            UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                    () -> sessions.transaction(tx -> tx.createTemporaryTable("report").as(
                            tx.select(Todos.TITLE).from(Todos.TODOS)).execute()));
            long reported = sessions.transactionResult(tx -> {
                tx.createTemporaryTable("report").as(tx.select(Todos.TITLE).from(Todos.TODOS)).onCommitDrop()
                        .execute();
                return tx.fetchCount(DSL.table(DSL.name("report")));
            });

            assertTrue(refused.getMessage().startsWith("CREATE TEMPORARY TABLE report is not allowed"),
                    refused.getMessage());
            assertTrue(refused.getMessage().contains("ON COMMIT DROP"), refused.getMessage());
            assertEquals(2, reported);
            // The next transaction on the same connection finds no report of the last one's.
            Object left = sessions.transactionResult(tx -> tx.fetchValue("SELECT to_regclass('pg_temp.report')"));
            assertEquals(null, left);
            database.assertNothingLeaked(sessions);
        }
    }

    @Test
    void jooqsCommitInsideTheBlockIsRefusedSoAFailureAfterItStillUndoesTheWholeBlock(SessionManager sessions) {
        UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                () -> sessions.transaction(tx -> {
                    Todos.add(tx, "first half");
                    tx.commit().execute();
                    Todos.add(tx, "second half");
                    throw new IllegalStateException("a check after both halves fails");
                }));

        assertTrue(refused.getMessage().contains("return from the callback to commit, throw to roll back"),
                refused.getMessage());
        assertEquals(List.of(), sessions.transactionResult(Todos::open));
    }
}
