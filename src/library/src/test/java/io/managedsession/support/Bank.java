package io.managedsession.support;

import org.jooq.DSLContext;

/**
 * The small domain of the library's own tests that need one: operation functions over the schema in
 * {@value #MIGRATIONS}, written the way the library is meant to be used (they take the caller's {@code DSLContext} and
 * never open a transaction). Every change of a balance is recorded as an entry, so {@link #entriesMatchBalances}
 * shows whether anything was made or lost.
 */
public final class Bank {

    /** Where the schema's migrations are. */
    public static final String MIGRATIONS = "classpath:db/bank";

    private Bank() {
    }

    /** A transfer refused because the paying account has too little. */
    public static final class InsufficientFundsException extends RuntimeException {

        private static final long serialVersionUID = 1L;

        InsufficientFundsException(long account, long amount) {
            super("Account " + account + " cannot pay " + amount);
        }
    }

    /** Opens an account with an opening balance; returns its id. */
    public static long open(DSLContext ctx, String owner, long balance) {
        long id = ctx.fetchSingle("INSERT INTO accounts (owner, balance) VALUES (?, ?) RETURNING id", owner, balance)
                .get(0, Long.class);
        if (balance > 0) {
            ctx.execute("INSERT INTO entries (account, delta) VALUES (?, ?)", id, balance);
        }
        return id;
    }

    /** Pays money into an account; returns its new balance. */
    public static long deposit(DSLContext ctx, long account, long amount) {
        long balance = ctx.fetchSingle("UPDATE accounts SET balance = balance + ? WHERE id = ? RETURNING balance",
                amount, account).get(0, Long.class);
        ctx.execute("INSERT INTO entries (account, delta) VALUES (?, ?)", account, amount);
        return balance;
    }

    /** An account's balance. */
    public static long balance(DSLContext ctx, long account) {
        return ctx.fetchSingle("SELECT balance FROM accounts WHERE id = ?", account).get(0, Long.class);
    }

    /**
     * Moves money between two accounts, once per idempotency key; returns the transfer's id. Both accounts are locked
     * in id order first, so that transfers in opposite directions wait for each other instead of deadlocking.
     *
     * @throws InsufficientFundsException when {@code from} has less than {@code amount}; nothing is changed by this
     *                                    call, and the caller's transaction rolls back if it lets the exception out
     */
    public static long transfer(DSLContext ctx, long from, long to, long amount, String idempotencyKey) {
        long fromBalance = ctx.fetch("SELECT id, balance FROM accounts WHERE id IN (?, ?) ORDER BY id FOR UPDATE",
                from, to).stream().filter(row -> row.get(0, Long.class) == from).findFirst()
                .orElseThrow(() -> new IllegalArgumentException("No account " + from)).get(1, Long.class);
        if (fromBalance < amount) {
            throw new InsufficientFundsException(from, amount);
        }
        ctx.execute("UPDATE accounts SET balance = balance - ? WHERE id = ?", amount, from);
        ctx.execute("UPDATE accounts SET balance = balance + ? WHERE id = ?", amount, to);
        long id = ctx.fetchSingle("INSERT INTO transfers (from_account, to_account, amount, idempotency_key)"
                + " VALUES (?, ?, ?, ?) RETURNING id", from, to, amount, idempotencyKey).get(0, Long.class);
        ctx.execute("INSERT INTO entries (account, delta, transfer_id) VALUES (?, ?, ?), (?, ?, ?)",
                from, -amount, id, to, amount, id);
        return id;
    }

    /** Whether every account's balance is the sum of its entries. */
    public static boolean entriesMatchBalances(DSLContext ctx) {
        // One pass over each table: a correlated sum per account would scan the entries once per account.
        return ctx.fetchSingle("SELECT count(*) FROM accounts a LEFT JOIN (SELECT account, sum(delta) AS total"
                + " FROM entries GROUP BY account) e ON e.account = a.id WHERE a.balance <> coalesce(e.total, 0)")
                .get(0, Long.class) == 0;
    }
}
