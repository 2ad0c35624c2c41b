package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/** The tests' database migrated with the service's own Flyway configuration, the placeholder of its lists included. */
@DatabaseTest(migrations = {"classpath:db/migration", "classpath:db/lists"},
        migrationConfiguration = TodoMigrations.class)
class TodoListsTest {

    @Test
    void aNewTodoGoesToTheListTheConfigurationNames(SessionManager sessions, DSLContext ctx) {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "buy stamps"));

        assertEquals(TodoMigrations.DEFAULT_LIST, ctx.select(DSL.field("list", String.class)).from(Todos.TODOS)
                .where(Todos.ID.eq(id)).fetchSingle().value1());
    }
}
