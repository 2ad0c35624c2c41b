package io.managedsession.ledger;

import static io.managedsession.ledger.schema.Tables.ACCOUNTS;
import static io.managedsession.support.SecondConnection.execute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import io.managedsession.PreparedQuery;
import io.managedsession.SessionManager;
import io.managedsession.ledger.schema.tables.records.AccountsRecord;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The generated classes' records as jOOQ users work with them, loaded, changed and stored: through the DSL or a
 * PreparedQuery they come back untouched, so store() writes only what was set since; within one transaction it joins
 * that transaction; a record kept past its transaction is refused with a message that says how to attach it to the
 * running one, and then writes there.
 */
@DatabaseTest
class AccountRecordsTest {

    private static final PreparedQuery<AccountsRecord> LOAD = PreparedQuery.of(
            DSL.selectFrom(ACCOUNTS).where(ACCOUNTS.AID.eq(DSL.param("aid", Long.class))), "aid");

    private static SessionManager sessions;
    private final TestDatabase db;

    AccountRecordsTest(TestDatabase db) {
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

    private AccountsRecord row(long id) {
        return sessions.transactionResult(ctx -> ctx.fetchSingle(ACCOUNTS, ACCOUNTS.AID.eq(id)));
    }

    @Test
    void recordsLoadedThroughTheDslAndAPreparedQueryAreTheSameAndUntouched() {
        long id = sessions.transactionResult(ctx -> Accounts.open(ctx, "dora", 10_00));

        AccountsRecord viaDsl = row(id);
        AccountsRecord viaPrepared = sessions.transactionResult(ctx -> LOAD.fetchOne(ctx, id));

        assertThat(viaPrepared).isEqualTo(viaDsl);
        assertThat(viaPrepared.touched()).isFalse();
        assertThat(viaDsl.touched()).isFalse();
        assertThat(viaPrepared.original()).isEqualTo(viaDsl.original());
    }

    @Test
    void storeWithinTheTransactionWritesOnlyWhatWasSetAndRollsBackWithIt() {
        long id = sessions.transactionResult(ctx -> Accounts.open(ctx, "erin", 10_00));

        sessions.transaction(ctx -> {
            AccountsRecord account = LOAD.fetchOne(ctx, id);
            // Another transaction changes the balance meanwhile; storing the owner must not write the balance back.
            execute(db, "UPDATE accounts SET abalance = 99 WHERE aid = " + id);
            account.setOwner("erin b.");
            assertThat(account.store()).isEqualTo(1);
        });
        Throwable failed = catchThrowable(() -> sessions.transaction(ctx -> {
            AccountsRecord account = LOAD.fetchOne(ctx, id);
            account.setOwner("lost");
            account.store();
            throw new IllegalStateException("the caller gives up");
        }));

        assertThat(failed).hasMessage("the caller gives up");
        assertThat(row(id).getOwner()).isEqualTo("erin b.");
        assertThat(row(id).getAbalance()).isEqualTo(99L);
    }

    @Test
    void aRecordKeptPastItsTransactionIsRefusedWithHowToAttachItAndThenStoresInTheRunningOne() {
        long id = sessions.transactionResult(ctx -> Accounts.open(ctx, "fay", 10_00));
        AccountsRecord kept = sessions.transactionResult(ctx -> LOAD.fetchOne(ctx, id));
        kept.setOwner("fay c.");

        Throwable refused = catchThrowable(() -> sessions.transaction(ctx -> kept.store()));
        Throwable outside = catchThrowable(kept::store);
        sessions.transaction(ctx -> {
            ctx.attach(kept);
            assertThat(kept.store()).isEqualTo(1);
        });

        assertThat(refused).isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("that has already ended (committed)")
                .hasMessageContaining("A record fetched in that transaction stays attached to it: pass it to"
                        + " ctx.attach(...) in the running transaction before store(), update(), delete() or refresh()");
        assertThat(outside).isInstanceOf(IllegalStateException.class).hasMessage(refused.getMessage());
        assertThat(row(id).getOwner()).isEqualTo("fay c.");
        db.assertNothingLeaked(sessions);
    }
}
