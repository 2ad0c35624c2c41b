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
import java.util.concurrent.locks.LockSupport;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.RollbackOnlyException;
import io.managedsession.SessionManager;
import io.managedsession.support.Bank;
import io.managedsession.support.OwnPostgres;
import io.managedsession.support.TestGroups;

/**
 * A backend killed in the middle of a transaction, and the whole server stopped and started again under load, on an
 * embedded PostgreSQL of the test's own. A client-side journal of every transfer's outcome is checked against the
 * database afterwards.
 */
@Tag(TestGroups.OWN_SERVERS)
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

    /**
     * What callers were told, transfer by transfer, while the server was being hurt; checked against the database
     * afterwards. Workers run transfers between the accounts until stopped.
     */
    private final class Journal {

        final Map<String, Outcome> outcomes = new ConcurrentHashMap<>();
        final Map<String, String> unknownMessages = new ConcurrentHashMap<>();
        final AtomicInteger committed = new AtomicInteger();
        final AtomicInteger failed = new AtomicInteger();
        final AtomicLong slowestFailureNanos = new AtomicLong();
        private final AtomicBoolean running = new AtomicBoolean(true);
        private final List<Future<?>> futures = new ArrayList<>();
        private final ExecutorService workers;

        /**
         * Starts {@code threads} workers transferring between {@code ids} through {@code manager}, each transfer
         * keyed {@code prefix-thread-i}; {@code beforeTransfer} runs first in each transaction.
         */
        Journal(SessionManager manager, long[] ids, int threads, String prefix,
                java.util.function.Consumer<org.jooq.DSLContext> beforeTransfer) {
            workers = Executors.newFixedThreadPool(threads);
            for (int t = 0; t < threads; t++) {
                int thread = t;
                futures.add(workers.submit(() -> {
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; running.get(); i++) {
                        String key = prefix + "-" + thread + "-" + i;
                        int from = random.nextInt(ids.length);
                        int to = (from + 1 + random.nextInt(ids.length - 1)) % ids.length;
                        long start = System.nanoTime();
                        try {
                            manager.transaction(ctx -> {
                                beforeTransfer.accept(ctx);
                                Bank.transfer(ctx, ids[from], ids[to], 1 + random.nextInt(100), key);
                            });
                            outcomes.put(key, Outcome.COMMITTED);
                            committed.incrementAndGet();
                        } catch (CommitOutcomeUnknownException e) {
                            outcomes.put(key, Outcome.UNKNOWN);
                            unknownMessages.put(key, e.getMessage());
                        } catch (RuntimeException e) {
                            outcomes.put(key, Outcome.FAILED);
                            failed.incrementAndGet();
                            slowestFailureNanos.accumulateAndGet(System.nanoTime() - start, Math::max);
                        }
                    }
                    return null;
                }));
            }
        }

        void stop() throws Exception {
            running.set(false);
            for (Future<?> future : futures) {
                future.get(60, TimeUnit.SECONDS);
            }
            workers.shutdownNow();
        }

        Set<String> keys(Outcome outcome) {
            Set<String> keys = new HashSet<>();
            outcomes.forEach((key, value) -> {
                if (value == outcome) {
                    keys.add(key);
                }
            });
            return keys;
        }

        /**
         * Checks the database against what callers were told: exactly the transfers reported committed are there,
         * plus unknown ones that did commit, nothing reported failed, and no money made or lost. Returns the unknowns
         * that committed.
         */
        Set<String> checkAgainstDatabase(String prefix, long totalBefore) throws Exception {
            Set<String> inDatabase = new HashSet<>();
            try (Connection connection = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null);
                 ResultSet rows = connection.createStatement().executeQuery(
                         "SELECT idempotency_key FROM transfers WHERE idempotency_key LIKE '" + prefix + "-%'")) {
                while (rows.next()) {
                    inDatabase.add(rows.getString(1));
                }
            }
            Set<String> unknownButCommitted = new HashSet<>(keys(Outcome.UNKNOWN));
            unknownButCommitted.retainAll(inDatabase);
            Set<String> expected = new HashSet<>(keys(Outcome.COMMITTED));
            expected.addAll(unknownButCommitted);
            assertThat(inDatabase).as("exactly what was reported committed, plus unknown outcomes that did commit")
                    .isEqualTo(expected);
            // A run may have no failed transfer at all (every kill landed during a COMMIT, or a retry carried it):
            // AssertJ's doesNotContainAnyElementsOf refuses an empty set, so each element is looked at instead.
            Set<String> failedKeys = keys(Outcome.FAILED);
            assertThat(inDatabase).as("nothing reported failed").noneMatch(failedKeys::contains);
            assertThat(count("SELECT sum(balance) FROM accounts")).isEqualTo(totalBefore);
            assertThat(count("SELECT count(*) FROM entries WHERE transfer_id IS NOT NULL"))
                    .isEqualTo(2L * count("SELECT count(*) FROM transfers"));
            return unknownButCommitted;
        }
    }

    private long[] openAccounts(SessionManager manager, String prefix, int accounts) {
        long[] ids = new long[accounts];
        for (int i = 0; i < accounts; i++) {
            int n = i;
            ids[i] = manager.transactionResult(ctx -> Bank.open(ctx, prefix + "-" + n, 1_000_000_00L));
        }
        return ids;
    }

    /**
     * Backends are killed under load, many of them while their COMMIT is in flight: the server is set to wait for a
     * synchronous standby that does not exist, and a fifth of the commits ask for it ({@code synchronous_commit = on};
     * the embedded server has it off): they wait until the killer ends them, committed locally but never acknowledged.
     * Without resolution those are commit-unknowns; with it, the server is asked and says they committed.
     */
    @ParameterizedTest(name = "resolveCommitOutcomes({0})")
    @ValueSource(booleans = {false, true})
    void backendsKilledWhileCommittingUnderLoadLeaveUnknownsOnlyWithoutResolution(boolean resolve) throws Exception {
        String prefix = "kill-" + resolve;
        long[] ids = openAccounts(sessions, prefix, 10);
        long totalBefore = count("SELECT sum(balance) FROM accounts");
        server.execute("postgres", "ALTER SYSTEM SET synchronous_standby_names = 'nobody'", "SELECT pg_reload_conf()");
        AtomicInteger killedAtCommit = new AtomicInteger();
        AtomicInteger killedElsewhere = new AtomicInteger();
        try (SessionManager manager = SessionManager.builder().name("killed").jdbcUrl(server.jdbcUrl("bank"))
                .username("postgres").maximumPoolSize(6).connectionTimeout(Duration.ofSeconds(5))
                .resolveCommitOutcomes(resolve).build();
             Connection killer = DriverManager.getConnection(server.jdbcUrl("bank"), "postgres", null);
             PreparedStatement atCommit = killer.prepareStatement("SELECT count(*) FILTER (WHERE"
                     + " pg_terminate_backend(pid)) FROM pg_stat_activity WHERE application_name = 'killed'"
                     + " AND wait_event = 'SyncRep'");
             PreparedStatement elsewhere = killer.prepareStatement("SELECT count(*) FILTER (WHERE"
                     + " pg_terminate_backend(pid)) FROM (SELECT pid FROM pg_stat_activity WHERE application_name ="
                     + " 'killed' AND state <> 'idle' AND wait_event IS DISTINCT FROM 'SyncRep' LIMIT 1) one")) {
            Journal journal = new Journal(manager, ids, 4, prefix, ctx -> {
                // The embedded server runs with synchronous_commit off: these wait for the standby.
                if (ThreadLocalRandom.current().nextInt(5) == 0) {
                    ctx.execute("SET LOCAL synchronous_commit = on");
                }
            });
            try {
                long giveUp = System.nanoTime() + TimeUnit.MINUTES.toNanos(2);
                long nextKillElsewhere = System.nanoTime();
                while (killedAtCommit.get() < 20 || journal.committed.get() < 200) {
                    killedAtCommit.addAndGet(count(atCommit));
                    if (System.nanoTime() - nextKillElsewhere > 0) {
                        // Now and then a backend in the middle of its work, too: a failure before COMMIT.
                        killedElsewhere.addAndGet(count(elsewhere));
                        nextKillElsewhere = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(250);
                    }
                    // Pacing, not synchronization: the killer leaves the 2 cores to the load it watches.
                    LockSupport.parkNanos(TimeUnit.MILLISECONDS.toNanos(1));
                    assertThat(System.nanoTime() - giveUp).as("20 kills during COMMIT and 200 commits within 2"
                            + " minutes; so far " + killedAtCommit + " and " + journal.committed).isNegative();
                }
            } finally {
                // Releases the commits still waiting for the standby, so that the workers can stop.
                server.execute("postgres", "ALTER SYSTEM RESET synchronous_standby_names", "SELECT pg_reload_conf()");
                journal.stop();
            }

            Set<String> unknownButCommitted = journal.checkAgainstDatabase(prefix, totalBefore);
            int unknown = journal.keys(Outcome.UNKNOWN).size();
            System.out.printf("backends killed under load, resolveCommitOutcomes(%s): %d killed during COMMIT, %d"
                    + " elsewhere; %d committed, %d failed, %d commit-unknown (%d of them committed)%n", resolve,
                    killedAtCommit.get(), killedElsewhere.get(), journal.committed.get(), journal.failed.get(),
                    unknown, unknownButCommitted.size());
            if (resolve) {
                assertThat(unknown).as("the server could always be asked").isZero();
            } else {
                assertThat(unknown).as("kills during COMMIT leave the outcome unknown").isPositive();
            }
        }
    }

    private static int count(PreparedStatement statement) throws Exception {
        try (ResultSet row = statement.executeQuery()) {
            row.next();
            return row.getInt(1);
        }
    }

    @ParameterizedTest(name = "resolveCommitOutcomes({0})")
    @ValueSource(booleans = {false, true})
    void serverRestartUnderLoadLosesNothingReportedCommittedAndKeepsNothingReportedFailed(boolean resolve)
            throws Exception {
        String prefix = "restart-" + resolve;
        long[] ids = openAccounts(sessions, prefix, 10);
        long totalBefore = count("SELECT sum(balance) FROM accounts");
        int threads = 4;
        SessionManager manager = resolve ? SessionManager.builder().name("faults-resolving")
                .jdbcUrl(server.jdbcUrl("bank")).username("postgres").maximumPoolSize(6)
                .connectionTimeout(CONNECTION_TIMEOUT).resolveCommitOutcomes(true).build() : sessions;
        Journal journal = new Journal(manager, ids, threads, prefix, ctx -> { });
        AtomicInteger committed = journal.committed;
        AtomicInteger failed = journal.failed;
        try {
            await().atMost(Duration.ofSeconds(60)).until(() -> committed.get() >= 200);
            server.stop();
            int failedBefore = failed.get();
            await().atMost(Duration.ofSeconds(60)).until(() -> failed.get() >= failedBefore + 2 * threads);
            int committedDuringOutage = committed.get();
            server.restart();
            await().atMost(Duration.ofSeconds(60)).until(() -> committed.get() >= committedDuringOutage + 200);
        } finally {
            journal.stop();
            if (manager != sessions) {
                manager.close();
            }
        }

        Set<String> unknownButCommitted = journal.checkAgainstDatabase(prefix, totalBefore);
        Set<String> unknown = journal.keys(Outcome.UNKNOWN);
        System.out.printf("server restart under load, resolveCommitOutcomes(%s): %d committed, %d failed (slowest"
                + " failure %d ms), %d commit-unknown (%d of them committed)%n", resolve, committed.get(), failed.get(),
                TimeUnit.NANOSECONDS.toMillis(journal.slowestFailureNanos.get()), unknown.size(),
                unknownButCommitted.size());
        assertThat(journal.keys(Outcome.FAILED)).as("the outage was seen").isNotEmpty();
        assertThat(Duration.ofNanos(journal.slowestFailureNanos.get())).as("failures come fast, bounded by the"
                + " connection timeout, instead of hanging").isLessThan(CONNECTION_TIMEOUT.plus(MARGIN));
        if (resolve) {
            assertThat(journal.unknownMessages.values()).as("with resolution, an outcome stays unknown only when"
                    + " the server could not be asked").allSatisfy(message -> assertThat(message)
                            .contains("could not ask the server").contains("gave up after"));
        }
    }
}
