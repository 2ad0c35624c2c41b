package io.managedsession.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.stream.Collectors;

import org.jooq.DSLContext;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;
import io.managedsession.support.TestGroups;

/**
 * A failover under load: eight threads of transfers against a primary with a synchronous standby, through a multi-host
 * URL ({@code targetServerType=primary}); the primary is killed ({@code pg_ctl stop -m immediate}) and the standby
 * promoted mid-run. A client-side journal of every transfer's outcome is then checked against the new primary.
 */
@Tag(TestGroups.OWN_SERVERS)
class FailoverTest {

    private static final int THREADS = 8;
    private static final int ACCOUNTS = 20;
    private static final long OPENING_BALANCE = 1_000;
    /** Commits on the old primary before the kill, and on the new one, before the run stops. */
    private static final int COMMITS_EACH_SIDE = 300;

    private static final TransactionOptions TRANSFER = TransactionOptions.builder()
            .label("transfer")
            .maxAttempts(20)
            .backoff(Duration.ofMillis(5), Duration.ofMillis(200))
            .deadline(Duration.ofSeconds(30))
            .build();

    enum Outcome { COMMITTED, FAILED, UNKNOWN }

    @Test
    void noAcknowledgedCommitIsLostAndTransfersThatLostTheirConnectionRunAgainOnTheNewPrimary() throws Exception {
        try (PostgresCluster cluster = PostgresCluster.builder().standbys(1).synchronousCommit(true).start();
             SessionManager sessions = SessionManager.builder()
                     .name("failover")
                     .jdbcUrl(cluster.failoverUrl("postgres"))
                     .username(cluster.username())
                     .maximumPoolSize(THREADS)
                     .connectionTimeout(Duration.ofSeconds(20))
                     .build()) {
            PostgresCluster.Node oldPrimary = cluster.primary();
            PostgresCluster.Node standby = cluster.standbys().get(0);
            sessions.transaction(ctx -> {
                ctx.execute("CREATE TABLE account (id int PRIMARY KEY, balance bigint NOT NULL)");
                ctx.execute("CREATE TABLE transfer (id uuid PRIMARY KEY, from_id int NOT NULL, to_id int NOT NULL,"
                        + " amount bigint NOT NULL)");
                ctx.execute("INSERT INTO account SELECT g, ? FROM generate_series(1, ?) g", OPENING_BALANCE,
                        ACCOUNTS);
            });
            AtomicInteger retried = new AtomicInteger();
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void attemptFailed(String managerName, TransactionOptions options, int attempt,
                        Throwable failure, boolean retrying) {
                    if (retrying) {
                        retried.incrementAndGet();
                    }
                }
            });

            Map<UUID, Outcome> journal = new ConcurrentHashMap<>();
            Map<String, AtomicInteger> failures = new ConcurrentHashMap<>();
            AtomicLong killedAt = new AtomicLong();
            AtomicLong firstCommitAfterKill = new AtomicLong(Long.MAX_VALUE);
            AtomicInteger commitsAfterKill = new AtomicInteger();
            CountDownLatch enoughBefore = new CountDownLatch(COMMITS_EACH_SIDE);
            CountDownLatch enoughAfter = new CountDownLatch(COMMITS_EACH_SIDE);
            AtomicBoolean stop = new AtomicBoolean();
            CyclicBarrier start = new CyclicBarrier(THREADS + 1);

            ExecutorService threads = Executors.newFixedThreadPool(THREADS);
            try {
                Future<?>[] running = new Future<?>[THREADS];
                for (int t = 0; t < THREADS; t++) {
                    running[t] = threads.submit(() -> {
                        start.await();
                        while (!stop.get()) {
                            UUID id = UUID.randomUUID();
                            try {
                                int server = sessions.transactionResult(TRANSFER, ctx -> transfer(ctx, id));
                                journal.put(id, Outcome.COMMITTED);
                                long now = System.nanoTime();
                                if (server == standby.port()) {
                                    firstCommitAfterKill.accumulateAndGet(now, Math::min);
                                    commitsAfterKill.incrementAndGet();
                                    enoughAfter.countDown();
                                } else {
                                    enoughBefore.countDown();
                                }
                            } catch (CommitOutcomeUnknownException e) {
                                journal.put(id, Outcome.UNKNOWN);
                            } catch (RuntimeException e) {
                                journal.put(id, Outcome.FAILED);
                                failures.computeIfAbsent(e.getClass().getSimpleName() + ": " + e.getMessage(),
                                        k -> new AtomicInteger()).incrementAndGet();
                            }
                        }
                        return null;
                    });
                }
                start.await();
                assertThat(enoughBefore.await(60, TimeUnit.SECONDS)).as("commits before the kill").isTrue();

                killedAt.set(System.nanoTime());
                oldPrimary.kill();
                standby.promote();
                long promotedAt = System.nanoTime();
                assertThat(enoughAfter.await(60, TimeUnit.SECONDS)).as("commits after the failover").isTrue();
                stop.set(true);
                for (Future<?> thread : running) {
                    thread.get(60, TimeUnit.SECONDS);
                }

                Map<Outcome, Long> outcomes = journal.values().stream()
                        .collect(Collectors.groupingBy(o -> o, Collectors.counting()));
                Set<UUID> onNewPrimary = transferIds(standby);
                long unknownPresent = journal.entrySet().stream()
                        .filter(e -> e.getValue() == Outcome.UNKNOWN && onNewPrimary.contains(e.getKey())).count();

                assertThat(cluster.primary()).isSameAs(standby);
                journal.forEach((id, outcome) -> {
                    if (outcome == Outcome.COMMITTED) {
                        assertThat(onNewPrimary).as("a transfer reported committed").contains(id);
                    } else if (outcome == Outcome.FAILED) {
                        assertThat(onNewPrimary).as("a transfer reported failed").doesNotContain(id);
                    }
                });
                assertThat(onNewPrimary).as("no transfer the journal does not know").allMatch(journal::containsKey);
                assertThat(failures).as("failures other than an unknown commit outcome").isEmpty();
                assertThat(retried).as("attempts that lost their connection and ran again").hasPositiveValue();
                assertBalancesMatchTheTransfers(standby);

                System.out.printf("failover: kill to promotion %d ms, kill to first commit %d ms; committed %d"
                        + " (%d after the kill), commit outcome unknown %d (%d of them committed), failed %d,"
                        + " attempts run again %d%n",
                        TimeUnit.NANOSECONDS.toMillis(promotedAt - killedAt.get()),
                        TimeUnit.NANOSECONDS.toMillis(firstCommitAfterKill.get() - killedAt.get()),
                        outcomes.getOrDefault(Outcome.COMMITTED, 0L), commitsAfterKill.get(),
                        outcomes.getOrDefault(Outcome.UNKNOWN, 0L), unknownPresent,
                        outcomes.getOrDefault(Outcome.FAILED, 0L), retried.get());
            } finally {
                stop.set(true);
                threads.shutdownNow();
            }
        }
    }

    /** Moves a random amount between two random accounts; returns the port of the server it ran on. */
    private static int transfer(DSLContext ctx, UUID id) {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int from = random.nextInt(1, ACCOUNTS + 1);
        int to = 1 + (from + random.nextInt(ACCOUNTS - 1)) % ACCOUNTS;
        long amount = random.nextLong(1, 10);
        ctx.execute("UPDATE account SET balance = balance - ? WHERE id = ?", amount, from);
        ctx.execute("UPDATE account SET balance = balance + ? WHERE id = ?", amount, to);
        return ctx.fetchOne("INSERT INTO transfer VALUES (?, ?, ?, ?) RETURNING inet_server_port()", id, from,
                to, amount).get(0, Integer.class);
    }

    private static Set<UUID> transferIds(PostgresCluster.Node node) throws SQLException {
        try (Connection connection = node.connect("postgres"); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT id FROM transfer")) {
            Set<UUID> ids = new java.util.HashSet<>();
            while (rows.next()) {
                ids.add(rows.getObject(1, UUID.class));
            }
            return ids;
        }
    }

    /** Every account holds its opening balance plus what the recorded transfers brought in, minus what they took. */
    private static void assertBalancesMatchTheTransfers(PostgresCluster.Node node) throws SQLException {
        Map<Integer, Long> expected = new HashMap<>();
        Map<Integer, Long> actual = new HashMap<>();
        try (Connection connection = node.connect("postgres")) {
            try (PreparedStatement statement = connection.prepareStatement("SELECT a.id, ? + coalesce((SELECT"
                    + " sum(amount) FROM transfer WHERE to_id = a.id), 0) - coalesce((SELECT sum(amount) FROM transfer"
                    + " WHERE from_id = a.id), 0), a.balance FROM account a")) {
                statement.setLong(1, OPENING_BALANCE);
                try (ResultSet rows = statement.executeQuery()) {
                    while (rows.next()) {
                        expected.put(rows.getInt(1), rows.getLong(2));
                        actual.put(rows.getInt(1), rows.getLong(3));
                    }
                }
            }
        }
        assertThat(actual).hasSize(ACCOUNTS).isEqualTo(expected);
        assertThat(actual.values().stream().mapToLong(Long::longValue).sum()).isEqualTo(ACCOUNTS * OPENING_BALANCE);
    }
}
