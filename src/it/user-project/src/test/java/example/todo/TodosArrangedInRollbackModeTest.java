package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;

import java.util.List;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.managedsession.Propagation;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.testing.DatabaseTest;

/**
 * Rollback mode as tests are usually written: the data each test needs arranged in {@code @BeforeEach}, looked at
 * again in {@code @AfterEach}, and more of it in a {@code @Nested} class. All of it is the test's work, rolled back
 * with it, so every test starts from the same todos; code under test that asks for a read-only or serializable
 * transaction joins the test's as it is.
 */
@DatabaseTest(rollback = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosArrangedInRollbackModeTest {

    private long arranged;
    private static List<String> openAtTheEnd; // a test instance per test: what the one before saw at its end

    @BeforeEach
    void arrangeATodo(SessionManager sessions) {
        arranged = sessions.transactionResult(tx -> Todos.add(tx, "arranged"));
    }

    @AfterEach
    void lookAtWhatTheTestLeft(DSLContext ctx) {
        openAtTheEnd = Todos.open(ctx);
    }

    @Test
    @Order(1)
    void completesTheArrangedTodo(SessionManager sessions, DSLContext ctx) {
        assertEquals(List.of("arranged"), Todos.open(ctx));
        sessions.transaction(tx -> Todos.complete(tx, arranged));

        assertEquals(List.of(), Todos.open(ctx));
    }

    @Test
    @Order(2)
    void findsOnlyItsOwnArrangedTodoAndTheAfterEachSawTheTestBeforeIt(DSLContext ctx) {
        assertEquals(List.of(), openAtTheEnd, "@AfterEach ran in the test before's transaction, before its rollback");
        assertEquals(List.of("arranged"), Todos.open(ctx));
        assertEquals(1, ctx.fetchCount(Todos.TODOS), "the todo of the test before, completed then, is gone");
    }

    @Test
    @Order(3)
    void codeThatAsksForAReadOnlyOrSerializableTransactionJoinsTheTestsTransaction(SessionManager sessions) {
        // The test's transaction stands in for the one such code would begin: it joins as it is.
        assertEquals(List.of("arranged"), sessions.transactionResult(TransactionOptions.readOnly(), Todos::open));
        long serializable = sessions.transactionResult(TransactionOptions.serializable(),
                tx -> Todos.add(tx, "serializable"));

        assertEquals(List.of("arranged", "serializable"), sessions.transactionResult(TransactionOptions.readOnly(),
                Todos::open));
        assertEquals("serializable", sessions.transactionResult(tx -> Todos.title(tx, serializable)).orElseThrow());
    }

    @Test
    @Order(4)
    void aBlockTheDatabaseRefusesKeepsNothingAndTheTestGoesOnReading(SessionManager sessions, DSLContext ctx) {
        // As on its own: the block's first todo is undone with it, and the refused statement leaves the test's
        // transaction usable (PostgreSQL would otherwise refuse every later statement of the test).
        DataAccessException refused = assertThrows(DataAccessException.class, () -> sessions.transaction(tx -> {
            Todos.add(tx, "written before the refusal");
            Todos.add(tx, "   ");
        }));

        assertEquals("23514", refused.sqlState());
        assertEquals(List.of("arranged"), Todos.open(ctx));
    }

    @Test
    @Order(5)
    void aBlockThatSwallowsTheFailureOfAJoinedOneIsToldAsItWouldBeOnItsOwn(SessionManager sessions, DSLContext ctx) {
        RollbackOnlyException rolledBack = assertThrows(RollbackOnlyException.class, () -> sessions.transaction(tx -> {
            Todos.add(tx, "written before the refusal");
            try {
                sessions.transaction(joined -> Todos.add(joined, "   "));
            } catch (DataAccessException swallowed) {
                // the outer block goes on, as code under test sometimes does
            }
        }));

        assertInstanceOf(DataAccessException.class, rolledBack.getCause());
        assertEquals(List.of("arranged"), Todos.open(ctx));
    }

    @Test
    @Order(6)
    void aNestedBlockOfTheCodeUnderTestIsToldAsItWouldBeOnItsOwnToo(SessionManager sessions, DSLContext ctx) {
        // NESTED with no transaction around it begins one of its own: a swallowed joined failure stops its commit.
        assertThrows(RollbackOnlyException.class, () -> sessions.transaction(
                TransactionOptions.builder().propagation(Propagation.NESTED).build(), tx -> {
                    Todos.add(tx, "written before the refusal");
                    try {
                        sessions.transaction(joined -> Todos.add(joined, "   "));
                    } catch (DataAccessException swallowed) {
                        // goes on
                    }
                }));

        assertEquals(List.of("arranged"), Todos.open(ctx));
    }

    @Nested
    class WithATodoOfItsOwn {

        @BeforeEach
        void arrangeAnother(SessionManager sessions) {
            sessions.transaction(tx -> Todos.add(tx, "arranged by the nested class"));
        }

        @Test
        void seesBothArrangedTodosAndNothingOfTheOtherTests(DSLContext ctx) {
            assertEquals(List.of("arranged", "arranged by the nested class"), Todos.open(ctx));
        }
    }
}
