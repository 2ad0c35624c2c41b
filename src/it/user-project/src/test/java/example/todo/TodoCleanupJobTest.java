package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.util.List;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A cleanup job that every instance of the service schedules and one at a time runs, kept apart by a PostgreSQL
 * advisory lock, as such jobs are. The lock taken for the job's transaction ends with it; a session-level lock would
 * stay with the pooled connection after the job, and every other instance would skip the job from then on, so it is
 * refused before it reaches the server, with nothing of the block kept.
 */
@DatabaseTest(perTest = true)
class TodoCleanupJobTest {

    private static final long CLEANUP_LOCK = 7_001L;

    /** Deletes the completed todos unless another instance is at it (then -1). */
    static int cleanUp(DSLContext tx) {
        boolean ours = tx.select(DSL.field("pg_try_advisory_xact_lock({0})", Boolean.class, DSL.val(CLEANUP_LOCK)))
                .fetchSingle().value1();
        return ours ? tx.deleteFrom(Todos.TODOS).where(Todos.DONE).execute() : -1;
    }

    /** Whether another instance, on a connection of its own, could take the job's lock now. */
    private static boolean freeForAnotherInstance(TestDatabase database) throws Exception {
        try (Connection connection = database.connect(); PreparedStatement attempt = connection.prepareStatement(
                "SELECT CASE WHEN pg_try_advisory_lock(?) THEN pg_advisory_unlock(?) ELSE false END")) {
            attempt.setLong(1, CLEANUP_LOCK);
            attempt.setLong(2, CLEANUP_LOCK);
            try (ResultSet free = attempt.executeQuery()) {
                free.next();
                return free.getBoolean(1);
            }
        }
    }

    @Test
    void theJobsLockEndsWithItsTransactionAndASessionLockIsRefused(SessionManager sessions, TestDatabase database)
            throws Exception {
        sessions.transaction(tx -> {
            Todos.complete(tx, Todos.add(tx, "done"));
            Todos.add(tx, "open");
        });

        UnsupportedOperationException refused = assertThrows(UnsupportedOperationException.class,
                () -> sessions.transaction(tx -> {
                    tx.deleteFrom(Todos.TODOS).where(Todos.DONE).execute();
                    tx.fetchValue("SELECT pg_try_advisory_lock(?)", CLEANUP_LOCK);
                }));
        assertTrue(refused.getMessage().startsWith("pg_try_advisory_lock is not allowed in a transaction of"
                + " SessionManager"), refused.getMessage());
        assertTrue(refused.getMessage().contains("pg_advisory_xact_lock"), refused.getMessage());
        assertTrue(freeForAnotherInstance(database), "no lock left on the pooled connection");
        assertEquals(List.of("open"), sessions.transactionResult(Todos::open));

        int cleaned = sessions.transactionResult(tx -> {
            int deleted = cleanUp(tx);
            assertFalse(freeForAnotherInstance(database), "held while the job runs");
            return deleted;
        });
        assertEquals(1, cleaned);
        assertTrue(freeForAnotherInstance(database), "released when the job's transaction ends");
        database.assertNothingLeaked(sessions);
    }
}
