package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The tests' SessionManager and DSLContext configured with the service's own jOOQ configuration, as its start
 * configures its manager: a DELETE without WHERE is refused in the tests as it would be in the service, and nothing
 * of its transaction is kept.
 */
@DatabaseTest(jooqConfiguration = TodoJooq.class, perTest = true)
class TodosWithTheServicesJooqTest {

    @Test
    void aDeleteWithoutWhereIsRefusedInTheTestsAsInTheServiceAndItsTransactionKeepsNothing(SessionManager sessions,
            DSLContext ctx) {
        sessions.transaction(tx -> {
            Todos.add(tx, "water the plants");
            Todos.add(tx, "buy stamps");
        });

        DataAccessException refused = assertThrows(DataAccessException.class, () -> sessions.transaction(tx -> {
            Todos.add(tx, "written before the delete");
            tx.deleteFrom(Todos.TODOS).execute();
        }));
        assertTrue(refused.getMessage().contains("without WHERE"), refused.getMessage());
        assertThrows(DataAccessException.class, () -> ctx.deleteFrom(Todos.TODOS).execute());

        assertEquals(List.of("water the plants", "buy stamps"), Todos.open(ctx));
        int deleted = sessions.transactionResult(tx -> tx.deleteFrom(Todos.TODOS)
                .where(Todos.TITLE.eq("buy stamps")).execute());
        assertEquals(1, deleted);
        assertEquals("delete from todos where title = ?", ctx.render(ctx.deleteFrom(DSL.table(DSL.name("todos")))
                .where(Todos.TITLE.eq("buy stamps"))));
    }

    @Test
    void theServiceStartsWithTheSameConfiguration(TestDatabase database, DSLContext ctx) {
        try (SessionManager service = database.sessionManagerBuilder().jooqConfiguration(new TodoJooq()).build()) {
            service.transaction(tx -> Todos.add(tx, "water the plants"));

            assertThrows(DataAccessException.class, () -> service.transaction(tx -> tx.update(Todos.TODOS)
                    .set(Todos.DONE, true).execute()));
            assertEquals(List.of("water the plants"), Todos.open(ctx));
            database.assertNothingLeaked(service);
        }
    }
}
