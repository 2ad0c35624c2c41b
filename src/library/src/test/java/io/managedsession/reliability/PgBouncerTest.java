package io.managedsession.reliability;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import java.time.Duration;
import java.util.Map;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.Isolation;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.internal.SqlStates;
import io.managedsession.support.HeldTransactions;
import io.managedsession.support.Managers;
import io.managedsession.support.PgBouncer;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * Behind PgBouncer 1.18 in transaction pooling mode, consecutive transactions of one client connection run on
 * whichever server connection is free: nothing may live in the server session. Shown here with the driver's named
 * prepared statements (broken without {@code transactionPooler(true)}, fine with it) and with every setting the
 * manager makes for a transaction.
 */
@DatabaseTest(migrations = {})
class PgBouncerTest {

    private static PgBouncer bouncer;
    private final TestDatabase db;

    PgBouncerTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void start(TestDatabase db) {
        bouncer = PgBouncer.inFrontOf(db);
        execute(db, "CREATE TABLE note (id integer PRIMARY KEY, body text NOT NULL)",
                "INSERT INTO note SELECT g, 'note ' || g FROM generate_series(1, 10) g");
    }

    @AfterAll
    static void stop() {
        if (bouncer != null) {
            bouncer.close();
        }
    }

    private SessionManager.Builder throughBouncer() {
        return Managers.via(db, bouncer.jdbcUrl(db.name())).maximumPoolSize(1);
    }

    private static String body(DSLContext ctx, int id) {
        return ctx.select(field("body", String.class)).from(table("note")).where(field("id").eq(id)).fetchSingle()
                .value1();
    }

    /**
     * Runs one statement often enough for the driver to prepare it by name on the server connection it has now, then
     * has another client take that server connection and runs the statement once more.
     */
    private static String interleave(SessionManager sessions, SessionManager other) throws Exception {
        for (int i = 1; i <= 6; i++) {
            int id = i;
            sessions.transaction(ctx -> body(ctx, id));
        }
        try (HeldTransactions holding = HeldTransactions.hold(other, 1)) {
            return sessions.transactionResult(ctx -> body(ctx, 7));
        }
    }

    /**
     * Lets the transaction sit idle until PgBouncer's {@code idle_transaction_timeout} ends it: PgBouncer closes the
     * client's connection ({@code FATAL: idle transaction timeout}, SQLSTATE 08P01) and the server connection under it,
     * which rolls the transaction back. Waits until that server connection is gone.
     */
    private void idleUntilTheBouncerEndsTheTransaction(DSLContext ctx) {
        int serverPid = ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
        await().atMost(Duration.ofSeconds(30))
                .until(() -> queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + serverPid) == 0);
    }

    @Test
    void aCommitAfterTheBouncersIdleTransactionTimeoutReportsARollbackNotAnUnknownOutcome() {
        execute(db, "CREATE TABLE IF NOT EXISTS idled (id integer PRIMARY KEY)", "TRUNCATE idled");
        AtomicBoolean rolledBack = new AtomicBoolean();
        try (PgBouncer strict = PgBouncer.inFrontOf(db, Map.of("idle_transaction_timeout", "1"));
             SessionManager sessions = Managers.via(db, strict.jdbcUrl(db.name())).transactionPooler(true).build()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
                sessions.afterRollback(() -> rolledBack.set(true));
                ctx.execute("INSERT INTO idled VALUES (1)");
                idleUntilTheBouncerEndsTheTransaction(ctx);
            }));

            // PgBouncer ended the transaction before COMMIT reached it: certainly rolled back.
            assertThat(caught).isExactlyInstanceOf(DataAccessException.class)
                    .hasMessageContaining("rolled back").hasMessageContaining("idle transaction timeout");
            assertThat(rolledBack).isTrue();
            assertThat(queryLong(db, "SELECT count(*) FROM idled")).isZero();
            db.assertNothingLeaked(sessions);
            sessions.transaction(ctx -> ctx.execute("INSERT INTO idled VALUES (2)"));
            assertThat(queryLong(db, "SELECT count(*) FROM idled")).isOne();
        }
    }

    @Test
    void aStatementAfterTheBouncersIdleTransactionTimeoutIsNotRunAgain() {
        AtomicInteger attempts = new AtomicInteger();
        try (PgBouncer strict = PgBouncer.inFrontOf(db, Map.of("idle_transaction_timeout", "1"));
             SessionManager sessions = Managers.via(db, strict.jdbcUrl(db.name())).transactionPooler(true).build()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(
                    TransactionOptions.builder().maxAttempts(3).build(), ctx -> {
                        attempts.incrementAndGet();
                        idleUntilTheBouncerEndsTheTransaction(ctx);
                        ctx.execute("SELECT 1");
                    }));

            assertThat(caught).isInstanceOf(DataAccessException.class).hasMessageContaining("idle transaction timeout");
            assertThat(SqlStates.sqlState(caught)).isEqualTo("08P01");
            assertThat(attempts).as("the pooler's limit on the block, as the server's: not run again").hasValue(1);
            assertThat(caught.getSuppressed()).isEmpty();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void withoutTheSwitchTheDriversNamedPreparedStatementsBreakWhenAnotherClientTakesTheServerConnection() {
        try (SessionManager sessions = throughBouncer().build(); SessionManager other = throughBouncer().build()) {
            Throwable caught = catchThrowable(() -> interleave(sessions, other));

            assertThat(caught).isInstanceOf(DataAccessException.class).hasMessageContaining("does not exist");
            assertThat(SqlStates.sqlState(caught)).isEqualTo("26000");
        }
    }

    @Test
    void withTheSwitchTheSameInterleavingWorks() throws Exception {
        try (SessionManager sessions = throughBouncer().transactionPooler(true).build();
             SessionManager other = throughBouncer().transactionPooler(true).build()) {
            assertThat(interleave(sessions, other)).isEqualTo("note 7");
            assertThat(sessions.toString()).contains("transactionPooler");
        }
    }

    @Test
    void noSettingOfATransactionReachesTheNextTransactionOnItsServerConnection() throws Exception {
        TransactionOptions everything = TransactionOptions.builder()
                .isolation(Isolation.SERIALIZABLE).readOnly(true).deadline(Duration.ofSeconds(7)).label("settings")
                .build();
        try (SessionManager sessions = throughBouncer().transactionPooler(true).labelInApplicationName(true).build();
             SessionManager other = throughBouncer().transactionPooler(true).name("other").build()) {
            int[] backends = new int[2];
            sessions.transaction(everything, ctx -> {
                backends[0] = backend(ctx);
                assertThat(ctx.fetchValue("SHOW transaction_isolation")).isEqualTo("serializable");
                assertThat(ctx.fetchValue("SHOW statement_timeout")).isNotEqualTo("0");
            });

            // With the first manager idle, the other client is given the same server connection.
            other.transaction(ctx -> {
                backends[1] = backend(ctx);
                assertThat(ctx.fetchValue("SHOW transaction_isolation")).isEqualTo("read committed");
                assertThat(ctx.fetchValue("SHOW transaction_read_only")).isEqualTo("off");
                assertThat(ctx.fetchValue("SHOW statement_timeout")).isEqualTo("0");
                assertThat(ctx.fetchValue("SHOW lock_timeout")).isEqualTo("0");
                assertThat(ctx.fetchValue("SHOW application_name")).isEqualTo("other");
            });
            assertThat(backends[1]).as("the same server connection served both").isEqualTo(backends[0]);
        }
    }

    @Test
    void theContractHoldsThroughTheBouncer() {
        execute(db, "CREATE TABLE IF NOT EXISTS ledger (id integer PRIMARY KEY)");
        try (SessionManager sessions = throughBouncer().transactionPooler(true).maximumPoolSize(2).build()) {
            sessions.transaction(ctx -> ctx.execute("INSERT INTO ledger VALUES (1)"));
            catchThrowable(() -> sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO ledger VALUES (2)");
                throw new IllegalStateException("roll back");
            }));
            sessions.transaction(ctx -> sessions.transaction(inner -> inner.execute("INSERT INTO ledger VALUES (3)")));

            assertThat(queryLong(db, "SELECT count(*) FROM ledger")).isEqualTo(2);
            assertThat(queryLong(db, "SELECT count(*) FROM ledger WHERE id = 2")).isZero();
        }
    }

    @Test
    void migrationsRunThroughTheBouncerToo() throws Exception {
        db.server().dropDatabase("behind_bouncer");
        db.server().createDatabase("behind_bouncer", null);
        try (SessionManager sessions = Managers.via(db, bouncer.jdbcUrl("behind_bouncer")).transactionPooler(true)
                .migrateOnStart(true).migrationLocations("classpath:db/bank").build()) {
            long accounts = sessions.transactionResult(ctx -> (long) ctx.fetchCount(table("accounts")));
            assertThat(accounts).isZero();
        } finally {
            db.server().dropDatabase("behind_bouncer");
        }
    }

    @Test
    void aDataSourceThatWouldPrepareStatementsByNameIsRefusedWithTheSettingToChange() {
        PGSimpleDataSource named = dataSourceThroughBouncer();
        assertThatThrownBy(() -> SessionManager.builder().dataSource(named).transactionPooler(true).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("prepareThreshold=5").hasMessageContaining("prepareThreshold=0");

        PGSimpleDataSource unnamed = dataSourceThroughBouncer();
        unnamed.setPrepareThreshold(0);
        try (SessionManager sessions = SessionManager.builder().dataSource(unnamed).transactionPooler(true).build()) {
            String first = sessions.transactionResult(ctx -> body(ctx, 1));
            assertThat(first).isEqualTo("note 1");
        }
    }

    private PGSimpleDataSource dataSourceThroughBouncer() {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(bouncer.jdbcUrl(db.name()));
        dataSource.setUser(db.username());
        if (db.password() != null) {
            dataSource.setPassword(db.password());
        }
        return dataSource;
    }

    private static int backend(DSLContext ctx) {
        return ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
    }
}
