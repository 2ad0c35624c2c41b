package io.managedsession.bench;

import java.time.Duration;
import java.util.concurrent.TimeUnit;

import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import io.managedsession.CommitPosition;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;

/**
 * What read replicas cost a transaction, on a real primary and streaming standby on loopback (one client thread, so
 * each figure is one transaction's latency): a write with and without replicas configured (with them, the commit
 * position is read after COMMIT), and a read on the primary, on a replica, and on a replica that must first show it
 * has replayed a commit position (already replayed here: the cost of asking, not of waiting).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true"})
public class ReplicaBenchmark {

    private static final TransactionOptions READ = TransactionOptions.readOnly();

    private PostgresCluster cluster;
    private SessionManager primaryOnly;
    private SessionManager withReplica;
    private TransactionOptions readAfterWrite;

    @Setup
    public void setUp() {
        cluster = PostgresCluster.builder().standbys(1).start();
        String primary = cluster.primary().jdbcUrl("postgres");
        primaryOnly = SessionManager.builder().name("primary-only").jdbcUrl(primary).username(cluster.username())
                .maximumPoolSize(1).build();
        withReplica = SessionManager.builder().name("with-replica").jdbcUrl(primary).username(cluster.username())
                .replicaUrls(cluster.standbys().get(0).jdbcUrl("postgres")).maximumPoolSize(1).build();
        CounterTable.create(primaryOnly);
        withReplica.transaction(CounterTable::increment);
        CommitPosition position = withReplica.lastCommitPosition().orElseThrow();
        cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
        readAfterWrite = READ.toBuilder().notBefore(position).build();
    }

    @TearDown
    public void tearDown() {
        withReplica.close();
        primaryOnly.close();
        cluster.close();
    }


    @Benchmark
    public int writeWithoutReplicas() {
        return primaryOnly.transactionResult(CounterTable::increment);
    }

    @Benchmark
    public int writeWithReplicas() {
        return withReplica.transactionResult(CounterTable::increment);
    }

    @Benchmark
    public long readOnThePrimary() {
        return primaryOnly.transactionResult(READ, CounterTable::read);
    }

    @Benchmark
    public long readOnAReplica() {
        return withReplica.transactionResult(READ, CounterTable::read);
    }

    @Benchmark
    public long readOnAReplicaNotBeforeACommit() {
        return withReplica.transactionResult(readAfterWrite, CounterTable::read);
    }
}
