package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.jooq.DSLContext;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/** The default: one database for the class, migrated from the user's own db/migration; tests see each other's work. */
@DatabaseTest
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosPerClassTest {

    @Test
    @Order(1)
    void addsATodo(SessionManager sessions) {
        sessions.transaction(tx -> Todos.add(tx, "shared with the next test"));
    }

    @Test
    @Order(2)
    void seesTheTodoOfTheTestBefore(DSLContext ctx) {
        assertEquals(List.of("shared with the next test"), Todos.open(ctx));
    }
}
