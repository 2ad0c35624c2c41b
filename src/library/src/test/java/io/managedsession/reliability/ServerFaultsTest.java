package io.managedsession.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;

import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionManager;
import io.managedsession.support.Bank;
import io.managedsession.support.OwnPostgres;

/**
 * A backend killed in the middle of a transaction, and the whole server stopped and started again under load, on an
 * embedded PostgreSQL of the test's own. A client-side journal of every transfer's outcome is checked against the
 * database afterwards.
 */
class ServerFaultsTest {

    private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(1);
    /** Slack for a loaded 2-core machine: the point is "bounded", not "fast". */
    private static final Duration MARGIN = Duration.ofSeconds(3);

    @TempDir
    Path dataDirectory;
    private OwnPostgres server;
    private SessionManager sessions;

    @BeforeEach
    void start() throws Exception {
        server = OwnPostgres.start(dataDirectory);
        server.execute("postgres", "CREATE DATABASE bank");
        sessions = SessionManager.builder().name("faults").jdbcUrl(server.jdbcUrl("bank")).username("postgres")
                .maximumPoolSize(6).connectionTimeout(CONNECTION_TIMEOUT).migrateOnStart(true)
                .migrationLocations(Bank.MIGRATIONS).build();
    }

    @AfterEach
    void stop() throws Exception {
        sessions.close();
        server.close();
    }

    private long count(String sql) throws Exception {
        try (Connection connection = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null);
             ResultSet rows = connection.createStatement().executeQuery(sql)) {
            rows.next();
            return rows.getLong(1);
        }
    }

    @Test
    void backendKilledMidTransactionFailsClearlyWritesNothingAndThePoolReplacesIt() throws Exception {
        long alice = sessions.transactionResult(ctx -> Bank.open(ctx, "alice", 100_00));
        long accountsBefore = count("SELECT count(*) FROM accounts");

        Throwable caught;
        try (Connection killer = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null)) {
            caught = catchThrowable(() -> sessions.transaction(ctx -> {
                Bank.open(ctx, "never committed", 5_00);
                Bank.deposit(ctx, alice, 1_00);
                int pid = ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
                try (PreparedStatement kill = killer.prepareStatement("SELECT pg_terminate_backend(?, 10000)")) {
                    kill.setInt(1, pid);
                    kill.execute();
                }
                Bank.deposit(ctx, alice, 2_00); // on a connection whose backend is gone
            }));
        }

        assertThat(caught).isInstanceOf(DataAccessException.class);
        assertThat(((DataAccessException) caught).sqlState()).matches("08...|57P0.");
        assertThat(count("SELECT count(*) FROM accounts")).isEqualTo(accountsBefore);
        assertThat(count("SELECT balance FROM accounts WHERE owner = 'alice'")).isEqualTo(100_00);
        for (int i = 0; i < 20; i++) {
            sessions.transaction(ctx -> Bank.deposit(ctx, alice, 1));
        }
        assertThat(count("SELECT balance FROM accounts WHERE owner = 'alice'")).isEqualTo(100_20);
        assertThat(((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean().getActiveConnections()).isZero();
    }

    @Test
    void backendKilledAndTheFailureSwallowedEndsInRollbackOnlyNotACommitFailure() throws Exception {
        long alice = sessions.transactionResult(ctx -> Bank.open(ctx, "alice", 100_00));
        long accountsBefore = count("SELECT count(*) FROM accounts");

        Throwable caught;
        try (Connection killer = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null)) {
            caught = catchThrowable(() -> sessions.transaction(ctx -> {
                Bank.open(ctx, "never committed", 5_00);
                int pid = ctx.select(field("pg_backend_pid()", Integer.class)).fetchSingle().value1();
                try (PreparedStatement kill = killer.prepareStatement("SELECT pg_terminate_backend(?, 10000)")) {
                    kill.setInt(1, pid);
                    kill.execute();
                }
                try {
                    Bank.deposit(ctx, alice, 2_00); // on a connection whose backend is gone
                } catch (DataAccessException swallowed) {
                    // The block carries on as if nothing happened.
                }
            }));
        }

        assertThat(caught).isInstanceOf(RollbackOnlyException.class)
                .hasMessageContaining("connection to the server was lost");
        assertThat(count("SELECT count(*) FROM accounts")).isEqualTo(accountsBefore);
        long balance = sessions.transactionResult(ctx -> Bank.balance(ctx, alice));
        assertThat(balance).isEqualTo(100_00);
        assertThat(((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean().getActiveConnections()).isZero();
    }

    enum Outcome { COMMITTED, FAILED, UNKNOWN }

    @Test
    void serverRestartUnderLoadLosesNothingReportedCommittedAndKeepsNothingReportedFailed() throws Exception {
        int accounts = 10;
        long[] ids = new long[accounts];
        for (int i = 0; i < accounts; i++) {
            int n = i;
            ids[i] = sessions.transactionResult(ctx -> Bank.open(ctx, "restart-" + n, 1_000_000_00L));
        }
        long totalBefore = count("SELECT sum(balance) FROM accounts");

        Map<String, Outcome> journal = new ConcurrentHashMap<>();
        AtomicBoolean running = new AtomicBoolean(true);
        AtomicInteger committed = new AtomicInteger();
        AtomicInteger failed = new AtomicInteger();
        AtomicLong slowestFailureNanos = new AtomicLong();
        int threads = 4;
        ExecutorService workers = Executors.newFixedThreadPool(threads);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int thread = t;
            futures.add(workers.submit(() -> {
                ThreadLocalRandom random = ThreadLocalRandom.current();
                for (int i = 0; running.get(); i++) {
                    String key = "restart-" + thread + "-" + i;
                    int from = random.nextInt(accounts);
                    int to = (from + 1 + random.nextInt(accounts - 1)) % accounts;
                    long start = System.nanoTime();
                    try {
                        sessions.transaction(ctx -> Bank.transfer(ctx, ids[from], ids[to], 1 + random.nextInt(100), key));
                        journal.put(key, Outcome.COMMITTED);
                        committed.incrementAndGet();
                    } catch (CommitOutcomeUnknownException e) {
                        journal.put(key, Outcome.UNKNOWN);
                    } catch (RuntimeException e) {
                        journal.put(key, Outcome.FAILED);
                        failed.incrementAndGet();
                        slowestFailureNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                    }
                }
                return null;
            }));
        }
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> committed.get() >= 200);
            server.stop();
            int failedBefore = failed.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> failed.get() >= failedBefore + 2 * threads);
            int committedDuringOutage = committed.get();
            server.restart();
            await().atMost(Duration.ofSeconds(60)).until(() -> committed.get() >= committedDuringOutage + 200);
        } finally {
            running.set(false);
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
            workers.shutdownNow();
        }

        Set<String> inDatabase = new HashSet<>();
        try (Connection connection = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null);
             ResultSet rows = connection.createStatement().executeQuery(
                     "SELECT idempotency_key FROM transfers WHERE idempotency_key LIKE 'restart-%'")) {
            while (rows.next()) {
                inDatabase.add(rows.getString(1));
            }
        }
        Set<String> reportedCommitted = keys(journal, Outcome.COMMITTED);
        Set<String> reportedFailed = keys(journal, Outcome.FAILED);
        Set<String> unknown = keys(journal, Outcome.UNKNOWN);
        Set<String> unknownButCommitted = new HashSet<>(unknown);
        unknownButCommitted.retainAll(inDatabase);
        Set<String> expected = new HashSet<>(reportedCommitted);
        expected.addAll(unknownButCommitted);

        System.out.printf("server restart under load: %d committed, %d failed (slowest failure %d ms), %d unknown"
                + " (%d of them committed)%n", reportedCommitted.size(), reportedFailed.size(),
                TimeUnit.NANOSECONDS.toMillis(slowestFailureNanos.get()), unknown.size(), unknownButCommitted.size());
        assertThat(inDatabase).as("exactly what was reported committed, plus unknown outcomes that did commit")
                .isEqualTo(expected);
        assertThat(inDatabase).as("nothing reported failed").doesNotContainAnyElementsOf(reportedFailed);
        assertThat(reportedFailed).as("the outage was seen").isNotEmpty();
        assertThat(Duration.ofNanos(slowestFailureNanos.get())).as("failures come fast, bounded by the connection"
                + " timeout, instead of hanging").isLessThan(CONNECTION_TIMEOUT.plus(MARGIN));
        assertThat(count("SELECT sum(balance) FROM accounts")).isEqualTo(totalBefore);
        assertThat(count("SELECT count(*) FROM entries WHERE transfer_id IS NOT NULL")).isEqualTo(2L * inDatabase.size());
    }

    private static Set<String> keys(Map<String, Outcome> journal, Outcome outcome) {
        Set<String> keys = new HashSet<>();
        journal.forEach((key, value) -> {
            if (value == outcome) {
                keys.add(key);
            }
        });
        return keys;
    }
}
