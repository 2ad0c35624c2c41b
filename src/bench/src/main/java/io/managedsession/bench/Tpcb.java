package io.managedsession.bench;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.ledger.schema.Tables.BRANCHES;
import static io.managedsession.ledger.schema.Tables.HISTORY;
import static io.managedsession.ledger.schema.Tables.TELLERS;
import static org.jooq.impl.DSL.currentOffsetDateTime;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.val;

import org.jooq.DSLContext;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.impl.DSL;

import io.managedsession.PreparedQuery;

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

    private static final Param<Long> AID = param("aid", ACCOUNTS.AID);
    private static final Param<Integer> TID = param("tid", TELLERS.TID);
    private static final Param<Integer> BID = param("bid", BRANCHES.BID);
    private static final Param<Long> DELTA = param("delta", ACCOUNTS.ABALANCE);

    private static final PreparedQuery<Record> UPDATE_ACCOUNT = PreparedQuery.of(DSL.update(ACCOUNTS)
            .set(ACCOUNTS.ABALANCE, ACCOUNTS.ABALANCE.plus(DELTA)).where(ACCOUNTS.AID.eq(AID)), "delta", "aid");
    private static final PreparedQuery<Record1<Long>> SELECT_ACCOUNT = PreparedQuery.of(
            DSL.select(ACCOUNTS.ABALANCE).from(ACCOUNTS).where(ACCOUNTS.AID.eq(AID)), "aid");
    private static final PreparedQuery<Record> UPDATE_TELLER = PreparedQuery.of(DSL.update(TELLERS)
            .set(TELLERS.TBALANCE, TELLERS.TBALANCE.plus(DELTA)).where(TELLERS.TID.eq(TID)), "delta", "tid");
    private static final PreparedQuery<Record> UPDATE_BRANCH = PreparedQuery.of(DSL.update(BRANCHES)
            .set(BRANCHES.BBALANCE, BRANCHES.BBALANCE.plus(DELTA)).where(BRANCHES.BID.eq(BID)), "delta", "bid");
    private static final PreparedQuery<Record> INSERT_HISTORY = PreparedQuery.of(
            DSL.insertInto(HISTORY, HISTORY.TID, HISTORY.BID, HISTORY.AID, HISTORY.DELTA, HISTORY.MTIME)
                    .values(TID, BID, AID, DELTA, currentOffsetDateTime()), "tid", "bid", "aid", "delta");

    /**
     * {@link #step}, with the same statements declared once as {@link PreparedQuery}s: rendered once, then only
     * bound and fetched.
     */
    public static long preparedStep(DSLContext ctx, long aid, int tid, int bid, long delta) {
        UPDATE_ACCOUNT.execute(ctx, delta, aid);
        long balance = SELECT_ACCOUNT.fetchOne(ctx, aid).value1();
        UPDATE_TELLER.execute(ctx, delta, tid);
        UPDATE_BRANCH.execute(ctx, delta, bid);
        INSERT_HISTORY.execute(ctx, tid, bid, aid, delta);
        return balance;
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
