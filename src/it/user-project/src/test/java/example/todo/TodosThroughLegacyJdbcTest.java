package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.List;

import org.junit.jupiter.api.Test;

import io.managedsession.NoTransactionException;
import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;

/**
 * The project's plain-JDBC code, given {@code sessions.transactionalDataSource()} once, works in the transaction of
 * the jOOQ code that calls it: one unit of work, committed or rolled back as a whole.
 */
@DatabaseTest(perTest = true)
class TodosThroughLegacyJdbcTest {

    @Test
    void theJdbcCodesWriteCommitsAndRollsBackWithTheJooqCodesTransaction(SessionManager sessions) throws Exception {
        TodoArchive archive = new TodoArchive(sessions.transactionalDataSource());
        sessions.transaction(tx -> {
            Todos.add(tx, "old: file taxes");
            Todos.add(tx, "old: renew passport");
            Todos.add(tx, "new: plan holiday");
        });

        IllegalStateException failed = assertThrows(IllegalStateException.class, () -> sessions.transaction(tx -> {
            assertEquals(2, archive.archive("old:"));
            assertEquals(List.of("new: plan holiday"), Todos.open(tx), "jOOQ sees the JDBC code's write");
            Todos.add(tx, "new: call the plumber");
            throw new IllegalStateException("the clean-up failed halfway");
        }));
        assertEquals("the clean-up failed halfway", failed.getMessage());
        long open = sessions.transactionResult(tx -> archive.openCount());
        assertEquals(3, open, "nothing of it stayed");

        sessions.transaction(tx -> {
            archive.archive("old:");
            Todos.add(tx, "new: call the plumber");
        });
        assertEquals(List.of("new: plan holiday", "new: call the plumber"), sessions.transactionResult(Todos::open));
    }

    @Test
    void outsideATransactionTheJdbcCodeIsRefusedRatherThanCommittingEachStatement(SessionManager sessions) {
        TodoArchive archive = new TodoArchive(sessions.transactionalDataSource());
        sessions.transaction(tx -> Todos.add(tx, "old: file taxes"));

        NoTransactionException refused = assertThrows(NoTransactionException.class, () -> archive.archive("old:"));

        assertTrue(refused.getMessage().endsWith("or take a connection of sessions.dataSource()"),
                refused.getMessage());
        assertEquals(List.of("old: file taxes"), sessions.transactionResult(Todos::open));
    }
}
