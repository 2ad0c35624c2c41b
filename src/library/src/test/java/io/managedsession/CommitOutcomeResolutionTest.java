package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Bank;
import io.managedsession.support.CommitCuttingProxy;
import io.managedsession.support.CommitCuttingProxy.Cut;
import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.support.RoundTrips;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * With {@code resolveCommitOutcomes(true)}, a COMMIT whose connection fails is resolved by asking the server: the
 * proxy cuts the connection exactly at COMMIT (after the server committed, before it saw the COMMIT, or by going
 * silent), and the caller gets the real outcome. The ledger's invariant is checked after each: money is neither made
 * nor lost, every balance is the sum of its entries, and a transfer is in the ledger at most once.
 */
@DatabaseTest(migrations = Bank.MIGRATIONS)
class CommitOutcomeResolutionTest {

    private static final long OPENING = 1_000_00;

    private final TestDatabase db;
    private CommitCuttingProxy proxy;
    private SessionManager direct;
    private SessionManager sessions;
    private long alice;
    private long bob;

    CommitOutcomeResolutionTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeEach
    void start() throws Exception {
        proxy = CommitCuttingProxy.toServerOf(db);
        direct = Managers.on(db).build();
        sessions = viaProxy().resolveCommitOutcomes(true).build();
        alice = direct.transactionResult(ctx -> Bank.open(ctx, "alice", OPENING));
        bob = direct.transactionResult(ctx -> Bank.open(ctx, "bob", OPENING));
    }

    @AfterEach
    void stop() throws Exception {
        // Each may be null when the start was aborted (no PgBouncer for the run behind it).
        if (sessions != null) {
            sessions.close();
        }
        if (direct != null) {
            direct.close();
        }
        if (proxy != null) {
            proxy.close();
        }
    }

    private SessionManager.Builder viaProxy() {
        return Managers.via(db, "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name()
                + "?sslmode=disable&gssEncMode=disable&prepareThreshold=0").maximumPoolSize(1);
    }

    @Test
    void commitCutAfterTheServerCommittedReturnsTheCallbacksResultAndRunsAfterCommitOnce() {
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger afterCommit = new AtomicInteger();
        AtomicInteger afterRollback = new AtomicInteger();

        long transfer;
        try (LogCapture log = LogCapture.everything()) {
            transfer = sessions.transactionResult(ctx -> {
                runs.incrementAndGet();
                long id = Bank.transfer(ctx, alice, bob, 25_00, "after-commit");
                sessions.afterCommit(afterCommit::incrementAndGet);
                sessions.afterRollback(afterRollback::incrementAndGet);
                proxy.cutAtNextCommit(Cut.AFTER_SERVER_COMMITS);
                return id;
            });
            assertThat(log.lines()).anySatisfy(line -> assertThat(line).contains("WARN")
                    .contains("the server says it committed").contains("pg_xact_status(").contains("= 'committed'"));
        }

        assertThat(runs).hasValue(1);
        assertThat(afterCommit).hasValue(1);
        assertThat(afterRollback).hasValue(0);
        assertThat(transferIdOf("after-commit")).isEqualTo(transfer);
        assertLedgerKept(OPENING - 25_00, OPENING + 25_00);
    }

    @Test
    void commitCutBeforeTheServerSawItIsRolledBackAndARetryingTransactionCommitsOnce() {
        TransactionOptions retrying = TransactionOptions.builder().maxAttempts(3).label("before").build();
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger afterCommit = new AtomicInteger();
        AtomicInteger afterRollback = new AtomicInteger();

        long transfer = sessions.transactionResult(retrying, ctx -> {
            long id = Bank.transfer(ctx, alice, bob, 10_00, "before-commit");
            sessions.afterCommit(afterCommit::incrementAndGet);
            sessions.afterRollback(afterRollback::incrementAndGet);
            if (runs.incrementAndGet() == 1) {
                proxy.cutAtNextCommit(Cut.BEFORE_SERVER_SEES_COMMIT);
            }
            return id;
        });

        assertThat(runs).as("the first attempt rolled back, the second committed").hasValue(2);
        assertThat(afterRollback).hasValue(1);
        assertThat(afterCommit).hasValue(1);
        assertThat(transferIdOf("before-commit")).isEqualTo(transfer);
        assertThat(transfersWithKey("before-commit")).isEqualTo(1);
        assertLedgerKept(OPENING - 10_00, OPENING + 10_00);
    }

    @Test
    void commitCutBeforeTheServerSawItIsAnOrdinaryRetryableFailureWithoutRetries() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            Bank.transfer(ctx, alice, bob, 10_00, "aborted");
            proxy.cutAtNextCommit(Cut.BEFORE_SERVER_SEES_COMMIT);
        }));

        assertThat(caught).isInstanceOf(DataAccessException.class).isNotInstanceOf(CommitOutcomeUnknownException.class)
                .hasMessageContaining("the server says it rolled back")
                .hasMessageContaining("= 'aborted'");
        assertThat(TransactionOptions.isTransientFailure(caught)).as("maxAttempts may run it again").isTrue();
        assertThat(transfersWithKey("aborted")).isZero();
        assertLedgerKept(OPENING, OPENING);
    }

    @Test
    void aBackendStillHoldingTheTransactionIsEndedAndTheTransactionRunsAgain() {
        // The network path of one connection fails at COMMIT: the server never hears it, and its backend waits on,
        // holding the transaction (and the accounts' row locks) open until it is ended.
        try (SessionManager withSocketTimeout = viaProxy().resolveCommitOutcomes(true)
                .socketTimeout(Duration.ofSeconds(2)).build()) {
            AtomicInteger runs = new AtomicInteger();
            String account;
            try (LogCapture log = LogCapture.everything()) {
                withSocketTimeout.transaction(TransactionOptions.builder().maxAttempts(2).build(), ctx -> {
                    Bank.transfer(ctx, alice, bob, 5_00, "swallowed");
                    if (runs.incrementAndGet() == 1) {
                        proxy.cutAtNextCommit(Cut.SWALLOW_COMMIT);
                    }
                });
                account = log.lines().stream().filter(line -> line.contains("the server says it rolled back"))
                        .findFirst().orElseThrow();
            }

            assertThat(account).contains("= 'in progress'").contains("ended backend pid").contains("= 'aborted'");
            assertThat(runs).hasValue(2);
            assertThat(transfersWithKey("swallowed")).isEqualTo(1);
            assertLedgerKept(OPENING - 5_00, OPENING + 5_00);
        }
    }

    @Test
    void aNetworkSilentUntilTheDeadlineLeavesTheOutcomeUnknownAndSaysWhatWasTried() throws Exception {
        TransactionOptions twoSeconds = TransactionOptions.builder().deadline(Duration.ofSeconds(2)).maxAttempts(3)
                .retryOn(failure -> true).build();
        AtomicInteger runs = new AtomicInteger();

        Throwable caught = catchThrowable(() -> sessions.transaction(twoSeconds, ctx -> {
            runs.incrementAndGet();
            Bank.transfer(ctx, alice, bob, 1_00, "silent");
            proxy.cutAtNextCommit(Cut.SILENCE_AT_COMMIT);
        }));

        assertThat(caught).isInstanceOf(CommitOutcomeUnknownException.class)
                .hasMessageContaining("the server could not tell whether it committed")
                .hasMessageContaining("could not ask the server")
                .hasMessageContaining("gave up after")
                .hasMessageContaining("not retried");
        assertThat(runs).as("an unknown outcome is never retried").hasValue(1);
        // Ending the silence ends the held transaction: the server never received its COMMIT.
        proxy.close();
        await().atMost(Duration.ofSeconds(20)).until(() -> direct.transactionResult(ctx -> ctx.fetchCount(
                ctx.selectFrom("pg_stat_activity").where("backend_xid IS NOT NULL AND pid <> pg_backend_pid()"
                        + " AND datname = current_database()"))) == 0);
        assertThat(transfersWithKey("silent")).isZero();
        assertLedgerKept(OPENING, OPENING);
    }

    @Test
    void aTransactionThatWroteNothingHasNothingToLose() {
        Long balance = sessions.transactionResult(ctx -> {
            long read = Bank.balance(ctx, alice);
            proxy.cutAtNextCommit(Cut.BEFORE_SERVER_SEES_COMMIT);
            return read;
        });

        assertThat(balance).isEqualTo(OPENING);
    }

    @Test
    void resolutionCostsAReadWriteTransactionOneRoundTripAndAReadOnlyOneNone() {
        AtomicInteger plain = new AtomicInteger();
        AtomicInteger resolving = new AtomicInteger();
        try (SessionManager without = SessionManager.builder().dataSource(counting(plain)).build();
             SessionManager with = SessionManager.builder().dataSource(counting(resolving))
                     .resolveCommitOutcomes(true).build()) {
            without.transaction(ctx -> Bank.deposit(ctx, alice, 1));
            with.transaction(ctx -> Bank.deposit(ctx, alice, 1));
            assertThat(plain).as("UPDATE (with BEGIN), INSERT, COMMIT").hasValue(3);
            assertThat(resolving).as("the same and the transaction id before COMMIT").hasValue(4);

            plain.set(0);
            resolving.set(0);
            without.transaction(TransactionOptions.readOnly(), ctx -> Bank.balance(ctx, alice));
            with.transaction(TransactionOptions.readOnly(), ctx -> Bank.balance(ctx, alice));
            assertThat(resolving).as("a read-only transaction has nothing to lose").hasValue(plain.get());

            resolving.set(0);
            with.transaction(TransactionOptions.builder().resolveCommitOutcome(false).build(),
                    ctx -> Bank.deposit(ctx, alice, 1));
            assertThat(resolving).as("turned off for one transaction").hasValue(3);
        }
    }

    private javax.sql.DataSource counting(AtomicInteger roundTrips) {
        return RoundTrips.counting(Managers.driver(db), roundTrips);
    }

    private Long transferIdOf(String key) {
        return direct.transactionResult(ctx -> ctx.fetchOptional("SELECT id FROM transfers WHERE idempotency_key = ?",
                key).map(row -> row.get(0, Long.class)).orElse(null));
    }

    private int transfersWithKey(String key) {
        return direct.transactionResult(ctx -> ctx.fetchSingle(
                "SELECT count(*) FROM transfers WHERE idempotency_key = ?", key).get(0, Integer.class));
    }

    private void assertLedgerKept(long aliceBalance, long bobBalance) {
        direct.transaction(ctx -> {
            assertThat(Bank.balance(ctx, alice)).isEqualTo(aliceBalance);
            assertThat(Bank.balance(ctx, bob)).isEqualTo(bobBalance);
            assertThat(Bank.entriesMatchBalances(ctx)).as("every balance is the sum of its entries").isTrue();
        });
    }
}
