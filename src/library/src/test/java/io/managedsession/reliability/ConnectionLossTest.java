package io.managedsession.reliability;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
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
 * replaces its other connections, which likely reach the same dead server.
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
