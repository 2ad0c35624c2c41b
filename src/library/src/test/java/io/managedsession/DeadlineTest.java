package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;

import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.IntStream;

import org.jooq.Cursor;
import org.jooq.Record;
import org.jooq.exception.DataAccessException;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.support.ConnectionsMade;
import io.managedsession.support.ForwardingJdbc;
import io.managedsession.support.HeldTransactions;
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
    /** The connections the pool of {@link #sessions} made. */
    private final ConnectionsMade connectionsMade = new ConnectionsMade();

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
        sessions = Managers.on(db).maximumPoolSize(1)
                .poolConfiguration(pool -> pool.setMetricsTrackerFactory(connectionsMade)).build();
        // Warm up jOOQ and the connection: on a cold JVM the first statement's class loading alone can outlast a
        // 500 ms deadline, which these tests want the server, not the client, to enforce.
        sessions.transaction(ctx -> ctx.execute("UPDATE jobs SET state = state WHERE id = 1"));
    }

    @AfterEach
    void stop() {
        if (sessions != null) { // null when the start was aborted (no PgBouncer for the run behind it)
            sessions.close();
        }
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
    void aLazyCursorReadPastTheDeadlineStopsAtItsNextRow() {
        List<Integer> read = new ArrayList<>();
        Throwable caught = catchThrowable(() -> sessions.transaction(deadline("export"), ctx -> {
            try (Cursor<Record> rows = ctx.resultQuery("SELECT g FROM generate_series(1, 1000) g").fetchSize(10)
                    .fetchLazy()) {
                for (Record row : rows) {
                    read.add(row.get(0, Integer.class));
                    if (read.size() == 1) {
                        // Client-side work on the first row that outlasts the deadline (simulated).
                        TimeUnit.MILLISECONDS.sleep(DEADLINE.toMillis() + 100);
                    }
                }
            }
        }));

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                .hasMessageContaining("'export' exceeded its deadline of 500 ms");
        assertThat(read).as("rows read after the deadline").containsExactly(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void eachFetchOfALazyCursorRunsUnderTimeoutsOfTheTimeLeftWhenItBegins() throws Exception {
        Duration deadline = Duration.ofSeconds(3);
        List<Long> timeouts = sessions.transactionResult(TransactionOptions.builder().deadline(deadline).build(),
                ctx -> {
                    List<Long> seen = new ArrayList<>();
                    // Each row reads the statement_timeout in force when the server makes it: with a fetch size,
                    // while the fetch that asked for it runs.
                    try (Cursor<Record> rows = ctx.resultQuery("SELECT (extract(epoch FROM"
                            + " current_setting('statement_timeout')::interval) * 1000)::bigint"
                            + " FROM generate_series(1, 10)").fetchSize(5).fetchLazy()) {
                        for (Record row : rows) {
                            seen.add(row.get(0, Long.class));
                            if (seen.size() == 5) {
                                // Client-side work on the first five rows that takes half the time (simulated).
                                TimeUnit.MILLISECONDS.sleep(deadline.toMillis() / 2);
                            }
                        }
                    }
                    return seen;
                });

        assertThat(timeouts).hasSize(10);
        assertThat(timeouts.get(0)).as("the first fetch, with the statement").isGreaterThan(2_500);
        assertThat(timeouts.get(5)).as("the second fetch, after half the time").isLessThanOrEqualTo(1_500);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void aCopyThroughTheDriversApiRunsUnderTimeoutsOfTheTimeLeftWhenItBegins() {
        Duration deadline = Duration.ofSeconds(3);
        long[] inForce = sessions.transactionResult(TransactionOptions.builder().deadline(deadline).build(),
                ctx -> ctx.connectionResult(connection -> {
                    // Client-side work that takes half the time (simulated), then a COPY as an import or export
                    // writes it: what the server holds it to is what it reads of its settings.
                    TimeUnit.MILLISECONDS.sleep(deadline.toMillis() / 2);
                    StringWriter out = new StringWriter();
                    connection.unwrap(PGConnection.class).getCopyAPI().copyOut("COPY (SELECT setting FROM pg_settings"
                            + " WHERE name IN ('statement_timeout', 'lock_timeout') ORDER BY name DESC) TO STDOUT", out);
                    return out.toString().lines().mapToLong(Long::parseLong).toArray();
                }));

        assertThat(inForce).hasSize(2);
        assertThat(inForce[0]).as("statement_timeout").isPositive().isLessThanOrEqualTo(deadline.toMillis() / 2);
        assertThat(inForce[1]).as("lock_timeout").isPositive().isLessThanOrEqualTo(deadline.toMillis() / 2);
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
        Duration generous = Duration.ofSeconds(30);
        TransactionOptions options = TransactionOptions.builder().deadline(generous).build();
        long[] timeouts = timeoutsInForce(sessions, options);

        assertThat(timeouts).hasSize(2);
        assertThat(timeouts[0]).as("statement_timeout").isPositive().isLessThanOrEqualTo(generous.toMillis());
        assertThat(timeouts[1]).as("lock_timeout").isPositive().isLessThanOrEqualTo(generous.toMillis());
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void aDeadlineNeverLengthensTheTimeoutsEachConnectionAlreadyHas() {
        // Caps a service gives every connection (here with connectionInitSql; ALTER ROLE ... SET and the URL's options
        // give the same): a deadline only ever shortens them. Straight to the server, since a pooler in transaction
        // mode would not keep a session's settings.
        try (SessionManager capped = db.sessionManagerBuilder().maximumPoolSize(1)
                .poolConfiguration(pool -> pool.setConnectionInitSql(
                        "SET statement_timeout = '400ms'; SET lock_timeout = '1min'")).build()) {
            TransactionOptions generous = TransactionOptions.builder().deadline(Duration.ofSeconds(20)).build();
            long[] inForce = timeoutsInForce(capped, generous);

            assertThat(inForce).hasSize(2);
            assertThat(inForce[0]).as("statement_timeout: the connection's, shorter than the deadline").isEqualTo(400);
            assertThat(inForce[1]).as("lock_timeout: the deadline's, shorter than the connection's")
                    .isPositive().isLessThanOrEqualTo(20_000);

            Throwable caught = catchThrowable(() -> capped.transaction(generous, ctx -> {
                ctx.execute("INSERT INTO jobs VALUES (7, 'capped')");
                ctx.execute("SELECT pg_sleep(30)");
            }));
            assertThat(caught).as("the connection's statement_timeout ended it, long before the deadline")
                    .isInstanceOf(DataAccessException.class).isNotInstanceOf(TransactionTimeoutException.class);
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("57014");
            assertThat(rowCount(db, "jobs")).isEqualTo(1);

            // After the transaction, the connection's own values are back.
            String after = capped.transactionResult(ctx -> ctx.fetchValue("SHOW statement_timeout") + " "
                    + ctx.fetchValue("SHOW lock_timeout"));
            assertThat(after).isEqualTo("400ms 1min");
        }
    }

    @Test
    void aShorterTimeoutTheBlockSetsItselfIsNotLengthenedByTheDeadline() {
        TransactionOptions generous = TransactionOptions.builder().deadline(Duration.ofSeconds(20)).build();
        String[] ways = {"SET LOCAL statement_timeout = '300ms'", "set local STATEMENT_TIMEOUT to 300",
            "SELECT set_config('statement_timeout', '300ms', true)"};
        for (String way : ways) {
            Throwable caught = catchThrowable(() -> sessions.transaction(generous, ctx -> {
                ctx.execute("INSERT INTO jobs VALUES (8, 'own timeout')");
                ctx.execute(way);
                // Time passes: the deadline's timeouts fall behind the time left and are set again before the next.
                ctx.execute("SELECT pg_sleep(0.1)");
                ctx.execute("SELECT pg_sleep(30)");
            }));

            assertThat(caught).as(way + ": the block's own 300 ms ended it, long before the 20 s deadline")
                    .isInstanceOf(DataAccessException.class).isNotInstanceOf(TransactionTimeoutException.class);
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("57014");
            assertThat(queryLong(db, "SELECT count(*) FROM jobs WHERE id = 8")).isZero();
        }
        // Through a prepared statement of the block's own, and with a shorter lock_timeout of its own beside it.
        long[] inForce = sessions.transactionResult(generous, ctx -> {
            ctx.connection(connection -> {
                try (var statement = connection.prepareStatement("SET LOCAL lock_timeout = '250ms'")) {
                    statement.execute();
                }
            });
            ctx.execute("SELECT pg_sleep(0.1)");
            return ctx.resultQuery("SELECT setting::bigint FROM pg_settings"
                    + " WHERE name IN ('statement_timeout', 'lock_timeout') ORDER BY name DESC").fetch().stream()
                    .mapToLong(r -> r.get(0, Long.class)).toArray();
        });
        assertThat(inForce[0]).as("statement_timeout: the deadline's").isBetween(15_000L, 20_000L);
        assertThat(inForce[1]).as("lock_timeout: the block's own").isEqualTo(250);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void deadlineHoldsAfterASavepointRollbackUndidTheShorterTimeoutSetInside() {
        Duration deadline = Duration.ofSeconds(3);
        TransactionOptions options = TransactionOptions.builder().deadline(deadline).label("after-savepoint").build();
        TransactionOptions nested = TransactionOptions.builder().propagation(Propagation.NESTED).build();

        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(options, ctx -> {
            ctx.execute("SELECT pg_sleep(2)");
            try {
                sessions.transaction(nested, part -> {
                    // Brings statement_timeout down to the second left, inside the savepoint ...
                    part.execute("INSERT INTO jobs VALUES (6, 'inside the savepoint')");
                    throw new IllegalStateException("roll the savepoint back");
                });
            } catch (IllegalStateException expected) {
                // ... and the rollback to the savepoint undid that: the server has 3 s in force again.
            }
            ctx.execute("SELECT pg_sleep(10)");
        }));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                .hasMessageContaining("'after-savepoint' exceeded its deadline of 3000 ms");
        assertThat(took).as("the deadline holds within a generous bound").isLessThan(deadline.plusMillis(1_500));
        assertThat(rowCount(db, "jobs")).isEqualTo(1);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void rawJdbcInsideTheTransactionIsHeldToTheDeadlineToo() {
        Duration deadline = Duration.ofSeconds(3);
        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder().deadline(deadline)
                .build(), ctx -> ctx.connection(connection -> {
                    try (Statement statement = connection.createStatement()) {
                        statement.execute("SELECT pg_sleep(2)");
                        // Two seconds later, on the same raw statement: the timeout must be the second left.
                        statement.execute("SELECT pg_sleep(10)");
                    }
                })));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class);
        assertThat(took).isLessThan(deadline.plusMillis(1_500));
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    /**
     * Ten inserts of 400 ms each in one JDBC batch. The server times each statement of a batch on its own, and sends
     * its answers when the batch is done: all ten fit a timeout of the second left when the batch begins, and the
     * batch as a whole would run four seconds.
     */
    private static TransactionConsumer<Exception> slowBatch() {
        return ctx -> ctx.connection(connection -> {
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO jobs SELECT ?, 'imported' FROM pg_sleep(0.4)")) {
                for (int id = 10; id < 20; id++) {
                    insert.setInt(1, id);
                    insert.addBatch();
                }
                insert.executeBatch();
            }
        });
    }

    @Test
    void aBatchWhoseStatementsEachFitTheTimeLeftButNotAllTogetherIsCancelledAtTheDeadline() {
        assertBatchCancelledAtTheDeadline("raw-import", slowBatch());
    }

    @Test
    void aBatchOnStatementsThatDoNotUnwrapToTheDriversIsCancelledByJdbcsQueryTimeoutInWholeSeconds() {
        List<Integer> queryTimeouts = Collections.synchronizedList(new ArrayList<>());
        HikariConfig config = new HikariConfig();
        // A user's tracing layer around the driver, whose wrappers unwrap to nothing.
        config.setDataSource(ForwardingJdbc.around(Managers.driver(db), (method, args) -> switch (method.getName()) {
            case "isWrapperFor" -> false;
            case "unwrap" -> throw new SQLException("Not a wrapper of " + args[0]);
            case "setQueryTimeout" -> {
                queryTimeouts.add((Integer) args[0]);
                yield ForwardingJdbc.FORWARD;
            }
            default -> ForwardingJdbc.FORWARD;
        }));
        config.setMaximumPoolSize(1);
        config.setMetricsTrackerFactory(connectionsMade);
        sessions.close();
        try (HikariDataSource pool = new HikariDataSource(config)) {
            sessions = SessionManager.builder().dataSource(pool).build();
            sessions.transaction(ctx -> ctx.execute("UPDATE jobs SET state = state WHERE id = 1"));

            assertBatchCancelledAtTheDeadline("traced-import", slowBatch());
            // The driver's millisecond timeout is out of reach: JDBC's, the second left rounded up.
            assertThat(queryTimeouts).containsExactly(1);
        } finally {
            sessions.close();
        }
    }

    @Test
    void batchesOfPreparedQueryAndJooqAreCancelledAtTheDeadlineToo() {
        PreparedQuery<Record> slowInsert = PreparedQuery.of(DSL.insertInto(DSL.table("jobs"))
                .select(DSL.select(DSL.param("id", Integer.class), DSL.inline("imported"))
                        .from(DSL.table("pg_sleep(0.4)"))), "id");
        List<Object[]> rows = new ArrayList<>();
        for (int id = 10; id < 20; id++) {
            rows.add(new Object[] {id});
        }
        assertBatchCancelledAtTheDeadline("import", ctx -> slowInsert.executeBatch(ctx, rows));
        // jOOQ's batch of different statements: a JDBC Statement's batch.
        assertBatchCancelledAtTheDeadline("jooq-import", ctx -> ctx.batch(rows.stream()
                .map(row -> DSL.query("INSERT INTO jobs SELECT " + row[0] + ", 'imported' FROM pg_sleep(0.4)"))
                .toList()).execute());
    }

    @Test
    void severalStatementsInOneSqlTextAreCancelledAtTheDeadlineAsABatchIs() {
        // The driver sends the statements of one text together, and the server times and answers them as a batch's.
        String tenStatements = IntStream.range(10, 20)
                .mapToObj(id -> "INSERT INTO jobs SELECT " + id + ", 'imported' FROM pg_sleep(0.4)")
                .collect(Collectors.joining(";\n"));
        assertBatchCancelledAtTheDeadline("script", ctx -> ctx.execute(tenStatements));
        assertBatchCancelledAtTheDeadline("raw-script", ctx -> ctx.connection(connection -> {
            try (PreparedStatement script = connection.prepareStatement(tenStatements)) {
                script.execute();
            }
        }));
    }

    @Test
    void aBatchWithinTheDeadlineCommitsAndAShorterQueryTimeoutOfTheStatementsOwnStays() {
        TransactionOptions generous = TransactionOptions.builder().deadline(Duration.ofSeconds(30)).label("own-timeout")
                .build();
        int[] inserted = sessions.transactionResult(generous, ctx -> ctx.connectionResult(connection -> {
            try (PreparedStatement insert = connection.prepareStatement("INSERT INTO jobs VALUES (?, 'batched')")) {
                for (int id = 10; id < 13; id++) {
                    insert.setInt(1, id);
                    insert.addBatch();
                }
                return insert.executeBatch();
            }
        }));
        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(generous, ctx -> ctx.connection(connection -> {
            try (PreparedStatement insert = connection.prepareStatement(
                    "INSERT INTO jobs SELECT ?, 'imported' FROM pg_sleep(0.4)")) {
                insert.setQueryTimeout(1);
                for (int id = 20; id < 30; id++) {
                    insert.setInt(1, id);
                    insert.addBatch();
                }
                insert.executeBatch();
            }
        })));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(inserted).containsExactly(1, 1, 1);
        // The statement's own second, not the deadline's thirty: a failure of the block's own, not a timeout.
        assertThat(caught).isNotInstanceOf(TransactionTimeoutException.class).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) caught).sqlState()).isEqualTo("57014");
        assertThat(took).isLessThan(Duration.ofSeconds(1).plus(MARGIN));
        assertThat(rowCount(db, "jobs")).isEqualTo(4);
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    /**
     * Runs {@code work}, ten statements of 400 ms each sent together, under a deadline of a second: the transaction
     * times out, the server stops running them when it does, and the connection goes back to the pool to be used
     * again.
     */
    private void assertBatchCancelledAtTheDeadline(String label, TransactionConsumer<Exception> work) {
        Object backend = sessions.transactionResult(ctx -> ctx.fetchValue("SELECT pg_backend_pid()"));
        int made = connectionsMade.count();
        Duration deadline = Duration.ofSeconds(1);
        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder().deadline(deadline)
                .label(label).build(), work));
        Duration took = Duration.ofNanos(System.nanoTime() - start);
        long stillRunning = queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE state = 'active'"
                + " AND query LIKE 'INSERT INTO jobs SELECT%'");

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                .hasMessageContaining("'" + label + "' exceeded its deadline of 1000 ms");
        assertThat(((DataAccessException) caught.getCause()).sqlState()).isEqualTo("57014");
        assertThat(took).isLessThan(deadline.plus(MARGIN));
        assertThat(stillRunning).as("backends still running the statements").isZero();
        assertThat(rowCount(db, "jobs")).isEqualTo(1);
        Object backendAfter = sessions.transactionResult(ctx -> ctx.fetchValue("SELECT pg_backend_pid()"));
        assertThat(connectionsMade.count()).as("the same connection, kept: none made to replace it").isEqualTo(made);
        if (!Managers.throughPgBouncer()) { // there the pid is the server connection PgBouncer lent, not the pool's
            assertThat(backendAfter).as("the same server session").isEqualTo(backend);
        }
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void waitingForAConnectionOfTheOwnedPoolEndsAtTheDeadline() throws Exception {
        Duration deadline = Duration.ofMillis(300);
        try (HeldTransactions held = HeldTransactions.hold(sessions, 1)) {
            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .deadline(deadline).label("queued").build(), ctx -> ctx.fetchValue("SELECT 1")));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("'queued' exceeded its deadline of 300 ms");
            assertThat(caught.getCause()).hasMessageContaining("total=1, active=1");
            assertThat(took).as("the connection timeout is 10 s; the deadline cuts the wait")
                    .isLessThan(deadline.plusMillis(1_500));
            held.release();
        }
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    /**
     * A transaction begun inside one with a deadline ({@code REQUIRES_NEW}, say an audit record written whatever the
     * request's outcome) runs while the request waits for it, so the request's deadline bounds it too.
     */
    @Test
    void aTransactionBegunInsideOneWithADeadlineEndsByThatDeadlineToo() {
        TransactionOptions audit = TransactionOptions.builder().propagation(Propagation.REQUIRES_NEW).label("audit")
                .build();
        try (SessionManager two = Managers.on(db).maximumPoolSize(2).build()) {
            two.transaction(ctx -> ctx.execute("UPDATE jobs SET state = state WHERE id = 1")); // warm, as above
            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> two.transaction(deadline("request"), ctx -> {
                ctx.execute("INSERT INTO jobs VALUES (2, 'the request')");
                two.transaction(audit, own -> {
                    own.execute("INSERT INTO jobs VALUES (3, 'the audit record')");
                    own.execute("SELECT pg_sleep(10)");
                });
            }));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("The transaction 'audit' ran past the deadline of 500 ms of the transaction"
                            + " 'request' it began in")
                    .hasMessageContaining("nothing was committed");
            assertThat(((TransactionTimeoutException) caught).deadline()).isEqualTo(DEADLINE);
            assertThat(((DataAccessException) caught.getCause()).sqlState()).isEqualTo("57014");
            assertThat(took).isLessThan(DEADLINE.plus(MARGIN));
            assertThat(rowCount(db, "jobs")).as("neither the request nor its audit record").isEqualTo(1);
            db.assertNothingLeaked(two);
        }
    }

    /**
     * Its wait for a connection too: here the request holds the pool's only one, the pool-starvation pattern, which
     * would otherwise keep the request waiting the whole connection timeout (10 s).
     */
    @Test
    void aTransactionBegunInsideOneWithADeadlineWaitsForAConnectionNoLongerThanThatDeadline() {
        TransactionOptions audit = TransactionOptions.builder().propagation(Propagation.REQUIRES_NEW).label("audit")
                .build();
        long start = System.nanoTime();
        Throwable caught = catchThrowable(() -> sessions.transaction(deadline("request"),
                ctx -> sessions.transaction(audit, own -> own.execute("INSERT INTO jobs VALUES (3, 'audit')"))));
        Duration took = Duration.ofNanos(System.nanoTime() - start);

        assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                .hasMessageContaining("The transaction 'audit' ran past the deadline of 500 ms of the transaction"
                        + " 'request' it began in");
        assertThat(caught.getCause()).as("what kept it waiting").isInstanceOf(ConnectionUnavailableException.class)
                .hasMessageContaining("This thread already holds 1 connection(s) of this pool");
        assertThat(took).isLessThan(DEADLINE.plus(MARGIN));
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void connectionThatComesAfterTheDeadlineGoesBackUnusedAndHealthy() throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.jdbcUrl());
        config.setUsername(db.username());
        config.setPassword(db.password());
        config.setMaximumPoolSize(1);
        try (HikariDataSource pool = new HikariDataSource(config);
             SessionManager onUsersPool = SessionManager.builder().dataSource(pool).build()) {
            Duration deadline = Duration.ofSeconds(1);
            int pid;
            Future<Throwable> late;
            ExecutorService waiter = Executors.newSingleThreadExecutor();
            try (Connection taken = pool.getConnection()) {
                pid = taken.unwrap(PGConnection.class).getBackendPID();
                long start = System.nanoTime();
                late = waiter.submit(() -> catchThrowable(() -> onUsersPool.transaction(TransactionOptions.builder()
                        .deadline(deadline).build(), ctx -> ctx.fetchValue("SELECT 1"))));
                // The pool, not ours, makes it wait: let the connection go only once the deadline has passed.
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> pool.getHikariPoolMXBean().getThreadsAwaitingConnection() == 1);
                await().atMost(Duration.ofSeconds(10))
                        .until(() -> System.nanoTime() - start > deadline.plusMillis(100).toNanos());
            } finally {
                waiter.shutdown();
            }

            assertThat(late.get(10, TimeUnit.SECONDS)).isInstanceOf(TransactionTimeoutException.class);
            Integer pidAfterwards = onUsersPool.transactionResult(ctx -> ctx.fetchValue(field("pg_backend_pid()",
                    Integer.class)));
            assertThat(pidAfterwards).as("the healthy connection was not evicted").isEqualTo(pid);
            assertThat(pool.getHikariPoolMXBean().getActiveConnections()).isZero();
        }
    }

    @Test
    void lockNotAvailableLongBeforeTheDeadlineReachesTheCallerAsTheBlockThrewItAndCanBeRetried() throws Exception {
        TransactionOptions options = TransactionOptions.builder().deadline(Duration.ofSeconds(30))
                .maxAttempts(2)
                .retryOn(failure -> failure instanceof DataAccessException e && "55P03".equals(e.sqlState())).build();
        List<Throwable> thrownByTheBlock = new ArrayList<>();
        try (Connection holder = db.connect()) {
            holder.setAutoCommit(false);
            holder.createStatement().execute("SELECT * FROM jobs WHERE id = 1 FOR UPDATE");

            Throwable caught = catchThrowable(() -> sessions.transaction(options, ctx -> {
                try {
                    ctx.execute("SELECT * FROM jobs WHERE id = 1 FOR UPDATE NOWAIT");
                } catch (DataAccessException e) {
                    thrownByTheBlock.add(e);
                    throw e;
                }
            }));

            assertThat(thrownByTheBlock).as("retried once, as retryOn says").hasSize(2);
            assertThat(caught).as("the very exception the block threw").isSameAs(thrownByTheBlock.get(1));
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("55P03");
            assertThat(caught.getSuppressed()).filteredOn(s -> !(s instanceof SessionException))
                    .containsExactly(thrownByTheBlock.get(0));
            assertThat(caught.getSuppressed()).filteredOn(SessionException.class::isInstance)
                    .singleElement().satisfies(diagnostics -> assertThat(diagnostics.getMessage())
                            .startsWith("Lock diagnostics: ").contains("FOR UPDATE"));
            holder.rollback();
        }
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    @Test
    void statementCancelledBySomeoneElseBeforeTheDeadlineIsNotATimeout() throws Exception {
        Throwable[] thrownByTheBlock = new Throwable[1];
        ExecutorService canceller = Executors.newSingleThreadExecutor();
        try {
            // The backend found by what it runs, not by the pid of an earlier transaction: behind PgBouncer in
            // transaction mode the next transaction may run on another server connection.
            String sleeping = "FROM pg_stat_activity WHERE datname = current_database()"
                    + " AND query LIKE 'SELECT pg_sleep(20)%' AND state = 'active'";
            Future<?> cancelled = canceller.submit(() -> {
                await().atMost(Duration.ofSeconds(10)).until(() -> queryLong(db, "SELECT count(*) " + sleeping) == 1);
                return queryLong(db, "SELECT count(*) " + sleeping + " AND pg_cancel_backend(pid)");
            });
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .deadline(Duration.ofSeconds(30)).build(), ctx -> {
                        try {
                            ctx.execute("SELECT pg_sleep(20)");
                        } catch (DataAccessException e) {
                            thrownByTheBlock[0] = e;
                            throw e;
                        }
                    }));
            cancelled.get(10, TimeUnit.SECONDS);

            assertThat(caught).isSameAs(thrownByTheBlock[0]).isInstanceOf(DataAccessException.class);
            assertThat(((DataAccessException) caught).sqlState()).isEqualTo("57014");
        } finally {
            canceller.shutdownNow();
        }
        assertConnectionHealthyWithoutLeftoverTimeout();
    }

    /** statement_timeout and lock_timeout, in that order, in a transaction with these options (pg_settings: ms). */
    private static long[] timeoutsInForce(SessionManager sessions, TransactionOptions options) {
        return sessions.transactionResult(options, ctx -> ctx.resultQuery(
                "SELECT setting::bigint FROM pg_settings WHERE name IN ('statement_timeout', 'lock_timeout')"
                        + " ORDER BY name DESC").fetch().stream().mapToLong(r -> r.get(0, Long.class)).toArray());
    }

    private void assertConnectionHealthyWithoutLeftoverTimeout() {
        String[] settings = sessions.transactionResult(ctx -> new String[] {
                String.valueOf(ctx.fetchValue("SHOW statement_timeout")),
                String.valueOf(ctx.fetchValue("SHOW lock_timeout"))});
        assertThat(settings).as("SET LOCAL ended with the transaction").containsExactly("0", "0");
        db.assertNothingLeaked(sessions);
    }
}
