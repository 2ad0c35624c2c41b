package io.managedsession.ledger.app;

import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

@DatabaseTest
class DemoTest {

    @Test
    void demoMovesMoneyRefusesAnOverdraftRunsABurstAndKeepsTheInvariant(TestDatabase db) throws Exception {
        StringWriter output = new StringWriter();

        boolean holds;
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(8).build()) {
            holds = Demo.run(sessions, new PrintWriter(output, true));
        }

        assertThat(holds).isTrue();
        assertThat(output.toString())
                .contains("Transferred 25.00 from alice to bob")
                .contains("Refused and rolled back")
                .contains("Concurrent burst: ")
                .contains("together 150.00")
                .contains("over 2 accounts: holds");
        assertThat(queryLong(db, "SELECT count(*) FROM history WHERE delta = 100 AND transfer_id IS NULL"))
                .as("the rolled-back deposit").isZero();
    }
}
