package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.Connection;
import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** Deadlines are enforced by the database and leave nothing committed and nothing behind. */
@DatabaseTest(migrations = {})
class DeadlineTest {

    private static final Duration DEADLINE = Duration.ofMillis(500);
    /** Slack for a loaded 2-core machine: the point is "bounded", not "fast". */
    private static final Duration MARGIN = Duration.ofSeconds(2);

    private final TestDatabase db;
    private SessionManager sessions;

    DeadlineTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE jobs (id integer PRIMARY KEY, state text NOT NULL)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE jobs");
        execute(db, "INSERT INTO jobs VALUES (1, 'new')");
        // One connection, so that "healthy afterwards" is about the very connection that timed out.
        sessions = Managers.on(db).maximumPoolSize(1).build();
        // Warm up jOOQ and the connection: on a cold JVM the first statement's class loading alone can outlast a
        // 500 ms deadline, which these tests want the server, not the client, to enforce.
        sessions.transaction(ctx -> ctx.execute("UPDATE jobs SET state = state WHERE id = 1"));
    }

    @AfterEach
    void stop() {
        sessions.close();
    }

    private static TransactionOptions deadline(String label) {
        return TransactionOptions.builder().deadline(DEADLINE).label(label).build();
    }

    @Test
    void statementRunningPastTheDeadlineIsCancelledByTheServer() {
        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(deadline("slow-report"), ctx -> {
            ctx.execute("INSERT INTO jobs VALUES (2, 'written before the sleep')");
            ctx.execute("SELECT pg_sleep(10)");
        }));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                .hasMessageContaining("'slow-report' exceeded its deadline of 500 ms")
                .hasMessageContaining("nothing was committed");
        assertThat(((TransactionTimeoutException) caught).deadline()).isEqualTo(DEADLINE);
        assertThat(caught.getCause()).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) caught.getCause()).sqlState()).isEqualTo("57014");
        assertThat(took).isLessThan(DEADLINE.plus(MARGIN));
        assertThat(rowCount(db, "jobs")).isEqualTo(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void waitingForALockPastTheDeadlineIsCancelledByTheServer() throws Exception {
        try (Connection holder = db.connect()) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT * FROM jobs WHERE id = 1 FOR UPDATE");

            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> sessions.transaction(deadline("blocked"),
                    ctx -> ctx.execute("UPDATE jobs SET state = 'taken' WHERE id = 1")));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("exceeded its deadline of 500 ms");
            assertThat(((DataAccessException) caught.getCause()).sqlState()).isIn("55P03", "57014");
            assertThat(took).isLessThan(DEADLINE.plus(MARGIN));
            holder.rollback();
        }
        assertThat(queryLong(db, "SELECT count(*) FROM jobs WHERE state = 'new'")).isEqualTo(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void deadlinePassedBetweenStatementsStopsTheNextOneBeforeItIsSent() {
        Throwable caught = catchThrowable(() -> sessions.transaction(deadline("slow-client"), ctx -> {
            ctx.execute("INSERT INTO jobs VALUES (3, 'first statement in time')");
            // Client-side work that outlasts the deadline (simulated).
            TimeUnit.MILLISECONDS.sleep(DEADLINE.toMillis() + 100);
            ctx.execute("INSERT INTO jobs VALUES (4, 'too late')");
        }));

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class).hasNoCause();
        assertThat(rowCount(db, "jobs")).isEqualTo(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void callbackThatReturnsAfterTheDeadlineIsNotCommitted() {
        Throwable caught = catchThrowable(() -> sessions.transaction(deadline("late-return"), ctx -> {
            ctx.execute("INSERT INTO jobs VALUES (5, 'returned too late')");
            TimeUnit.MILLISECONDS.sleep(DEADLINE.toMillis() + 100);
        }));

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class);
        assertThat(rowCount(db, "jobs")).isEqualTo(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void statementsWithinTheDeadlineRunUnderATimeoutOfTheTimeLeft() {
        // pg_settings reports both in milliseconds.
        Duration generous = Duration.ofSeconds(30);
        TransactionOptions options = TransactionOptions.builder().deadline(generous).build();
        long[] timeouts = sessions.transactionResult(options, ctx -> ctx.resultQuery(
                "SELECT setting::bigint FROM pg_settings WHERE name IN ('statement_timeout', 'lock_timeout')"
                        + " ORDER BY name DESC").fetch().stream().mapToLong(r -> r.get(0, Long.class)).toArray());

        assertThat(timeouts).hasSize(2);
        assertThat(timeouts[0]).as("statement_timeout").isPositive().isLessThanOrEqualTo(generous.toMillis());
        assertThat(timeouts[1]).as("lock_timeout").isPositive().isLessThanOrEqualTo(generous.toMillis());
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    private void assertConnectionHealthyWithoutLeftoverTimeout() {
        String[] settings = sessions.transactionResult(ctx -> new String[] {
                String.valueOf(ctx.fetchValue("SHOW statement_timeout")),
                String.valueOf(ctx.fetchValue("SHOW lock_timeout"))});
        assertThat(settings).as("SET LOCAL ended with the transaction").containsExactly("0", "0");
        db.assertNothingLeaked(sessions);
    }
}
