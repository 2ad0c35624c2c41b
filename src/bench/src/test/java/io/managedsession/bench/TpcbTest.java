package io.managedsession.bench;

import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;

import java.math.BigDecimal;
import java.util.concurrent.ThreadLocalRandom;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.Audits;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The benchmarks' workload: pgbench's data set and transaction on the example ledger's tables. */
@DatabaseTest(perTest = true)
class TpcbTest {

    @Test
    void stepRunsPgbenchsTransactionAndKeepsTheLedgersAudit(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            long account = sessions.transactionResult(ctx -> Accounts.open(ctx, "tpcb", 0));
            sessions.transaction(ctx -> ctx.execute("INSERT INTO tellers (tid, bid) VALUES (1, 1)"));
            long branchBefore = queryLong(db, "SELECT bbalance FROM branches WHERE bid = 1");

            long afterStep = sessions.transactionResult(ctx -> Tpcb.step(ctx, account, 1, 1, -1234));

            assertThat(afterStep).isEqualTo(-1234);
            assertThat(queryLong(db, "SELECT bbalance FROM branches WHERE bid = 1")).isEqualTo(branchBefore - 1234);
            assertThat(queryLong(db, "SELECT count(*) FROM history WHERE aid = ? AND tid = 1", account)).isEqualTo(1);
            Audits.Audit audit = sessions.transactionResult(Audits::audit);
            assertThat(audit.holds()).isTrue();
            assertThat(audit.totalBalance())
                    .isEqualTo(new BigDecimal(queryLong(db, "SELECT sum(abalance) FROM accounts")));
        }
    }

    @Test
    void populateLoadsPgbenchsDataSetAndStepsKeepEveryBalanceInStep(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> Tpcb.populate(ctx, 1));

            assertThat(rowCount(db, "branches")).isEqualTo(1);
            assertThat(rowCount(db, "tellers")).isEqualTo(Tpcb.TELLERS_PER_BRANCH);
            assertThat(rowCount(db, "accounts")).isEqualTo(Tpcb.ACCOUNTS_PER_BRANCH);
            long opened = sessions.transactionResult(ctx -> Accounts.open(ctx, "after populate", 0));
            assertThat(opened).as("the identity continues after the loaded ids")
                    .isEqualTo(Tpcb.ACCOUNTS_PER_BRANCH + 1);

            long deltas = 0;
            for (int i = 0; i < 200; i++) {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long aid = 1 + random.nextInt(Tpcb.ACCOUNTS_PER_BRANCH);
                int tid = 1 + random.nextInt(Tpcb.TELLERS_PER_BRANCH);
                long delta = random.nextInt(-5000, 5001);
                deltas += delta;
                sessions.transaction(ctx -> Tpcb.step(ctx, aid, tid, 1, delta));
            }

            assertThat(queryLong(db, "SELECT bbalance FROM branches WHERE bid = 1")).isEqualTo(deltas);
            assertThat(queryLong(db, "SELECT sum(tbalance) FROM tellers")).isEqualTo(deltas);
            assertThat(queryLong(db, "SELECT sum(abalance) FROM accounts")).isEqualTo(deltas);
            assertThat(rowCount(db, "history")).isEqualTo(200);
            assertThat(sessions.transactionResult(Audits::audit).holds()).isTrue();
        }
    }

    @Test
    void thePreparedStepRunsTheSameStatementsAsTheDslStep(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> Tpcb.populate(ctx, 1));
            long viaDsl = sessions.transactionResult(ctx -> Tpcb.step(ctx, 42, 3, 1, 777));
            long viaPrepared = sessions.transactionResult(ctx -> Tpcb.preparedStep(ctx, 42, 3, 1, -777));

            assertThat(viaDsl).isEqualTo(777);
            assertThat(viaPrepared).as("the balance read back after the prepared update").isZero();
            assertThat(queryLong(db, "SELECT abalance FROM accounts WHERE aid = 42")).isZero();
            assertThat(queryLong(db, "SELECT tbalance FROM tellers WHERE tid = 3")).isZero();
            assertThat(queryLong(db, "SELECT bbalance FROM branches WHERE bid = 1")).isZero();
            assertThat(queryLong(db, "SELECT count(*) FROM history WHERE aid = 42 AND tid = 3 AND bid = 1"
                    + " AND delta IN (777, -777) AND mtime IS NOT NULL")).isEqualTo(2);

            long deltas = 0;
            for (int i = 0; i < 100; i++) {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                long aid = 1 + random.nextInt(Tpcb.ACCOUNTS_PER_BRANCH);
                int tid = 1 + random.nextInt(Tpcb.TELLERS_PER_BRANCH);
                long delta = random.nextInt(-5000, 5001);
                deltas += delta;
                long balance = sessions.transactionResult(ctx -> Tpcb.preparedStep(ctx, aid, tid, 1, delta));
                assertThat(balance).isEqualTo(queryLong(db, "SELECT abalance FROM accounts WHERE aid = ?", aid));
            }
            assertThat(queryLong(db, "SELECT bbalance FROM branches WHERE bid = 1")).isEqualTo(deltas);
            assertThat(queryLong(db, "SELECT sum(abalance) FROM accounts")).isEqualTo(deltas);
            assertThat(sessions.transactionResult(Audits::audit).holds()).isTrue();
        }
    }
}
