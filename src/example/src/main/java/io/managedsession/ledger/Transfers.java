package io.managedsession.ledger;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.ledger.schema.Tables.HISTORY;
import static io.managedsession.ledger.schema.Tables.TRANSFERS;

import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.param;

import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.UUID;

import org.jooq.DSLContext;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record2;
import org.jooq.impl.DSL;

import io.managedsession.PreparedQuery;
import io.managedsession.ledger.schema.tables.records.TransfersRecord;

/**
 * Moving money between accounts. Each operation runs in the caller's transaction.
 *
 * <p>A transfer is the ledger's hot path, so its statements are {@link PreparedQuery}s: written with jOOQ's DSL and
 * the generated classes like the rest, rendered once, then only bound and fetched on each call.
 */
public final class Transfers {

    private static final Param<Long> FROM = param("from", ACCOUNTS.AID);
    private static final Param<Long> TO = param("to", ACCOUNTS.AID);
    private static final Param<Long> AMOUNT = param("amount", ACCOUNTS.ABALANCE);
    private static final Param<String> KEY = param("key", TRANSFERS.IDEMPOTENCY_KEY);

    private static final PreparedQuery<TransfersRecord> FIND = PreparedQuery.of(
            DSL.selectFrom(TRANSFERS).where(TRANSFERS.IDEMPOTENCY_KEY.eq(KEY)), "key");

    /** Both accounts' balances, locked in id order. */
    private static final PreparedQuery<Record2<Long, Long>> LOCK_BALANCES = PreparedQuery.of(
            DSL.select(ACCOUNTS.AID, ACCOUNTS.ABALANCE).from(ACCOUNTS).where(ACCOUNTS.AID.in(FROM, TO))
                    .orderBy(ACCOUNTS.AID).forUpdate(), "from", "to");

    private static final PreparedQuery<TransfersRecord> INSERT = PreparedQuery.of(
            DSL.insertInto(TRANSFERS)
                    .set(TRANSFERS.ID, param("id", TRANSFERS.ID))
                    .set(TRANSFERS.FROM_AID, FROM)
                    .set(TRANSFERS.TO_AID, TO)
                    .set(TRANSFERS.AMOUNT, AMOUNT)
                    .set(TRANSFERS.IDEMPOTENCY_KEY, KEY)
                    .onConflict(TRANSFERS.IDEMPOTENCY_KEY).doNothing()
                    .returning(), "id", "from", "to", "amount", "key");

    private static final PreparedQuery<Record> MOVE = PreparedQuery.of(
            DSL.update(ACCOUNTS).set(ACCOUNTS.ABALANCE, DSL.when(ACCOUNTS.AID.eq(FROM), ACCOUNTS.ABALANCE.minus(AMOUNT))
                            .otherwise(ACCOUNTS.ABALANCE.plus(AMOUNT)))
                    .where(ACCOUNTS.AID.in(FROM, TO)), "from", "to", "amount");

    private static final PreparedQuery<Record> RECORD_HISTORY = PreparedQuery.of(
            DSL.insertInto(HISTORY, HISTORY.AID, HISTORY.BID, HISTORY.DELTA, HISTORY.TRANSFER_ID)
                    .values(FROM, inline(Accounts.LEDGER_BRANCH), AMOUNT.neg(), param("transfer", HISTORY.TRANSFER_ID))
                    .values(TO, inline(Accounts.LEDGER_BRANCH), AMOUNT, param("transfer", HISTORY.TRANSFER_ID)),
            "from", "to", "amount", "transfer");

    /** The longest idempotency key the schema takes. */
    public static final int MAX_IDEMPOTENCY_KEY_LENGTH = 200;

    private Transfers() {
    }

    /**
     * Moves {@code amount} from one account to another, once per idempotency key.
     *
     * <p>Both accounts are locked in id order, so two transfers between the same accounts in opposite directions wait
     * for each other instead of deadlocking. When the key was already used for the same transfer, that transfer is
     * returned with {@link Transfer#replayed()} set and no money moves; concurrent calls with one key wait for each
     * other and only one of them moves money.
     *
     * @param ctx            the transaction's context
     * @param fromAccount    the account to debit
     * @param toAccount      the account to credit, not the same
     * @param amount         the amount, in minor units, positive
     * @param idempotencyKey the caller's key for this transfer: not blank, at most
     *                       {@value #MAX_IDEMPOTENCY_KEY_LENGTH} characters
     * @return the transfer
     * @throws UnknownAccountException          when either account does not exist
     * @throws InsufficientFundsException       when the debited account has less than {@code amount}
     * @throws IdempotencyKeyConflictException  when the key stands for a different transfer
     */
    public static Transfer transfer(DSLContext ctx, long fromAccount, long toAccount, long amount,
            String idempotencyKey) {
        if (amount <= 0) {
            throw new IllegalArgumentException("amount must be positive, but was " + amount);
        }
        if (fromAccount == toAccount) {
            throw new IllegalArgumentException("a transfer needs two different accounts, but both are " + fromAccount);
        }
        if (idempotencyKey == null || idempotencyKey.isBlank()) {
            throw new IllegalArgumentException("idempotencyKey must not be blank");
        }
        if (idempotencyKey.length() > MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw new IllegalArgumentException("idempotencyKey must be at most " + MAX_IDEMPOTENCY_KEY_LENGTH
                    + " characters, but has " + idempotencyKey.length());
        }
        Optional<Transfer> earlier = find(ctx, idempotencyKey);
        if (earlier.isPresent()) {
            return replay(earlier.get(), fromAccount, toAccount, amount);
        }

        Map<Long, Long> balances = new HashMap<>();
        for (Record2<Long, Long> row : LOCK_BALANCES.fetch(ctx, fromAccount, toAccount)) {
            balances.put(row.value1(), row.value2());
        }
        for (long account : new long[] {fromAccount, toAccount}) {
            if (!balances.containsKey(account)) {
                throw new UnknownAccountException(account);
            }
        }

        // Another call with this key may have committed while this one waited for the account locks.
        TransfersRecord inserted = INSERT.fetchOne(ctx, UUID.randomUUID(), fromAccount, toAccount, amount,
                idempotencyKey);
        if (inserted == null) {
            Transfer existing = find(ctx, idempotencyKey).orElseThrow(() -> new IllegalStateException(
                    "Idempotency key '" + idempotencyKey + "' conflicted but its transfer cannot be read"));
            return replay(existing, fromAccount, toAccount, amount);
        }

        long fromBalance = balances.get(fromAccount);
        if (fromBalance < amount) {
            throw new InsufficientFundsException(fromAccount, fromBalance, amount);
        }
        MOVE.execute(ctx, fromAccount, toAccount, amount);
        RECORD_HISTORY.execute(ctx, fromAccount, toAccount, amount, inserted.getId());
        return toTransfer(inserted, false);
    }

    /**
     * Finds the transfer made under an idempotency key.
     *
     * @param ctx            the transaction's context
     * @param idempotencyKey the key
     * @return the transfer, or empty when the key was not used
     */
    public static Optional<Transfer> find(DSLContext ctx, String idempotencyKey) {
        return FIND.fetchOptional(ctx, idempotencyKey).map(r -> toTransfer(r, true));
    }

    /**
     * Lists the transfers into or out of an account, newest first.
     *
     * @param ctx       the transaction's context
     * @param accountId the account
     * @param limit     the most transfers to return, from 1 to 10,000
     * @return the transfers, newest first
     * @throws UnknownAccountException when there is no such account
     */
    public static List<Transfer> forAccount(DSLContext ctx, long accountId, int limit) {
        if (limit < 1 || limit > 10_000) {
            throw new IllegalArgumentException("limit must be between 1 and 10000, but was " + limit);
        }
        if (!ctx.fetchExists(ACCOUNTS, ACCOUNTS.AID.eq(accountId))) {
            throw new UnknownAccountException(accountId);
        }
        return ctx.selectFrom(TRANSFERS)
                .where(TRANSFERS.FROM_AID.eq(accountId).or(TRANSFERS.TO_AID.eq(accountId)))
                .orderBy(TRANSFERS.CREATED_AT.desc(), TRANSFERS.ID)
                .limit(limit)
                .fetch(r -> toTransfer(r, false));
    }

    private static Transfer replay(Transfer existing, long fromAccount, long toAccount, long amount) {
        if (existing.fromAccount() != fromAccount || existing.toAccount() != toAccount || existing.amount() != amount) {
            throw new IdempotencyKeyConflictException(existing.idempotencyKey(), existing);
        }
        return existing;
    }

    private static Transfer toTransfer(TransfersRecord r, boolean replayed) {
        return new Transfer(r.getId(), r.getFromAid(), r.getToAid(), r.getAmount(), r.getIdempotencyKey(),
                r.getCreatedAt(), replayed);
    }
}
