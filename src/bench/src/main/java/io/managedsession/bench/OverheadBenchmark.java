package io.managedsession.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.Locale;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.jdbi.v3.core.Jdbi;
import org.jooq.DSLContext;
import org.jooq.EnumType;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.DataSourceConnectionProvider;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.SQLDataType;
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
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.support.TransactionTemplate;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.managedsession.PreparedQuery;
import io.managedsession.Propagation;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.micrometer.SessionManagerMetrics;

/**
 * The library's own cost per transaction, against plain jOOQ {@code transactionResult}, on connections that do no I/O
 * (so the overhead is not hidden behind a round trip); and the layers alone, like for like: raw JDBC, SessionManager,
 * jOOQ, Spring's TransactionTemplate and Jdbi each running one JDBC prepared statement on the connection their
 * transaction hands out. Run with {@code -prof gc} for the bytes allocated per transaction.
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

    private static final String UPDATE = "UPDATE t SET x = 1";

    private static final Table<Record> T = DSL.table(DSL.name("t"));
    private static final Field<Integer> ID = DSL.field(DSL.name("t", "id"), SQLDataType.INTEGER);
    private static final Field<Long> X = DSL.field(DSL.name("t", "x"), SQLDataType.BIGINT);

    /** The same UPDATE as {@link #sessionManagerDslUpdate()}'s, declared once. */
    private static final PreparedQuery<Record> PREPARED_UPDATE = PreparedQuery.of(DSL.update(T)
            .set(X, X.plus(DSL.param("delta", X))).where(ID.eq(DSL.param("id", ID))), "delta", "id");

    /** A SELECT of one row by its key, declared once. */
    private static final PreparedQuery<Record1<Long>> PREPARED_SELECT = PreparedQuery.of(DSL.select(X).from(T)
            .where(ID.eq(DSL.param("id", ID))), "id");

    /** A PostgreSQL enum type as jOOQ's code generator writes it. */
    public enum Mood implements EnumType {
        CALM, BUSY;

        @Override
        public String getLiteral() {
            return name().toLowerCase(Locale.ROOT);
        }

        @Override
        public String getName() {
            return "mood";
        }
    }

    private static final Field<Mood> MOOD = DSL.field(DSL.name("t", "mood"),
            SQLDataType.VARCHAR.asEnumDataType(Mood.class));
    private static final Field<JSONB> DOC = DSL.field(DSL.name("t", "doc"), SQLDataType.JSONB);
    private static final JSONB DOC_VALUE = JSONB.valueOf("{\"k\": 1}");

    /** {@link #sessionManagerDslEnumUpdate()}'s UPDATE declared once: its types need jOOQ's bindings. */
    private static final PreparedQuery<Record> PREPARED_ENUM_UPDATE = PreparedQuery.of(DSL.update(T)
            .set(MOOD, DSL.param("mood", MOOD)).set(DOC, DSL.param("doc", DOC)).where(ID.eq(DSL.param("id", ID))),
            "mood", "doc", "id");

    /** A listener that does nothing: that one is there is what costs. */
    private static final ExecuteListenerProvider LISTENER = new DefaultExecuteListenerProvider(
            new ExecuteListener() {
            });

    private DataSource noIo;
    private DSLContext jooq;
    private SessionManager sessions;
    private SessionManager observed;
    private SessionManager listened;
    private TransactionTemplate spring;
    private DSLContext springJooq;
    private Jdbi jdbi;

    @Setup
    public void setUp() {
        noIo = new NoIoDataSource();
        jooq = DSL.using(noIo, SQLDialect.POSTGRES);
        spring = new TransactionTemplate(new DataSourceTransactionManager(noIo));
        springJooq = DSL.using(new DefaultConfiguration().set(SQLDialect.POSTGRES)
                .set(new DataSourceConnectionProvider(new TransactionAwareDataSourceProxy(noIo))));
        jdbi = Jdbi.create(noIo);
        sessions = SessionManager.builder().name("bench").dataSource(noIo).build();
        observed = SessionManager.builder().name("bench-observed").dataSource(noIo).build();
        listened = SessionManager.builder().name("bench-listened").dataSource(noIo).executeListeners(LISTENER).build();
        new SessionManagerMetrics(observed).bindTo(new SimpleMeterRegistry());
    }

    @TearDown
    public void tearDown() {
        sessions.close();
        observed.close();
        listened.close();
    }

    /** The same transaction with Micrometer metrics bound and, in this fork, a JFR recording running. */
    @Benchmark
    @Fork(value = 1, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true",
            "-XX:StartFlightRecording=settings=profile,filename=target/overhead-observed.jfr"})
    public Integer sessionManagerOneStatementObserved() {
        return observed.transactionResult(ctx -> ctx.execute(UPDATE));
    }

    private static int oneStatement(Connection connection) throws SQLException {
        try (PreparedStatement update = connection.prepareStatement(UPDATE)) {
            return update.executeUpdate();
        }
    }

    @Benchmark
    public Integer layerRawJdbc() throws SQLException {
        try (Connection connection = noIo.getConnection()) {
            connection.setAutoCommit(false);
            int updated = oneStatement(connection);
            connection.commit();
            return updated;
        }
    }

    @Benchmark
    public Integer layerSessionManager() {
        return sessions.transactionResult(ctx -> ctx.connectionResult(OverheadBenchmark::oneStatement));
    }

    @Benchmark
    public Integer layerJooq() {
        return jooq.transactionResult(configuration -> configuration.dsl()
                .connectionResult(OverheadBenchmark::oneStatement));
    }

    @Benchmark
    public Integer layerSpring() {
        return spring.execute(status ->
                TpcbImplementations.withSpringConnection(noIo, OverheadBenchmark::oneStatement));
    }

    @Benchmark
    public Integer layerJdbi() throws SQLException {
        return jdbi.inTransaction(handle -> oneStatement(handle.getConnection()));
    }

    /** A typed UPDATE written with jOOQ's DSL, rendered on every call. */
    @Benchmark
    public Integer sessionManagerDslUpdate() {
        return sessions.transactionResult(ctx -> ctx.update(T).set(X, X.plus(5L)).where(ID.eq(7)).execute());
    }

    /** The same UPDATE in jOOQ's own transactionResult. */
    @Benchmark
    public Integer jooqDslUpdate() {
        return jooq.transactionResult(configuration -> configuration.dsl().update(T).set(X, X.plus(5L))
                .where(ID.eq(7)).execute());
    }

    /** The same UPDATE with jOOQ wired into Spring's transaction as Spring Boot wires it. */
    @Benchmark
    public Integer springDslUpdate() {
        return spring.execute(status -> springJooq.update(T).set(X, X.plus(5L)).where(ID.eq(7)).execute());
    }

    /** The same UPDATE as a PreparedQuery: rendered once, then only bound and executed. */
    @Benchmark
    public Integer sessionManagerPreparedUpdate() {
        return sessions.transactionResult(ctx -> PREPARED_UPDATE.execute(ctx, 5L, 7));
    }

    /** A SELECT of one row by its key, written with the DSL. */
    @Benchmark
    public Long sessionManagerDslSelect() {
        return sessions.transactionResult(ctx -> ctx.select(X).from(T).where(ID.eq(7)).fetchOne().value1());
    }

    /** The same SELECT as a PreparedQuery: rendered once, then only bound, executed and read. */
    @Benchmark
    public Long sessionManagerPreparedSelect() {
        return sessions.transactionResult(ctx -> PREPARED_SELECT.fetchOne(ctx, 7).value1());
    }

    /** An UPDATE of an enum and a jsonb column, which jOOQ's bindings bind, written with the DSL. */
    @Benchmark
    public Integer sessionManagerDslEnumUpdate() {
        return sessions.transactionResult(ctx -> ctx.update(T).set(MOOD, Mood.BUSY).set(DOC, DOC_VALUE)
                .where(ID.eq(7)).execute());
    }

    /** The same UPDATE as a PreparedQuery: rendered once, the enum and the JSON bound as jOOQ's bindings bind them. */
    @Benchmark
    public Integer sessionManagerPreparedEnumUpdate() {
        return sessions.transactionResult(ctx -> PREPARED_ENUM_UPDATE.execute(ctx, Mood.BUSY, DOC_VALUE, 7));
    }

    /** {@link #sessionManagerDslUpdate()} on a context an ExecuteListener watches. */
    @Benchmark
    public Integer sessionManagerDslUpdateListened() {
        return sessions.transactionResult(ctx -> DSL.using(ctx.configuration().derive(LISTENER)).update(T)
                .set(X, X.plus(5L)).where(ID.eq(7)).execute());
    }

    /** {@link #sessionManagerPreparedUpdate()} on a context an ExecuteListener watches: it runs through jOOQ. */
    @Benchmark
    public Integer sessionManagerPreparedUpdateListened() {
        return sessions.transactionResult(ctx -> PREPARED_UPDATE.execute(DSL.using(ctx.configuration()
                .derive(LISTENER)), 5L, 7));
    }

    /** {@link #sessionManagerDslUpdate()} on a manager built with an ExecuteListener. */
    @Benchmark
    public Integer sessionManagerDslUpdateManagerListened() {
        return listened.transactionResult(ctx -> ctx.update(T).set(X, X.plus(5L)).where(ID.eq(7)).execute());
    }

    /** {@link #sessionManagerPreparedUpdate()} on a manager built with an ExecuteListener: it runs through jOOQ. */
    @Benchmark
    public Integer sessionManagerPreparedUpdateManagerListened() {
        return listened.transactionResult(ctx -> PREPARED_UPDATE.execute(ctx, 5L, 7));
    }

    /** The same UPDATE as a JDBC prepared statement on the transaction's connection. */
    @Benchmark
    public Integer sessionManagerJdbcUpdate() {
        return sessions.transactionResult(ctx -> ctx.connectionResult(connection -> {
            try (PreparedStatement update = connection.prepareStatement(
                    "update \"t\" set \"x\" = (\"t\".\"x\" + ?) where \"t\".\"id\" = ?")) {
                update.setLong(1, 5L);
                update.setInt(2, 7);
                return update.executeUpdate();
            }
        }));
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
        return jooq.transactionResult(configuration -> configuration.dsl().execute(UPDATE));
    }

    @Benchmark
    public Integer sessionManagerOneStatement() {
        return sessions.transactionResult(ctx -> ctx.execute(UPDATE));
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
