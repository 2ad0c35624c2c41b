package io.managedsession.ledger;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.ledger.schema.Tables.HISTORY;

import java.util.List;

import org.jooq.DSLContext;

/**
 * Operations on accounts. Like every operation of the example ledger, each takes the caller's {@code DSLContext} and
 * runs in the caller's transaction; none opens a transaction itself.
 */
public final class Accounts {

    /** The branch that accounts opened by the ledger belong to; the first migration creates it. */
    public static final int LEDGER_BRANCH = 1;

    /** The longest owner name the schema takes. */
    public static final int MAX_OWNER_LENGTH = 200;

    private Accounts() {
    }

    /**
     * Opens an account, with an opening balance recorded in its history when it is not zero.
     *
     * @param ctx            the transaction's context
     * @param owner          the owner's name: not blank, at most {@value #MAX_OWNER_LENGTH} characters
     * @param initialBalance the opening balance, in minor units, not negative
     * @return the new account's id
     */
    public static long open(DSLContext ctx, String owner, long initialBalance) {
        if (owner == null || owner.isBlank()) {
            throw new IllegalArgumentException("owner must not be blank");
        }
        if (owner.length() > MAX_OWNER_LENGTH) {
            throw new IllegalArgumentException("owner must be at most " + MAX_OWNER_LENGTH + " characters, but has "
                    + owner.length());
        }
        if (initialBalance < 0) {
            throw new IllegalArgumentException("initialBalance must not be negative, but was " + initialBalance);
        }
        long id = ctx.insertInto(ACCOUNTS, ACCOUNTS.BID, ACCOUNTS.ABALANCE, ACCOUNTS.OWNER)
                .values(LEDGER_BRANCH, initialBalance, owner)
                .returning(ACCOUNTS.AID)
                .fetchSingle(ACCOUNTS.AID);
        if (initialBalance > 0) {
            ctx.insertInto(HISTORY, HISTORY.AID, HISTORY.BID, HISTORY.DELTA)
                    .values(id, LEDGER_BRANCH, initialBalance)
                    .execute();
        }
        return id;
    }

    /**
     * Pays money into an account.
     *
     * @param ctx       the transaction's context
     * @param accountId the account
     * @param amount    the amount, in minor units, positive
     * @return the account's new balance
     * @throws UnknownAccountException when there is no such account
     */
    public static long deposit(DSLContext ctx, long accountId, long amount) {
        if (amount <= 0) {
            throw new IllegalArgumentException("amount must be positive, but was " + amount);
        }
        Long balance = ctx.update(ACCOUNTS)
                .set(ACCOUNTS.ABALANCE, ACCOUNTS.ABALANCE.plus(amount))
                .where(ACCOUNTS.AID.eq(accountId))
                .returning(ACCOUNTS.ABALANCE)
                .fetchOne(ACCOUNTS.ABALANCE);
        if (balance == null) {
            throw new UnknownAccountException(accountId);
        }
        ctx.insertInto(HISTORY, HISTORY.AID, HISTORY.BID, HISTORY.DELTA)
                .values(accountId, LEDGER_BRANCH, amount)
                .execute();
        return balance;
    }

    /**
     * An account as the ledger shows it.
     *
     * @param id      the account's id
     * @param owner   the owner's name
     * @param balance the balance, in minor units
     */
    public record Account(long id, String owner, long balance) {
    }

    /**
     * Reads an account.
     *
     * @param ctx       the transaction's context
     * @param accountId the account
     * @return the account
     * @throws UnknownAccountException when there is no such account
     */
    public static Account find(DSLContext ctx, long accountId) {
        return ctx.select(ACCOUNTS.AID, ACCOUNTS.OWNER, ACCOUNTS.ABALANCE)
                .from(ACCOUNTS)
                .where(ACCOUNTS.AID.eq(accountId))
                .fetchOptional(r -> new Account(r.value1(), r.value2(), r.value3()))
                .orElseThrow(() -> new UnknownAccountException(accountId));
    }

    /**
     * Lists accounts in id order.
     *
     * @param ctx   the transaction's context
     * @param limit the most accounts to return, from 1 to 10,000
     * @return the accounts, lowest id first
     */
    public static List<Account> list(DSLContext ctx, int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new IllegalArgumentException("limit must be between 1 and 10000, but was " + limit);
        }
        return ctx.select(ACCOUNTS.AID, ACCOUNTS.OWNER, ACCOUNTS.ABALANCE)
                .from(ACCOUNTS)
                .orderBy(ACCOUNTS.AID)
                .limit(limit)
                .fetch(r -> new Account(r.value1(), r.value2(), r.value3()));
    }

    /**
     * Reads an account's balance.
     *
     * @param ctx       the transaction's context
     * @param accountId the account
     * @return the balance, in minor units
     * @throws UnknownAccountException when there is no such account
     */
    public static long balance(DSLContext ctx, long accountId) {
        Long balance = ctx.select(ACCOUNTS.ABALANCE)
                .from(ACCOUNTS)
                .where(ACCOUNTS.AID.eq(accountId))
                .fetchOne(ACCOUNTS.ABALANCE);
        if (balance == null) {
            throw new UnknownAccountException(accountId);
        }
        return balance;
    }

    /**
     * Lists an account's balance changes, newest first.
     *
     * @param ctx       the transaction's context
     * @param accountId the account
     * @param limit     the most entries to return, from 1 to 10,000
     * @return the entries, newest first
     * @throws UnknownAccountException when there is no such account
     */
    public static List<Entry> history(DSLContext ctx, long accountId, int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new IllegalArgumentException("limit must be between 1 and 10000, but was " + limit);
        }
        if (!ctx.fetchExists(ACCOUNTS, ACCOUNTS.AID.eq(accountId))) {
            throw new UnknownAccountException(accountId);
        }
        return ctx.select(HISTORY.HID, HISTORY.AID, HISTORY.DELTA, HISTORY.MTIME, HISTORY.TRANSFER_ID)
                .from(HISTORY)
                .where(HISTORY.AID.eq(accountId))
                .orderBy(HISTORY.HID.desc())
                .limit(limit)
                .fetch(r -> new Entry(r.value1(), r.value2(), r.value3(), r.value4(), r.value5()));
    }
}
