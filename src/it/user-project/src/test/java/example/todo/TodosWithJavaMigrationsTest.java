package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

import db.welcome.V2__Welcome_todo;

/** Tests of a project whose migrations include one in Java: the template database is migrated with it too. */
@DatabaseTest(migrations = {"classpath:db/migration", "classpath:db/welcome"})
class TodosWithJavaMigrationsTest {

    @Test
    void theDatabaseOfATestHasWhatTheJavaMigrationAdded(SessionManager sessions) {
        assertEquals(List.of(V2__Welcome_todo.WELCOME), sessions.transactionResult(Todos::open));
    }
}
