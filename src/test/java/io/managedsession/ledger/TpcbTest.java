package io.managedsession.ledger;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.support.TestDatabase;
import io.managedsession.support.WithTestDatabase;

/** pgbench's data set and transaction on the ledger tables. */
@WithTestDatabase
class TpcbTest {

    @Test
    void populateLoadsPgbenchsDataSetAndStepsKeepEveryBalanceInStep(TestDatabase db) {
        try (SessionManager sessions = db.sessions().build()) {
            sessions.transaction(ctx -> Tpcb.populate(ctx, 1));

            assertThat(db.rowCount("branches")).isEqualTo(1);
            assertThat(db.rowCount("tellers")).isEqualTo(Tpcb.TELLERS_PER_BRANCH);
            assertThat(db.rowCount("accounts")).isEqualTo(Tpcb.ACCOUNTS_PER_BRANCH);
            long opened = sessions.transactionResult(ctx -> Accounts.open(ctx, "after populate", 0));
            assertThat(opened).as("the identity continues after the loaded ids").isEqualTo(Tpcb.ACCOUNTS_PER_BRANCH + 1);

            long deltas = 0;
            for (int i = 0; i < 200; i++) {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long aid = 1 + random.nextInt(Tpcb.ACCOUNTS_PER_BRANCH);
                int tid = 1 + random.nextInt(Tpcb.TELLERS_PER_BRANCH);
                long delta = random.nextInt(-5000, 5001);
                deltas += delta;
                sessions.transaction(ctx -> Tpcb.step(ctx, aid, tid, 1, delta));
            }

            assertThat(db.queryLong("SELECT bbalance FROM branches WHERE bid = 1")).isEqualTo(deltas);
            assertThat(db.queryLong("SELECT sum(tbalance) FROM tellers")).isEqualTo(deltas);
            assertThat(db.queryLong("SELECT sum(abalance) FROM accounts")).isEqualTo(deltas);
            assertThat(db.rowCount("history")).isEqualTo(200);
            assertThat(sessions.transactionResult(Audits::audit).holds()).isTrue();
        }
    }
}
