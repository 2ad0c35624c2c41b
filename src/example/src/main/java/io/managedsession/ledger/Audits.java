package io.managedsession.ledger;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.ledger.schema.Tables.HISTORY;
import static org.jooq.impl.DSL.coalesce;
import static org.jooq.impl.DSL.count;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.sum;

import java.math.BigDecimal;

import org.jooq.DSLContext;
import org.jooq.Record2;

/** Checks of the ledger as a whole. */
public final class Audits {

    private Audits() {
    }

    /**
     * The ledger's invariant: every balance is the sum of its history, so the sum of all balances equals the sum of
     * all history deltas. Transfers move money without creating it, so they leave both sums unchanged.
     *
     * @param accounts       how many accounts there are
     * @param totalBalance   the sum of all balances, in minor units
     * @param historyTotal   the sum of all history deltas, in minor units
     */
    public record Audit(int accounts, BigDecimal totalBalance, BigDecimal historyTotal) {

        /** Whether the balances agree with the history. */
        public boolean holds() {
            return totalBalance.compareTo(historyTotal) == 0;
        }
    }

    /**
     * Reads both sums in one statement, so they come from the same snapshot.
     *
     * @param ctx the transaction's context
     * @return the audit
     */
    public static Audit audit(DSLContext ctx) {
        Record2<Integer, BigDecimal> balances = ctx.select(count(), coalesce(sum(ACCOUNTS.ABALANCE), inline(BigDecimal.ZERO)))
                .from(ACCOUNTS)
                .fetchSingle();
        BigDecimal history = ctx.select(coalesce(sum(HISTORY.DELTA), inline(BigDecimal.ZERO)))
                .from(HISTORY)
                .fetchSingle()
                .value1();
        return new Audit(balances.value1(), balances.value2(), history);
    }
}
