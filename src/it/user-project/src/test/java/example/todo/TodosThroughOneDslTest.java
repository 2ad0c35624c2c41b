package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;
import java.util.Optional;

import org.jooq.DSLContext;
import org.junit.jupiter.api.Test;

import io.managedsession.NoTransactionException;
import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/**
 * A service whose container hands out one DSLContext for the application's lifetime: {@code sessions.dsl()}, given
 * to the service's objects once, runs the same operation functions in whichever transaction calls them, and refuses
 * outside one rather than writing without a transaction.
 */
@DatabaseTest(perTest = true)
class TodosThroughOneDslTest {

    /** The service's todo board, made once with the context the container gives it. */
    record TodoBoard(SessionManager sessions, DSLContext dsl) {
        long plan(String title) {
            return sessions.transactionResult(tx -> Todos.add(dsl, title));
        }

        void finish(long id, String finalTitle) {
            sessions.transaction(tx -> {
                Todos.rename(dsl, id, finalTitle);
                Todos.complete(dsl, id);
            });
        }
    }

    @Test
    void oneContextForTheServicesLifetimeWorksInEachTransactionAndRefusesOutsideOne(SessionManager sessions) {
        TodoBoard board = new TodoBoard(sessions, sessions.dsl());
        long id = board.plan("draft the plan");
        board.plan("water the plants");
        assertThrows(IllegalArgumentException.class, () -> board.finish(id + 10, "no such todo"));
        board.finish(id, "plan drafted");

        assertEquals(List.of("water the plants"), sessions.transactionResult(tx -> Todos.open(sessions.dsl())));
        assertEquals(Optional.of("plan drafted"), sessions.transactionResult(tx -> Todos.title(sessions.dsl(), id)));
        NoTransactionException outside = assertThrows(NoTransactionException.class,
                () -> Todos.add(sessions.dsl(), "written without a transaction"));
        assertTrue(outside.getMessage().endsWith("call it from inside sessions.transaction(...)"),
                outside.getMessage());
        assertEquals(List.of("water the plants"), sessions.transactionResult(Todos::open));
    }
}
