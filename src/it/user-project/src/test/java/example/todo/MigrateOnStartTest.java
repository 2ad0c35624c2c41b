package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.sql.Connection;
import java.sql.ResultSet;
import java.util.List;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The application's own start: migrateOnStart(true) finds the user's migrations, and only them, at the default. */
@DatabaseTest(migrations = {})
class MigrateOnStartTest {

    @Test
    void migratesTheProjectsOwnSchemaAtStart(TestDatabase database) throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true).build()) {
            sessions.transaction(tx -> Todos.add(tx, "migrated at start"));

            assertEquals(List.of("migrated at start"), sessions.transactionResult(Todos::open));
        }
        try (Connection connection = database.connect();
             ResultSet applied = connection.createStatement().executeQuery(
                     "SELECT string_agg(script, ',' ORDER BY installed_rank) FROM flyway_schema_history")) {
            applied.next();
            assertEquals("V1__todos.sql", applied.getString(1));
        }
    }
}
