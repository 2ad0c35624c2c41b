package io.managedsession.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.stream.IntStream;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.CommitPosition;
import io.managedsession.CompletedTransaction;
import io.managedsession.Route;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;
import io.managedsession.support.TestGroups;

/**
 * Read-your-writes through the commit position, against a standby that applies every commit 30 ms late
 * ({@code recovery_min_apply_delay}): with the position every read sees its write; without it the lag shows.
 */
@Tag(TestGroups.OWN_SERVERS)
class ReadYourWritesTest {

    private static final Duration LAG = Duration.ofMillis(30);
    private static final int THREADS = 4;

    private static PostgresCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = PostgresCluster.builder().standbys(1).standbyApplyDelay(LAG).start();
        try (SessionManager sessions = ReadReplicasTest.managerOn(cluster).build()) {
            sessions.transaction(ctx -> ctx.execute("CREATE TABLE note (id int PRIMARY KEY, thread int NOT NULL)"));
        }
        cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    /** What one thread's write-then-read pairs saw. */
    record Pairs(int seen, int missed) {
    }

    /**
     * Runs {@code pairs} write-then-read pairs on {@link #THREADS} threads, each inserting a row and then counting it
     * in a read-only transaction; with {@code withPosition}, the read carries the write's commit position.
     */
    private static Pairs run(SessionManager sessions, int pairs, int firstId, boolean withPosition) throws Exception {
        CyclicBarrier start = new CyclicBarrier(THREADS);
        ExecutorService pool = Executors.newFixedThreadPool(THREADS);
        try {
            List<Future<Pairs>> results = IntStream.range(0, THREADS).mapToObj(thread -> pool.submit(() -> {
                start.await();
                int seen = 0;
                for (int i = thread; i < pairs; i += THREADS) {
                    int id = firstId + i;
                    sessions.transaction(ctx -> ctx.insertInto(table("note"), field("id"), field("thread"))
                            .values(id, thread).execute());
                    TransactionOptions.Builder read = TransactionOptions.readOnly().toBuilder();
                    if (withPosition) {
                        read.notBefore(sessions.lastCommitPosition().orElseThrow());
                    }
                    seen += sessions.transactionResult(read.build(), ctx -> ctx.fetchCount(table("note"),
                            field("id").eq(id)));
                }
                int mine = (pairs - thread + THREADS - 1) / THREADS;
                return new Pairs(seen, mine - seen);
            })).toList();
            int seen = 0;
            int missed = 0;
            for (Future<Pairs> result : results) {
                seen += result.get().seen();
                missed += result.get().missed();
            }
            return new Pairs(seen, missed);
        } finally {
            pool.shutdownNow();
        }
    }

    private static Map<Route, AtomicInteger> countRoutes(SessionManager sessions) {
        Map<Route, AtomicInteger> routes = new ConcurrentHashMap<>();
        sessions.addObserver(new TransactionObserver() {
            @Override
            public void transactionCompleted(CompletedTransaction transaction) {
                if (transaction.readOnly()) {
                    routes.computeIfAbsent(transaction.route(), r -> new AtomicInteger()).incrementAndGet();
                }
            }
        });
        return routes;
    }

    @Test
    void aThousandReadsWithTheirWritesCommitPositionAllSeeTheirWrite() throws Exception {
        try (SessionManager sessions = ReadReplicasTest.managerOn(cluster).maximumPoolSize(THREADS).build()) {
            Map<Route, AtomicInteger> routes = countRoutes(sessions);

            Pairs pairs = run(sessions, 1_000, 0, true);

            assertThat(pairs).isEqualTo(new Pairs(1_000, 0));
            assertThat(routes.get(Route.REPLICA)).as("reads that waited for the replica rather than the primary")
                    .hasPositiveValue();
            int onReplica = routes.getOrDefault(Route.REPLICA, new AtomicInteger()).get();
            int onPrimary = routes.getOrDefault(Route.PRIMARY_FALLBACK, new AtomicInteger()).get();
            assertThat(onReplica + onPrimary).isEqualTo(1_000);
            System.out.printf("read-your-writes: 1000 pairs through a replica %d ms behind: all saw their write,"
                    + " %d on the replica, %d on the primary%n", LAG.toMillis(), onReplica, onPrimary);
        }
    }

    @Test
    void withoutTheCommitPositionTheReplicasLagIsVisible() throws Exception {
        try (SessionManager sessions = ReadReplicasTest.managerOn(cluster).maximumPoolSize(THREADS).build()) {
            Pairs pairs = run(sessions, 200, 10_000, false);

            assertThat(pairs.missed()).as("reads on the replica that missed the write just made").isPositive();
        }
    }

    @Test
    void aReplicaThatDoesNotCatchUpInTimeSendsTheReadToThePrimary() throws Exception {
        try (SessionManager sessions = ReadReplicasTest.managerOn(cluster).replicaCatchUpTimeout(Duration.ZERO)
                .build();
             Connection standby = cluster.standbys().get(0).connect("postgres");
             Statement replay = standby.createStatement()) {
            // Replay paused: the replica cannot have caught up, however slow the machine is between write and read.
            replay.execute("SELECT pg_wal_replay_pause()");
            try {
                Map<Route, AtomicInteger> routes = countRoutes(sessions);
                sessions.transaction(ctx -> ctx.insertInto(table("note"), field("id"), field("thread"))
                        .values(20_000, 0).execute());
                CommitPosition position = sessions.lastCommitPosition().orElseThrow();

                int seen = sessions.transactionResult(TransactionOptions.readOnly().toBuilder().notBefore(position)
                        .build(), ctx -> ctx.fetchCount(table("note"), field("id").eq(20_000)));

                assertThat(seen).isEqualTo(1);
                assertThat(routes).containsOnlyKeys(Route.PRIMARY_FALLBACK);
            } finally {
                replay.execute("SELECT pg_wal_replay_resume()");
            }
        }
    }

    @Test
    void commitPositionsGrowWithEachWriteAndStayPerThread() throws Exception {
        try (SessionManager sessions = ReadReplicasTest.managerOn(cluster).build()) {
            assertThat(sessions.lastCommitPosition()).isEmpty();
            sessions.transaction(ctx -> ctx.insertInto(table("note"), field("id"), field("thread"))
                    .values(30_000, 0).execute());
            CommitPosition first = sessions.lastCommitPosition().orElseThrow();
            sessions.transaction(TransactionOptions.readOnly(), ctx -> ctx.fetchCount(table("note")));
            assertThat(sessions.lastCommitPosition()).as("a read-only transaction leaves it").contains(first);
            sessions.transaction(ctx -> ctx.insertInto(table("note"), field("id"), field("thread"))
                    .values(30_001, 0).execute());
            CommitPosition second = sessions.lastCommitPosition().orElseThrow();

            assertThat(second).isGreaterThan(first);
            assertThat(second.isAtOrAfter(first)).isTrue();
            assertThat(CommitPosition.parse(second.toString())).isEqualTo(second);
            ExecutorService other = Executors.newSingleThreadExecutor();
            try {
                assertThat(other.submit(sessions::lastCommitPosition).get()).isEqualTo(Optional.empty());
            } finally {
                other.shutdown();
            }
        }
    }

    @Test
    void withoutReplicasNoCommitPositionIsNoted() {
        try (SessionManager sessions = SessionManager.builder().jdbcUrl(cluster.primary().jdbcUrl("postgres"))
                .username(cluster.username()).maximumPoolSize(1).build()) {
            sessions.transaction(ctx -> ctx.insertInto(table("note"), field("id"), field("thread"))
                    .values(40_000, 0).execute());

            assertThat(sessions.lastCommitPosition()).isEmpty();
        }
    }
}
