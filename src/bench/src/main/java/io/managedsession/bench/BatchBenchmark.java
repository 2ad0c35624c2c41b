package io.managedsession.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import org.jooq.BatchBindStep;
import org.jooq.Field;
import org.jooq.InsertValuesStep3;
import org.jooq.Record;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.PreparedQuery;
import io.managedsession.SessionManager;
import io.managedsession.database.PostgresCluster;

/**
 * One transaction that inserts {@value #ROWS} rows (an import), on a real PostgreSQL on loopback, one client thread:
 * raw JDBC's batch on HikariCP, and in SessionManager transactions a {@link PreparedQuery} run as one batch and row by
 * row, jOOQ's {@code DSLContext.batch(..)}, jOOQ's multi-row {@code INSERT .. VALUES (..), (..)}, and the DSL row by
 * row; the two batches of JDBC statements also on connections whose driver rewrites them into multi-row INSERTs
 * ({@code reWriteBatchedInserts=true}); and one {@code PreparedQuery} INSERT of an array per column, unnested.
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.MICROSECONDS)
@Warmup(iterations = 3, time = 2)
@Measurement(iterations = 5, time = 2)
@Fork(value = 2, jvmArgsAppend = {"-Dorg.jooq.no-logo=true", "-Dorg.jooq.no-tips=true"})
public class BatchBenchmark {

    /** Rows per transaction. */
    static final int ROWS = 1_000;

    /** The SQL jOOQ renders for {@link #INSERT}, so that the server does the same work for every way. */
    private static final String INSERT_SQL =
            "insert into \"imported\" (\"id\", \"label\", \"amount\") values (?, ?, ?)";

    private static final Table<Record> IMPORTED = DSL.table(DSL.name("imported"));
    private static final Field<Long> ID = DSL.field(DSL.name("id"), SQLDataType.BIGINT);
    private static final Field<String> LABEL = DSL.field(DSL.name("label"), SQLDataType.VARCHAR(100));
    private static final Field<Long> AMOUNT = DSL.field(DSL.name("amount"), SQLDataType.BIGINT);

    private static final PreparedQuery<Record> INSERT = PreparedQuery.of(DSL.insertInto(IMPORTED, ID, LABEL, AMOUNT)
            .values(DSL.param("id", ID), DSL.param("label", LABEL), DSL.param("amount", AMOUNT)),
            "id", "label", "amount");

    /** The same rows as one statement: an array parameter per column, unnested by the server. */
    private static final PreparedQuery<Record> INSERT_UNNESTED = PreparedQuery.of(DSL.insertInto(IMPORTED, ID, LABEL,
            AMOUNT).select(DSL.select(DSL.field(DSL.name("row", "id"), SQLDataType.BIGINT),
                    DSL.field(DSL.name("row", "label"), SQLDataType.VARCHAR(100)),
                    DSL.field(DSL.name("row", "amount"), SQLDataType.BIGINT))
            .from(DSL.table("unnest({0}, {1}, {2})", DSL.param("ids", SQLDataType.BIGINT.array()),
                    DSL.param("labels", SQLDataType.VARCHAR.array()), DSL.param("amounts", SQLDataType.BIGINT.array()))
                    .as("row", "id", "label", "amount"))), "ids", "labels", "amounts");

    private PostgresCluster server;
    private HikariDataSource pool;
    private HikariDataSource rewritingPool;
    private SessionManager sessions;
    private SessionManager rewriting;
    private List<Object[]> rows;

    @Setup
    public void setUp() {
        server = PostgresCluster.builder().standbys(0).start();
        String url = server.primary().jdbcUrl("postgres");
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(url);
        config.setUsername(server.username());
        config.setMaximumPoolSize(1);
        pool = new HikariDataSource(config);
        // The driver's rewriting of a batch of INSERTs into multi-row INSERTs: a connection property.
        HikariConfig rewritingConfig = new HikariConfig();
        config.copyStateTo(rewritingConfig);
        rewritingConfig.addDataSourceProperty("reWriteBatchedInserts", "true");
        rewritingPool = new HikariDataSource(rewritingConfig);
        sessions = SessionManager.builder().name("batch").jdbcUrl(url).username(server.username())
                .maximumPoolSize(1).build();
        rewriting = SessionManager.builder().name("batch-rewriting").jdbcUrl(url + "?reWriteBatchedInserts=true")
                .username(server.username()).maximumPoolSize(1).build();
        sessions.transaction(ctx -> ctx.execute(
                "CREATE UNLOGGED TABLE imported (id bigint NOT NULL, label varchar(100), amount bigint)"));
        rows = new ArrayList<>(ROWS);
        for (int i = 0; i < ROWS; i++) {
            rows.add(new Object[] {(long) i, "row " + i, i * 100L});
        }
    }

    /** Empties the table, so that each iteration inserts into the same small table. */
    @Setup(Level.Iteration)
    public void emptyTable() {
        sessions.transaction(ctx -> ctx.execute("TRUNCATE imported"));
    }

    @TearDown
    public void tearDown() {
        rewriting.close();
        sessions.close();
        rewritingPool.close();
        pool.close();
        server.close();
    }

    /** The floor: one JDBC prepared statement, addBatch per row, executeBatch, commit. */
    @Benchmark
    public int rawJdbcBatch() throws SQLException {
        return jdbcBatch(pool);
    }

    /** The same with {@code reWriteBatchedInserts=true}. */
    @Benchmark
    public int rawJdbcBatchRewritten() throws SQLException {
        return jdbcBatch(rewritingPool);
    }

    private int jdbcBatch(HikariDataSource from) throws SQLException {
        try (Connection connection = from.getConnection()) {
            connection.setAutoCommit(false);
            try (PreparedStatement insert = connection.prepareStatement(INSERT_SQL)) {
                for (Object[] row : rows) {
                    insert.setLong(1, (Long) row[0]);
                    insert.setString(2, (String) row[1]);
                    insert.setLong(3, (Long) row[2]);
                    insert.addBatch();
                }
                int inserted = insert.executeBatch().length;
                connection.commit();
                return inserted;
            } finally {
                connection.setAutoCommit(true);
            }
        }
    }

    @Benchmark
    public int preparedQueryBatch() {
        return sessions.transactionResult(ctx -> INSERT.executeBatch(ctx, rows).length);
    }

    /** The same on connections with {@code reWriteBatchedInserts=true}. */
    @Benchmark
    public int preparedQueryBatchRewritten() {
        return rewriting.transactionResult(ctx -> INSERT.executeBatch(ctx, rows).length);
    }

    /** One INSERT of arrays unnested, the columns' arrays made from the rows in the call. */
    @Benchmark
    public int preparedQueryUnnestedArrays() {
        Long[] ids = new Long[rows.size()];
        String[] labels = new String[rows.size()];
        Long[] amounts = new Long[rows.size()];
        for (int i = 0; i < ids.length; i++) {
            Object[] row = rows.get(i);
            ids[i] = (Long) row[0];
            labels[i] = (String) row[1];
            amounts[i] = (Long) row[2];
        }
        return sessions.transactionResult(ctx -> INSERT_UNNESTED.execute(ctx, ids, labels, amounts));
    }

    @Benchmark
    public int preparedQueryRowByRow() {
        return sessions.transactionResult(ctx -> {
            int inserted = 0;
            for (Object[] row : rows) {
                inserted += INSERT.execute(ctx, row);
            }
            return inserted;
        });
    }

    /** jOOQ's batch of one query with bind values, as its manual shows it. */
    @Benchmark
    public int jooqBatch() {
        return sessions.transactionResult(ctx -> {
            BatchBindStep batch = ctx.batch(ctx.insertInto(IMPORTED, ID, LABEL, AMOUNT)
                    .values((Long) null, null, null));
            for (Object[] row : rows) {
                batch = batch.bind(row);
            }
            return batch.execute().length;
        });
    }

    /** One INSERT with {@value #ROWS} rows of values: one statement, a shape of its own per number of rows. */
    @Benchmark
    public int jooqMultiRowInsert() {
        return sessions.transactionResult(ctx -> {
            InsertValuesStep3<Record, Long, String, Long> insert = ctx.insertInto(IMPORTED, ID, LABEL, AMOUNT);
            for (Object[] row : rows) {
                insert = insert.values((Long) row[0], (String) row[1], (Long) row[2]);
            }
            return insert.execute();
        });
    }

    @Benchmark
    public int dslRowByRow() {
        return sessions.transactionResult(ctx -> {
            int inserted = 0;
            for (Object[] row : rows) {
                inserted += ctx.insertInto(IMPORTED, ID, LABEL, AMOUNT).values((Long) row[0], (String) row[1],
                        (Long) row[2]).execute();
            }
            return inserted;
        });
    }
}
