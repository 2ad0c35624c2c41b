package io.managedsession.bench;

import java.util.concurrent.TimeUnit;

import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
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

import io.managedsession.Propagation;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.micrometer.SessionManagerMetrics;
import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

/**
 * The library's own cost per transaction, against plain jOOQ {@code transactionResult}, on connections that do no I/O
 * (so the overhead is not hidden behind a round trip). Run with {@code -prof gc} for the bytes allocated per
 * transaction.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 1, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true"})
public class OverheadBenchmark {

    private static final TransactionOptions NESTED = TransactionOptions.builder().propagation(Propagation.NESTED)
            .build();

    private DSLContext jooq;
    private SessionManager sessions;
    private SessionManager observed;

    @Setup
    public void setUp() {
        NoIoDataSource noIo = new NoIoDataSource();
        jooq = DSL.using(noIo, SQLDialect.POSTGRES);
        sessions = SessionManager.builder().name("bench").dataSource(noIo).build();
        observed = SessionManager.builder().name("bench-observed").dataSource(noIo).build();
        new SessionManagerMetrics(observed).bindTo(new SimpleMeterRegistry());
    }

    @TearDown
    public void tearDown() {
        sessions.close();
        observed.close();
    }

    /** The same transaction with Micrometer metrics bound and, in this fork, a JFR recording running. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true",
            "-XX:StartFlightRecording=settings=profile,filename=target/overhead-observed.jfr"})
    public Integer sessionManagerOneStatementObserved() {
        return observed.transactionResult(ctx -> ctx.execute("UPDATE t SET x = 1"));
    }

    @Benchmark
    public Integer jooqEmptyTransaction() {
        return jooq.transactionResult(configuration -> 1);
    }

    @Benchmark
    public Integer sessionManagerEmptyTransaction() {
        return sessions.transactionResult(ctx -> 1);
    }

    @Benchmark
    public Integer jooqOneStatement() {
        return jooq.transactionResult(configuration -> configuration.dsl().execute("UPDATE t SET x = 1"));
    }

    @Benchmark
    public Integer sessionManagerOneStatement() {
        return sessions.transactionResult(ctx -> ctx.execute("UPDATE t SET x = 1"));
    }

    @Benchmark
    public Integer sessionManagerThreeJoinedCalls() {
        return sessions.transactionResult(ctx -> sessions.transactionResult(a -> 1)
                + sessions.transactionResult(b -> 1) + sessions.transactionResult(c -> 1));
    }

    @Benchmark
    public Integer jooqNestedSavepoint() {
        return jooq.transactionResult(configuration -> configuration.dsl().transactionResult(nested -> 1));
    }

    @Benchmark
    public Integer sessionManagerNestedSavepoint() {
        return sessions.transactionResult(ctx -> sessions.transactionResult(NESTED, nested -> 1));
    }
}
