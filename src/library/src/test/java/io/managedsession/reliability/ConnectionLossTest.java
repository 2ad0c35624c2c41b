package io.managedsession.reliability;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.junit.jupiter.api.Assumptions.assumeTrue;
import static org.jooq.impl.DSL.field;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicBoolean;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.internal.SqlStates;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A transaction whose connection is lost before COMMIT (here: its backend terminated, as a server shutdown or a
 * failover does) cannot have committed: it runs again on a fresh connection when its options allow, and the pool
 * replaces its other connections, which likely reach the same dead server. A session the server ends for a limit of
 * its own (an idle or a transaction timeout) fails with the server's reason, is not run again, and costs the pool only
 * that connection.
 */
@DatabaseTest(migrations = {})
class ConnectionLossTest {

    private final TestDatabase db;

    ConnectionLossTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE attempts (attempt integer PRIMARY KEY, backend integer NOT NULL)");
    }

    @BeforeEach
    void empty() {
        execute(db, "TRUNCATE attempts");
    }

    private static int backend(DSLContext ctx) {
        return ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
    }

    /** Writes a row, then has the server terminate this very connection (SQLSTATE 57P01 on the next use). */
    private static void writeThenLoseTheConnection(DSLContext ctx, int attempt) {
        ctx.execute("INSERT INTO attempts VALUES (?, pg_backend_pid())", attempt);
        ctx.execute("SELECT pg_terminate_backend(pg_backend_pid())");
        ctx.execute("SELECT 1");
    }

    @Test
    void aTransactionWhoseConnectionIsLostBeforeCommitRunsAgainOnAFreshConnection() {
        List<Integer> backends = new CopyOnWriteArrayList<>();
        try (SessionManager sessions = Managers.on(db).build()) {
            int attempts = sessions.transactionResult(TransactionOptions.builder().maxAttempts(2).build(), ctx -> {
                int attempt = backends.size() + 1;
                backends.add(backend(ctx));
                if (attempt == 1) {
                    writeThenLoseTheConnection(ctx, attempt);
                }
                ctx.execute("INSERT INTO attempts VALUES (?, pg_backend_pid())", attempt);
                return attempt;
            });

            assertThat(attempts).isEqualTo(2);
            assertThat(backends).hasSize(2).doesNotHaveDuplicates();
            assertThat(queryLong(db, "SELECT count(*) FROM attempts WHERE attempt = 1")).as("the lost attempt's row")
                    .isZero();
            assertThat(queryLong(db, "SELECT backend FROM attempts WHERE attempt = 2")).isEqualTo(backends.get(1).longValue());
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void withOneAttemptTheCallerGetsTheLostConnectionAndNothingIsWritten() {
        try (SessionManager sessions = Managers.on(db).build()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> writeThenLoseTheConnection(ctx, 1)));

            assertThat(caught).isInstanceOf(DataAccessException.class);
            assertThat(SqlStates.sqlState(caught)).isEqualTo("57P01");
            assertThat(queryLong(db, "SELECT count(*) FROM attempts")).isZero();
            assertThat(sessions.transactionResult(ConnectionLossTest::backend)).isPositive();
        }
    }

    @Test
    void aConnectionThatBreaksRetiresThePoolsOtherConnections() throws SQLException {
        try (SessionManager sessions = Managers.on(db).name("retiring").maximumPoolSize(3).build()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> poolBackends("retiring").size() == 3);
            Set<Integer> before = poolBackends("retiring");

            catchThrowable(() -> sessions.transaction(ctx -> writeThenLoseTheConnection(ctx, 1)));

            await().atMost(Duration.ofSeconds(10)).until(() -> {
                Set<Integer> now = poolBackends("retiring");
                return now.size() == 3 && now.stream().noneMatch(before::contains);
            });
            assertThat(sessions.transactionResult(ConnectionLossTest::backend)).isNotIn(before);
        }
    }

    @Test
    void aStatementThatFailsOnAHealthyConnectionRetiresNothing() throws SQLException {
        try (SessionManager sessions = Managers.on(db).name("keeping").maximumPoolSize(3).build()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> poolBackends("keeping").size() == 3);
            Set<Integer> before = poolBackends("keeping");

            catchThrowable(() -> sessions.transaction(ctx -> ctx.execute("SELECT 1 / 0")));
            for (int i = 0; i < 3; i++) {
                sessions.transaction(ConnectionLossTest::backend);
            }

            assertThat(poolBackends("keeping")).isEqualTo(before);
        }
    }

    /**
     * Lets this transaction sit idle until the server ends its session, as a server's
     * {@code idle_in_transaction_session_timeout} does to a block that waits on something else (a slow HTTP call, a
     * pause) with a transaction open; DBAs commonly set it. Waits until the backend is gone, and returns its pid.
     */
    private int idleUntilTheServerEndsTheSession(DSLContext ctx) {
        int pid = backend(ctx);
        ctx.execute("SET LOCAL idle_in_transaction_session_timeout = '100ms'");
        await().atMost(Duration.ofSeconds(10))
                .until(() -> queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == 0);
        return pid;
    }

    @Test
    void aStatementAfterTheServerEndedAnIdleTransactionFailsWithTheServersReasonAndIsNotRetried() throws SQLException {
        List<Integer> attempts = new CopyOnWriteArrayList<>();
        List<Integer> ended = new CopyOnWriteArrayList<>();
        AtomicBoolean rolledBack = new AtomicBoolean();
        try (SessionManager sessions = Managers.on(db).name("idling").maximumPoolSize(3).build()) {
            await().atMost(Duration.ofSeconds(10)).until(() -> poolBackends("idling").size() == 3);
            Set<Integer> before = poolBackends("idling");

            Throwable caught = catchThrowable(() -> sessions.transaction(
                    TransactionOptions.builder().maxAttempts(3).build(), ctx -> {
                        attempts.add(attempts.size() + 1);
                        sessions.afterRollback(() -> rolledBack.set(true));
                        ctx.execute("INSERT INTO attempts VALUES (?, pg_backend_pid())", attempts.size());
                        ended.add(idleUntilTheServerEndsTheSession(ctx));
                        ctx.execute("SELECT 1");
                    }));

            assertThat(caught).isInstanceOf(DataAccessException.class)
                    .hasMessageContaining("terminating connection due to idle-in-transaction timeout");
            assertThat(SqlStates.sqlState(caught)).isEqualTo("25P03");
            assertThat(caught.getSuppressed()).as("nothing left to roll back where the server ended the session")
                    .isEmpty();
            assertThat(attempts).as("the server's limit on the block, not a passing fault: not run again").hasSize(1);
            assertThat(rolledBack).isTrue();
            assertThat(queryLong(db, "SELECT count(*) FROM attempts")).isZero();
            db.assertNothingLeaked(sessions);
            // The ended session's connection is replaced; the pool's others reach a healthy server and are kept.
            assertThat(sessions.transactionResult(ConnectionLossTest::backend)).isPositive();
            Set<Integer> others = new HashSet<>(before);
            others.removeAll(ended);
            assertThat(others).hasSize(2);
            assertThat(poolBackends("idling")).containsAll(others);
        }
    }

    @Test
    void aCommitAfterTheServerEndedAnIdleTransactionReportsARollbackNotAnUnknownOutcome() {
        AtomicBoolean rolledBack = new AtomicBoolean();
        AtomicBoolean committed = new AtomicBoolean();
        try (SessionManager sessions = Managers.on(db).resolveCommitOutcomes(true).build()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
                sessions.afterRollback(() -> rolledBack.set(true));
                sessions.afterCommit(() -> committed.set(true));
                ctx.execute("INSERT INTO attempts VALUES (1, pg_backend_pid())");
                idleUntilTheServerEndsTheSession(ctx);
            }));

            // The server ended the transaction before COMMIT reached it: certainly rolled back, whatever the socket.
            // (Asking for outcomes, the manager reads the transaction's id first, and that is what fails.)
            assertThat(caught).isExactlyInstanceOf(DataAccessException.class)
                    .hasMessageContaining("rolled back").hasMessageContaining("(SQLSTATE 25P03)")
                    .hasMessageContaining("terminating connection due to idle-in-transaction timeout");
            assertThat(caught.getSuppressed()).isEmpty();
            assertThat(rolledBack).isTrue();
            assertThat(committed).isFalse();
            assertThat(queryLong(db, "SELECT count(*) FROM attempts")).isZero();
            db.assertNothingLeaked(sessions);
            assertThat(sessions.transactionResult(ConnectionLossTest::backend)).isPositive();
        }
    }

    @Test
    void aTransactionPastTheServersTransactionTimeoutFailsWithItsReason() {
        // transaction_timeout came with PostgreSQL 17; the container run's server is older.
        assumeTrue(queryLong(db, "SELECT current_setting('server_version_num')::int") >= 170000,
                "transaction_timeout needs PostgreSQL 17 or newer");
        try (SessionManager sessions = Managers.on(db).build()) {
            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
                ctx.execute("INSERT INTO attempts VALUES (1, pg_backend_pid())");
                int pid = backend(ctx);
                ctx.execute("SET LOCAL transaction_timeout = '100ms'");
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE pid = " + pid) == 0);
                ctx.execute("SELECT 1");
            }));

            assertThat(caught).isInstanceOf(DataAccessException.class)
                    .hasMessageContaining("terminating connection due to transaction timeout");
            assertThat(SqlStates.sqlState(caught)).isEqualTo("25P04");
            assertThat(caught.getSuppressed()).isEmpty();
            assertThat(queryLong(db, "SELECT count(*) FROM attempts")).isZero();
            db.assertNothingLeaked(sessions);
            assertThat(sessions.transactionResult(ConnectionLossTest::backend)).isPositive();
        }
    }

    /** The server processes of a pool, found by its application_name. */
    private Set<Integer> poolBackends(String applicationName) throws SQLException {
        Set<Integer> pids = new HashSet<>();
        try (Connection connection = db.connect();
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT pid FROM pg_stat_activity WHERE application_name = '"
                     + applicationName + "'")) {
            while (rows.next()) {
                pids.add(rows.getInt(1));
            }
        }
        return pids;
    }
}
