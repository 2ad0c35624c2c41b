package io.managedsession.ledger;

import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.math.BigDecimal;
import java.util.ArrayList;
import java.util.List;

import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.TransactionCallback;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The example ledger's operation functions, each run in a SessionManager transaction. */
@DatabaseTest
class LedgerOperationsTest {

    private static SessionManager sessions;
    private final TestDatabase db;

    LedgerOperationsTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void start(TestDatabase db) {
        sessions = Managers.on(db).build();
    }

    @AfterAll
    static void stop() {
        sessions.close();
    }

    private long balance(long account) {
        return sessions.transactionResult(ctx -> Accounts.balance(ctx, account));
    }

    private long open(String owner, long balance) {
        return sessions.transactionResult(ctx -> Accounts.open(ctx, owner, balance));
    }

    @Test
    void openingAnAccountRecordsItsOpeningBalance() {
        long id = open("alice", 100_00);

        assertThat(balance(id)).isEqualTo(100_00);
        List<Entry> history = sessions.transactionResult(ctx -> Accounts.history(ctx, id, 10));
        assertThat(history).singleElement().satisfies(entry -> {
            assertThat(entry.delta()).isEqualTo(100_00);
            assertThat(entry.transferId()).isNull();
        });
    }

    @Test
    void depositAddsToTheBalanceAndHistory() {
        long id = open("bob", 0);

        long newBalance = sessions.transactionResult(ctx -> Accounts.deposit(ctx, id, 25_50));

        assertThat(newBalance).isEqualTo(25_50);
        List<Entry> history = sessions.transactionResult(ctx -> Accounts.history(ctx, id, 10));
        assertThat(history).extracting(Entry::delta).containsExactly(25_50L);
    }

    @Test
    void transferMovesMoneyAndRecordsBothSides() {
        long from = open("carol", 100_00);
        long to = open("dave", 0);

        Transfer transfer = sessions.transactionResult(ctx -> Transfers.transfer(ctx, from, to, 40_00, "t-1"));

        assertThat(transfer.replayed()).isFalse();
        assertThat(transfer.amount()).isEqualTo(40_00);
        assertThat(balance(from)).isEqualTo(60_00);
        assertThat(balance(to)).isEqualTo(40_00);
        assertThat(queryLong(db, "SELECT count(*) FROM history WHERE transfer_id = ?", transfer.id())).isEqualTo(2);
        List<Transfer> transfersOfTo = sessions.transactionResult(ctx -> Transfers.forAccount(ctx, to, 10));
        assertThat(transfersOfTo).extracting(Transfer::id).containsExactly(transfer.id());
    }

    @Test
    void aTransferWatchedByAnExecuteListenerRunsItsPreparedStatementsThroughJooqWithTheSameOutcome() {
        long from = open("olivia", 100_00);
        long to = open("peggy", 0);
        List<String> executed = new ArrayList<>();
        ExecuteListener recorder = new ExecuteListener() {
            @Override
            public void executeStart(ExecuteContext ctx) {
                executed.add(ctx.sql());
            }
        };

        // Generated records (RETURNING into TransfersRecord), a parameter bound twice, locking reads: jOOQ's path,
        // on a context derived from the transaction's with the listener added.
        TransactionCallback<Transfer, RuntimeException> watchedTransfer = ctx -> Transfers.transfer(
                DSL.using(ctx.configuration().derive(new DefaultExecuteListenerProvider(recorder))), from, to, 40_00,
                "t-watched");
        Transfer transfer = sessions.transactionResult(watchedTransfer);
        int watchedStatements = executed.size();
        Transfer replay = sessions.transactionResult(watchedTransfer);

        assertThat(transfer.replayed()).isFalse();
        assertThat(replay.replayed()).isTrue();
        assertThat(replay.id()).isEqualTo(transfer.id());
        assertThat(replay.amount()).isEqualTo(40_00);
        assertThat(balance(from)).isEqualTo(60_00);
        assertThat(balance(to)).isEqualTo(40_00);
        assertThat(queryLong(db, "SELECT count(*) FROM history WHERE transfer_id = ?", transfer.id())).isEqualTo(2);
        // find, lock the balances, insert, move, record history; the replay only finds.
        assertThat(watchedStatements).isEqualTo(5);
        assertThat(executed).hasSize(6);
        assertThat(executed.get(2)).startsWith("insert into \"transfers\"").contains("returning");
    }

    @Test
    void insufficientFundsRollsBackAndChangesNothing() {
        long from = open("erin", 10_00);
        long to = open("frank", 0);
        long transfersBefore = rowCount(db, "transfers");

        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            Accounts.deposit(ctx, to, 5_00); // part of the same unit of work: rolled back with it
            Transfers.transfer(ctx, from, to, 10_01, "t-insufficient");
        }));

        assertThat(caught).isInstanceOf(InsufficientFundsException.class)
                .hasMessage("Account " + from + " has 1000 but the transfer needs 1001");
        assertThat(balance(from)).isEqualTo(10_00);
        assertThat(balance(to)).isZero();
        assertThat(rowCount(db, "transfers")).isEqualTo(transfersBefore);
        assertThat(queryLong(db, "SELECT count(*) FROM transfers WHERE idempotency_key = 't-insufficient'")).isZero();
    }

    @Test
    void replayingAnIdempotencyKeyReturnsTheFirstTransferAndMovesNothing() {
        long from = open("grace", 100_00);
        long to = open("heidi", 0);

        Transfer first = sessions.transactionResult(ctx -> Transfers.transfer(ctx, from, to, 30_00, "t-replay"));
        Transfer replay = sessions.transactionResult(ctx -> Transfers.transfer(ctx, from, to, 30_00, "t-replay"));

        assertThat(replay.replayed()).isTrue();
        assertThat(replay.id()).isEqualTo(first.id());
        assertThat(balance(from)).isEqualTo(70_00);
    }

    @Test
    void reusingAnIdempotencyKeyForAnotherTransferIsRefused() {
        long from = open("ivan", 100_00);
        long to = open("judy", 0);
        sessions.transaction(ctx -> Transfers.transfer(ctx, from, to, 1_00, "t-conflict"));

        assertThatThrownBy(() -> sessions.transaction(ctx -> Transfers.transfer(ctx, from, to, 2_00, "t-conflict")))
                .isInstanceOf(IdempotencyKeyConflictException.class)
                .hasMessageContaining("'t-conflict' was already used for a different transfer");
        assertThat(balance(from)).isEqualTo(99_00);
    }

    @Test
    void unknownAccountsAreNamed() {
        long known = open("mallory", 100_00);

        assertThatThrownBy(() -> sessions.transaction(ctx -> Transfers.transfer(ctx, known, 987_654_321L, 1, "t-x")))
                .isInstanceOf(UnknownAccountException.class).hasMessage("Account 987654321 does not exist");
        assertThatThrownBy(() -> sessions.transaction(ctx -> Accounts.deposit(ctx, 987_654_321L, 1)))
                .isInstanceOf(UnknownAccountException.class);
        assertThatThrownBy(() -> sessions.transaction(ctx -> Accounts.balance(ctx, 987_654_321L)))
                .isInstanceOf(UnknownAccountException.class);
    }

    @Test
    void badArgumentsAreRefusedBeforeAnySql() {
        assertThatThrownBy(() -> sessions.transaction(ctx -> Accounts.open(ctx, " ", 0)))
                .hasMessage("owner must not be blank");
        assertThatThrownBy(() -> sessions.transaction(ctx -> Accounts.open(ctx, "x", -1)))
                .hasMessage("initialBalance must not be negative, but was -1");
        assertThatThrownBy(() -> sessions.transaction(ctx -> Transfers.transfer(ctx, 1, 2, 0, "k")))
                .hasMessage("amount must be positive, but was 0");
        assertThatThrownBy(() -> sessions.transaction(ctx -> Transfers.transfer(ctx, 1, 1, 5, "k")))
                .hasMessage("a transfer needs two different accounts, but both are 1");
        assertThatThrownBy(() -> sessions.transaction(ctx -> Transfers.transfer(ctx, 1, 2, 5, "k".repeat(201))))
                .hasMessage("idempotencyKey must be at most 200 characters, but has 201");
    }
}
