package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.jooq.DSLContext;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/**
 * One test instance for the whole class, as Kotlin test classes usually are and Java ones are for a non-static
 * {@code @BeforeAll}: the manager comes through the constructor and is kept in a field, and the data the tests share
 * is arranged once.
 */
@DatabaseTest
@TestInstance(TestInstance.Lifecycle.PER_CLASS)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosSharedInstanceTest {

    private final SessionManager sessions;
    private long milk;

    TodosSharedInstanceTest(SessionManager sessions) {
        this.sessions = sessions;
    }

    @BeforeAll
    void arrangeTheListOnce() {
        milk = sessions.transactionResult(tx -> Todos.add(tx, "buy milk"));
        sessions.transaction(tx -> Todos.add(tx, "write tests"));
    }

    @Test
    @Order(1)
    void completesATodoArrangedOnce() {
        sessions.transaction(tx -> Todos.complete(tx, milk));

        assertEquals(List.of("write tests"), sessions.transactionResult(Todos::open));
    }

    @Test
    @Order(2)
    void theNextTestSeesTheSameListOnTheSameInstance(DSLContext ctx) {
        assertEquals(List.of("write tests"), Todos.open(ctx));
    }
}
