package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The user's own schema, from the default location, with each test rolled back at its end. */
@DatabaseTest(rollback = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosInRollbackModeTest {

    @Test
    @Order(1)
    void addsAndCompletesTodos(SessionManager sessions, DSLContext ctx) {
        long milk = sessions.transactionResult(tx -> Todos.add(tx, "buy milk"));
        long tests = sessions.transactionResult(tx -> Todos.add(tx, "write tests"));
        sessions.transaction(tx -> Todos.complete(tx, milk));
        sessions.transaction(tx -> Todos.rename(tx, tests, "write more tests")); // a PreparedQuery, joining too

        assertEquals(List.of("write more tests"), Todos.open(ctx));
        assertEquals(Optional.of("write more tests"), Todos.title(ctx, tests));
    }

    @Test
    @Order(2)
    void rollbackModeLeftNothingFromTheTestBefore(DSLContext ctx) {
        assertEquals(List.of(), Todos.open(ctx));
    }

    @Test
    @Order(3)
    void schemaChecksAreEnforcedByTheRealDatabase(SessionManager sessions, TestDatabase database) {
        DataAccessException refused = assertThrows(DataAccessException.class,
                () -> sessions.transaction(tx -> Todos.add(tx, "   ")));

        assertEquals("23514", refused.sqlState());
        assertTrue(database.name().startsWith("ms_todosinrollbackmodetest"), database.name());
    }

    @Test
    @Order(4)
    void theServicesOneContextWritesInTheTestsTransaction(SessionManager sessions, DSLContext ctx) {
        // The context a service holds for its lifetime, called straight from the test: the test's transaction is the
        // calling thread's, so its writes are the test's, and go with it.
        DSLContext services = sessions.dsl();
        long id = Todos.add(services, "written through the service's context");
        Todos.rename(services, id, "renamed through it"); // a PreparedQuery too

        assertEquals(List.of("renamed through it"), Todos.open(ctx));
    }

    @Test
    @Order(5)
    void rollbackModeLeftNothingOfTheServicesWritesEither(DSLContext ctx) {
        assertEquals(List.of(), Todos.open(ctx));
    }
}
