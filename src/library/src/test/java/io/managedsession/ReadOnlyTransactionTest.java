package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A read-only transaction begins {@code READ ONLY} through the driver (no statement of its own) and is refused writes
 * by the server, whatever the driver's {@code readOnlyMode}; the connection goes back to the pool read-write.
 */
@DatabaseTest(migrations = {})
class ReadOnlyTransactionTest {

    @ParameterizedTest(name = "readOnlyMode={0}")
    @ValueSource(strings = {"transaction", "always", "ignore"})
    void theServerRefusesWritesAndTheNextTransactionOnTheConnectionMayWrite(String readOnlyMode, TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS notes", "CREATE TABLE notes (id int PRIMARY KEY)");
        String separator = db.jdbcUrl().contains("?") ? "&" : "?";
        try (SessionManager sessions = Managers.via(db, db.jdbcUrl() + separator + "readOnlyMode=" + readOnlyMode)
                .maximumPoolSize(1).build()) {
            String inside = sessions.transactionResult(TransactionOptions.readOnly(),
                    ctx -> (String) ctx.fetchValue("SHOW transaction_read_only"));
            assertThat(inside).isEqualTo("on");
            assertThatThrownBy(() -> sessions.transaction(TransactionOptions.readOnly(),
                    ctx -> ctx.execute("INSERT INTO notes VALUES (1)")))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("25006"));
            // the one pooled connection, read-write again for a transaction that does not say
            String after = sessions.transactionResult(ctx -> {
                ctx.execute("INSERT INTO notes VALUES (2)");
                return (String) ctx.fetchValue("SHOW transaction_read_only");
            });
            assertThat(after).isEqualTo("off");
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aReadOnlyCallJoinsAReadOnlyTransactionAndKnowsItIsOne(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            String joined = sessions.transactionResult(TransactionOptions.readOnly(), outer -> sessions
                    .transactionResult(TransactionOptions.readOnly(), inner -> (String) inner.fetchValue(
                            "SHOW transaction_read_only")));
            assertThat(joined).isEqualTo("on");
        }
    }
}
