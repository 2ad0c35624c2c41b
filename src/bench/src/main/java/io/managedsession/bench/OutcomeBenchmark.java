package io.managedsession.bench;

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

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;

/**
 * What knowing the outcome costs a transaction that succeeds, on a real PostgreSQL on loopback (one client thread, so
 * each figure is one transaction's latency): a write and a read with commit outcome resolution off and on (on, a
 * write reads its transaction id before COMMIT; a read-only transaction skips it), and a write with lock diagnostics
 * off (they are on by default, and do nothing until a statement fails on a lock), on the server and on connections
 * that do no I/O, where the client's own work is measured alone.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 5, time = 1)
@Measurement(iterations = 10, time = 1)
@Fork(value = 2, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true"})
public class OutcomeBenchmark {

    private static final TransactionOptions READ = TransactionOptions.readOnly();

    private PostgresCluster server;
    private SessionManager plain;
    private SessionManager resolving;
    private SessionManager noDiagnostics;
    private SessionManager noIoDiagnosed;
    private SessionManager noIoUndiagnosed;

    @Setup
    public void setUp() {
        server = PostgresCluster.builder().standbys(0).start();
        String url = server.primary().jdbcUrl("postgres");
        plain = SessionManager.builder().name("plain").jdbcUrl(url).username(server.username())
                .maximumPoolSize(1).build();
        resolving = SessionManager.builder().name("resolving").jdbcUrl(url).username(server.username())
                .maximumPoolSize(1).resolveCommitOutcomes(true).build();
        noDiagnostics = SessionManager.builder().name("no-diagnostics").jdbcUrl(url).username(server.username())
                .maximumPoolSize(1).lockDiagnostics(false).build();
        NoIoDataSource noIo = new NoIoDataSource();
        noIoDiagnosed = SessionManager.builder().name("no-io").dataSource(noIo).build();
        noIoUndiagnosed = SessionManager.builder().name("no-io-undiagnosed").dataSource(noIo).lockDiagnostics(false)
                .build();
        CounterTable.create(plain);
    }

    @TearDown
    public void tearDown() {
        noIoUndiagnosed.close();
        noIoDiagnosed.close();
        noDiagnostics.close();
        resolving.close();
        plain.close();
        server.close();
    }


    @Benchmark
    public int writeResolutionOff() {
        return plain.transactionResult(CounterTable::increment);
    }

    @Benchmark
    public int writeResolutionOn() {
        return resolving.transactionResult(CounterTable::increment);
    }

    @Benchmark
    public long readResolutionOff() {
        return plain.transactionResult(READ, CounterTable::read);
    }

    @Benchmark
    public long readResolutionOn() {
        return resolving.transactionResult(READ, CounterTable::read);
    }

    @Benchmark
    public int writeLockDiagnosticsOff() {
        return noDiagnostics.transactionResult(CounterTable::increment);
    }

    /** The client's own work alone, on connections that do no I/O: diagnostics on (the default). */
    @Benchmark
    public int noIoWriteLockDiagnosticsOn() {
        return noIoDiagnosed.transactionResult(CounterTable::increment);
    }

    /** The same with diagnostics off. */
    @Benchmark
    public int noIoWriteLockDiagnosticsOff() {
        return noIoUndiagnosed.transactionResult(CounterTable::increment);
    }
}
