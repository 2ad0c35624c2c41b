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

/** A fresh database, migrated from the user's own db/migration, for every test. */
@DatabaseTest(perTest = true)
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosPerTestTest {

    @Test
    @Order(1)
    void addsATodoThatCommits(SessionManager sessions, DSLContext ctx) {
        sessions.transaction(tx -> Todos.add(tx, "only in this test's database"));

        assertEquals(List.of("only in this test's database"), Todos.open(ctx));
    }

    @Test
    @Order(2)
    void startsFromAnEmptyTodoList(DSLContext ctx) {
        assertEquals(List.of(), Todos.open(ctx));
    }
}
