package io.managedsession.bench;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.ledger.schema.Tables.BRANCHES;
import static io.managedsession.ledger.schema.Tables.HISTORY;
import static io.managedsession.ledger.schema.Tables.TELLERS;
import static org.jooq.impl.DSL.currentOffsetDateTime;
import static org.jooq.impl.DSL.val;

import org.jooq.DSLContext;

/**
 * pgbench's TPC-B-like transaction on the ledger tables, so that benchmarks run exactly what pgbench runs.
 *
 * <pre>
 * UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;
 * SELECT abalance FROM accounts WHERE aid = :aid;
 * UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;
 * UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid;
 * INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);
 * </pre>
 */
public final class Tpcb {

    /** pgbench's number of tellers per branch. */
    public static final int TELLERS_PER_BRANCH = 10;

    /** pgbench's number of accounts per branch. */
    public static final int ACCOUNTS_PER_BRANCH = 100_000;

    private Tpcb() {
    }

    /**
     * Runs one TPC-B step: the five statements above, in the caller's transaction.
     *
     * @param ctx   the transaction's context
     * @param aid   the account
     * @param tid   the teller
     * @param bid   the branch
     * @param delta the amount added to all three balances, in minor units (pgbench draws it from -5000 to 5000)
     * @return the account's balance after the update
     */
    public static long step(DSLContext ctx, long aid, int tid, int bid, long delta) {
        ctx.update(ACCOUNTS).set(ACCOUNTS.ABALANCE, ACCOUNTS.ABALANCE.plus(delta)).where(ACCOUNTS.AID.eq(aid))
                .execute();
        long balance = ctx.select(ACCOUNTS.ABALANCE).from(ACCOUNTS).where(ACCOUNTS.AID.eq(aid))
                .fetchSingle(ACCOUNTS.ABALANCE);
        ctx.update(TELLERS).set(TELLERS.TBALANCE, TELLERS.TBALANCE.plus(delta)).where(TELLERS.TID.eq(tid)).execute();
        ctx.update(BRANCHES).set(BRANCHES.BBALANCE, BRANCHES.BBALANCE.plus(delta)).where(BRANCHES.BID.eq(bid))
                .execute();
        ctx.insertInto(HISTORY, HISTORY.TID, HISTORY.BID, HISTORY.AID, HISTORY.DELTA, HISTORY.MTIME)
                .values(val(tid), val(bid), val(aid), val(delta), currentOffsetDateTime())
                .execute();
        return balance;
    }

    /**
     * Fills the tables the way {@code pgbench -i -s scale} does: {@code scale} branches, ten tellers and 100,000
     * accounts per branch, all balances zero. Meant for an otherwise empty ledger; the ledger's own branch 1 is reused.
     *
     * @param ctx   the transaction's context
     * @param scale the number of branches, from 1 to 1,000
     */
    public static void populate(DSLContext ctx, int scale) {
        if (scale < 1 || scale > 1_000) {
            throw new IllegalArgumentException("scale must be between 1 and 1000, but was " + scale);
        }
        ctx.execute("INSERT INTO branches (bid, bbalance) SELECT b, 0 FROM generate_series(1, ?) b"
                + " ON CONFLICT (bid) DO NOTHING", scale);
        ctx.execute("INSERT INTO tellers (tid, bid, tbalance) SELECT t, (t - 1) / ? + 1, 0"
                + " FROM generate_series(1, ?) t", TELLERS_PER_BRANCH, scale * TELLERS_PER_BRANCH);
        ctx.execute("INSERT INTO accounts (aid, bid, abalance, owner) SELECT a, (a - 1) / ? + 1, 0, 'tpcb-' || a"
                + " FROM generate_series(1, ?) a", ACCOUNTS_PER_BRANCH, (long) scale * ACCOUNTS_PER_BRANCH);
        // Accounts opened later by the ledger must not collide with the ids taken here.
        ctx.execute("SELECT setval(pg_get_serial_sequence('accounts', 'aid'), (SELECT max(aid) FROM accounts))");
    }
}
