package io.managedsession.ledger.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;

import org.junit.jupiter.api.Test;

import io.managedsession.support.TestDatabase;
import io.managedsession.support.WithTestDatabase;

@WithTestDatabase(migrated = false)
class DemoTest {

    @Test
    void demoMigratesMovesMoneyRefusesAnOverdraftAndKeepsTheInvariant(TestDatabase db) throws Exception {
        ByteArrayOutputStream output = new ByteArrayOutputStream();

        boolean holds = Demo.run(db.jdbcUrl(), db.username(), db.password(),
                new PrintStream(output, true, StandardCharsets.UTF_8));

        String printed = output.toString(StandardCharsets.UTF_8);
        assertThat(holds).isTrue();
        assertThat(printed)
                .contains("Transferred 25.00 from alice to bob")
                .contains("Refused and rolled back")
                .contains("together 150.00")
                .contains("over 2 accounts: holds");
        assertThat(db.queryLong("SELECT count(*) FROM history WHERE delta = 100 AND transfer_id IS NULL")).as("the rolled-back deposit")
                .isZero();
    }
}
