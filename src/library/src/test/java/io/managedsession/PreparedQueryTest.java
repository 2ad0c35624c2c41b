package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.inline;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.table;

import java.lang.reflect.Proxy;
import java.math.BigDecimal;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.Field;
import org.jooq.JSONB;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Record5;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.conf.ParamType;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.Test;

import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * {@link PreparedQuery}: statements written with jOOQ's DSL, rendered once and run with only binding and fetching. The
 * same rows as the DSL, arguments checked against the parameters' types, queries that cannot be rendered once refused
 * when declared, and safe across threads and transactions without leaking a statement or a connection.
 */
@DatabaseTest(migrations = {})
class PreparedQueryTest {

    /** Cents in the database, a Money in Java: a converter on top of a type the driver binds itself. */
    record Money(long cents) {
    }

    private static final DataType<Money> MONEY = SQLDataType.BIGINT.asConvertedDataType(
            Converter.ofNullable(Long.class, Money.class, Money::new, Money::cents));

    private static final Table<Record> ITEMS = table(name("items"));
    private static final Field<Long> ID = field(name("items", "id"), SQLDataType.BIGINT);
    private static final Field<String> LABEL = field(name("items", "label"), SQLDataType.CLOB);
    private static final Field<Money> PRICE = field(name("items", "price"), MONEY);
    private static final Field<BigDecimal> WEIGHT = field(name("items", "weight"), SQLDataType.NUMERIC(10, 3));
    private static final Field<OffsetDateTime> ADDED = field(name("items", "added"),
            SQLDataType.TIMESTAMPWITHTIMEZONE);
    private static final Field<UUID> TAG = field(name("items", "tag"), SQLDataType.UUID);

    private static final Param<Long> FROM = param("from", ID);
    private static final Param<Long> TO = param("to", ID);

    private static final PreparedQuery<Record5<Long, String, Money, BigDecimal, UUID>> RANGE = PreparedQuery.of(
            DSL.select(ID, LABEL, PRICE, WEIGHT, TAG).from(ITEMS).where(ID.between(FROM, TO)).orderBy(ID),
            "from", "to");

    private static final PreparedQuery<Record1<Money>> PRICE_OF = PreparedQuery.of(
            DSL.select(PRICE).from(ITEMS).where(ID.eq(param("id", ID))), "id");

    private static final PreparedQuery<Record> REPRICE = PreparedQuery.of(
            DSL.update(ITEMS).set(PRICE, PRICE.plus(param("delta", PRICE))).where(ID.eq(param("id", ID))),
            "delta", "id");

    private static final PreparedQuery<Record> ADD = PreparedQuery.of(
            DSL.insertInto(ITEMS, ID, LABEL, PRICE, WEIGHT, ADDED, TAG).values(param("id", ID),
                    param("label", LABEL), param("price", PRICE), param("weight", WEIGHT), param("added", ADDED),
                    param("tag", TAG)),
            "id", "label", "price", "weight", "added", "tag");

    private static void createItems(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS items", "CREATE TABLE items (id bigint PRIMARY KEY, label text, price bigint, weight numeric(10, 3),"
                + " added timestamptz, tag uuid)");
    }

    @Test
    void returnsTheSameRowsAsTheDslWithTypedValuesAndNulls(TestDatabase db) {
        createItems(db);
        OffsetDateTime added = OffsetDateTime.of(2026, 11, 30, 12, 0, 0, 0, ZoneOffset.UTC);
        UUID tag = UUID.randomUUID();
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                assertThat(ADD.execute(ctx, 1L, "anvil", new Money(12_50), new BigDecimal("40.125"), added, tag))
                        .isEqualTo(1);
                ADD.execute(ctx, 2L, null, null, null, null, null);
                ADD.execute(ctx, 3L, "feather", new Money(3), new BigDecimal("0.001"), added, null);
            });
            sessions.transaction(ctx -> {
                var viaDsl = ctx.select(ID, LABEL, PRICE, WEIGHT, TAG).from(ITEMS).where(ID.between(1L, 3L))
                        .orderBy(ID).fetch();
                var prepared = RANGE.fetch(ctx, 1L, 3L);
                assertThat(prepared).hasSize(3).containsExactlyElementsOf(viaDsl);
                assertThat(prepared.get(0).value3()).isEqualTo(new Money(12_50));
                assertThat(prepared.get(0).value4()).isEqualByComparingTo("40.125");
                assertThat(prepared.get(0).value5()).isEqualTo(tag);
                assertThat(prepared.get(1).value2()).isNull();
                assertThat(prepared.get(1).value3()).isNull();
                assertThat(RANGE.fetch(ctx, record -> record.value2(), 3L, 3L)).containsExactly("feather");

                assertThat(REPRICE.execute(ctx, new Money(50), 1L)).isEqualTo(1);
                assertThat(PRICE_OF.fetchOne(ctx, 1L).value1()).isEqualTo(new Money(13_00));
                assertThat(PRICE_OF.fetchOne(ctx, 99L)).isNull();
                assertThat(PRICE_OF.fetchOptional(ctx, 99L)).isEmpty();
                assertThat(ctx.select(ADDED).from(ITEMS).where(ID.eq(1L)).fetchSingle(ADDED).toInstant())
                        .isEqualTo(added.toInstant());
            });
        }
    }

    @Test
    void isRenderedOnceForAllTransactionsOfAManagerAndOnceMoreForOtherSettings(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build();
             SessionManager inlining = Managers.on(db).settings(new Settings()
                     .withParamType(ParamType.INLINED).withRenderFormatted(true)).build()) {
            String sql = sessions.transactionResult(ctx -> PRICE_OF.sql(ctx));
            assertThat(sql).isEqualTo("select \"items\".\"price\" from \"items\" where \"items\".\"id\" = ?");
            String again = sessions.transactionResult(ctx -> PRICE_OF.sql(ctx));
            assertThat(again).isSameAs(sql);
            // Another manager's settings render their own SQL, and still with a placeholder for every parameter.
            String formatted = inlining.transactionResult(ctx -> PRICE_OF.sql(ctx));
            assertThat(formatted).contains("\n").contains("= ?").isNotEqualTo(sql);
            Record1<Money> none = inlining.transactionResult(ctx -> PRICE_OF.fetchOne(ctx, 1L));
            assertThat(none).isNull();
        }
    }

    @Test
    void comparesEqualSettingsOfAnotherContextOnceAndThenKnowsThemByIdentity() {
        // Two managers with the same settings (or a manager and a DSLContext of the user's) share one rendering. The
        // second's Settings instance equals the first's but is not the same: comparing them, some two hundred fields,
        // on every call cost the second manager more than the binding saved.
        AtomicInteger comparisons = new AtomicInteger();
        PreparedQuery<Record1<Long>> idOf = PreparedQuery.of(
                DSL.select(ID).from(ITEMS).where(ID.eq(param("id", ID))), "id");
        DSLContext first = DSL.using(SQLDialect.POSTGRES, new CountingSettings(comparisons));
        DSLContext second = DSL.using(SQLDialect.POSTGRES, new CountingSettings(comparisons));
        String sql = idOf.sql(first);
        // Rendering fills in defaults the Settings left empty; a manager that has run any DSL statement has them.
        second.render(DSL.select(ID).from(ITEMS));
        int before = comparisons.get();
        for (int call = 0; call < 3; call++) {
            assertThat(idOf.sql(second)).isSameAs(sql);
        }
        assertThat(comparisons.get() - before).as("Settings comparisons over three calls").isEqualTo(1);
    }

    /** Settings that count how often they are compared (jOOQ's equals needs both sides of the same class). */
    private static final class CountingSettings extends Settings {
        private final transient AtomicInteger comparisons;

        CountingSettings(AtomicInteger comparisons) {
            this.comparisons = comparisons;
        }

        @Override
        public boolean equals(Object other) {
            comparisons.incrementAndGet();
            return super.equals(other);
        }

        @Override
        public int hashCode() {
            return super.hashCode();
        }
    }

    @Test
    void refusesArgumentsThatDoNotFitTheParameters(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            assertThatThrownBy(() -> sessions.transaction(ctx -> PRICE_OF.fetchOne(ctx, "1")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("parameter 'id' takes java.lang.Long, but was given a java.lang.String");
            assertThatThrownBy(() -> sessions.transaction(ctx -> REPRICE.execute(ctx, 50L, 1L)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("parameter 'delta' takes " + Money.class.getName());
            assertThatThrownBy(() -> sessions.transaction(ctx -> RANGE.fetch(ctx, 1L)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("takes 2 arguments [from, to], but was given 1");
            assertThatThrownBy(() -> sessions.transaction(ctx -> REPRICE.fetch(ctx, new Money(1), 1L)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("returns no rows; run it with execute(...)");
            sessions.transaction(ctx -> {
                ADD.execute(ctx, 1L, "one", null, null, null, null);
                ADD.execute(ctx, 2L, "two", null, null, null, null);
            });
            assertThatThrownBy(() -> sessions.transaction(ctx -> RANGE.fetchOne(ctx, Long.MIN_VALUE, Long.MAX_VALUE)))
                    .isInstanceOf(TooManyRowsException.class);
        }
    }

    @Test
    void refusesWhenDeclaredAQueryThatCannotBeRenderedOnceForAllCalls() {
        // A value captured when the query was built would be the same for every call.
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.eq(7L))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("bind value number 1 (of type java.lang.Long) has no name")
                .hasMessageContaining("DSL.inline(value) for a constant");
        // Dynamic SQL: an IN list whose length is the call's.
        List<Long> ids = List.of(1L, 2L, 3L);
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.in(ids))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("has no name");
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.eq(FROM)), "from", "to"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("lists parameter 'to', but its query does not use it");
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.eq(FROM))))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("uses parameter 'from', which is not among its parameters []");
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(PRICE).from(ITEMS)
                .where(ID.eq(FROM).and(LABEL.eq(param("from", LABEL)))), "from"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("uses parameter 'from' with two types, java.lang.Long and java.lang.String");
        Field<JSONB> doc = field(name("items", "doc"), SQLDataType.JSONB);
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(ID).from(ITEMS).where(doc.eq(param("doc", doc))), "doc"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter 'doc' cannot be bound by a prepared query")
                .hasMessageContaining("org.jooq.JSONB");
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(doc).from(ITEMS)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("column doc cannot be read by a prepared query");
        // Constants are fine, written inline.
        assertThat(PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.eq(FROM)).limit(inline(1)), "from")
                .sql(DSL.using(SQLDialect.POSTGRES))).endsWith("= ? fetch next 1 rows only");
    }

    @Test
    void aFailedStatementRollsBackItsTransactionWithTheServersError(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                ADD.execute(ctx, 5L, "first", null, null, null, null);
                ADD.execute(ctx, 5L, "again", null, null, null, null);
            }))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("23505"))
                    .hasMessageContaining("insert into \"items\"");
            assertThat(queryLong(db, "SELECT count(*) FROM items")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void runsThroughJooqWhereExecuteListenersWatchSoTheySeeEveryStatementAndTheRowsStayTheSame(TestDatabase db) {
        createItems(db);
        List<String> executed = new ArrayList<>();
        ExecuteListener recorder = new ExecuteListener() {
            @Override
            public void executeStart(ExecuteContext ctx) {
                executed.add(ctx.sql());
            }
        };
        UUID tag = UUID.randomUUID();
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                // A user's listener on the transaction's own connection: a context derived from the transaction's.
                DSLContext watched = DSL.using(ctx.configuration()
                        .derive(new DefaultExecuteListenerProvider(recorder)));
                assertThat(ADD.execute(watched, 1L, "anvil", new Money(12_50), new BigDecimal("40.125"), null, tag))
                        .isEqualTo(1);
                ADD.execute(watched, 2L, null, null, null, null, null);
                var rows = RANGE.fetch(watched, 1L, 2L);
                assertThat(rows).containsExactlyElementsOf(RANGE.fetch(ctx, 1L, 2L));
                assertThat(rows.get(0).value3()).isEqualTo(new Money(12_50));
                assertThat(rows.get(0).value5()).isEqualTo(tag);
                assertThat(rows.get(1).value2()).isNull();
                assertThat(RANGE.fetch(watched, record -> record.value2(), 1L, 1L)).containsExactly("anvil");
                assertThat(REPRICE.execute(watched, new Money(50), 1L)).isEqualTo(1);
                assertThat(PRICE_OF.fetchOne(watched, 1L).value1()).isEqualTo(new Money(13_00));
                assertThat(PRICE_OF.fetchOptional(watched, 99L)).isEmpty();
                assertThatThrownBy(() -> RANGE.fetchOne(watched, 1L, 2L))
                        .isInstanceOf(TooManyRowsException.class)
                        .hasMessageContaining("returned more than one row");
                assertThatThrownBy(() -> PRICE_OF.fetchOne(watched, "1"))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageContaining("parameter 'id' takes java.lang.Long, but was given a java.lang.String");

                // jOOQ reads the SQL again as a plain SQL template: what looks like a placeholder in a constant stays.
                PreparedQuery<Record1<String>> tricky = PreparedQuery.of(DSL.select(LABEL).from(ITEMS)
                        .where(ID.eq(FROM)).and(LABEL.ne(inline("why? {0} :name '"))), "from");
                assertThat(tricky.fetch(watched, 1L)).containsExactlyElementsOf(tricky.fetch(ctx, 1L)).hasSize(1);

                assertThat(executed).containsExactly(ADD.sql(ctx), ADD.sql(ctx), RANGE.sql(ctx), RANGE.sql(ctx),
                        REPRICE.sql(ctx), PRICE_OF.sql(ctx), PRICE_OF.sql(ctx), RANGE.sql(ctx), tricky.sql(ctx));
            });
            // The listened statements ran in the transaction, which committed them.
            assertThat(queryLong(db, "SELECT price FROM items WHERE id = 1")).isEqualTo(13_00);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void jooqsExecuteLoggingAtDebugShowsItsStatementsWithTheirValuesUnlessTheSettingsTurnItOff(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build();
             SessionManager quiet = Managers.on(db).settings(new Settings().withExecuteLogging(false)).build()) {
            sessions.transaction(ctx -> ADD.execute(ctx, 7L, "logged", new Money(7_77), null, null, null));
            List<String> logged;
            List<String> notLogged;
            try (LogCapture logs = LogCapture.everything()) {
                Record1<Money> price = sessions.transactionResult(ctx -> PRICE_OF.fetchOne(ctx, 7L));
                assertThat(price.value1()).isEqualTo(new Money(7_77));
                logged = jooqLogLines(logs);
            }
            try (LogCapture logs = LogCapture.everything()) {
                quiet.transaction(ctx -> REPRICE.execute(ctx, new Money(1), 7L));
                notLogged = jooqLogLines(logs);
            }

            assertThat(logged).anySatisfy(line -> assertThat(line).contains("Executing query")
                    .contains("select \"items\".\"price\" from \"items\" where \"items\".\"id\" = ?"));
            assertThat(logged).anySatisfy(line -> assertThat(line).contains("with bind values")
                    .contains("\"items\".\"id\" = 7"));
            assertThat(notLogged).isEmpty();
            assertThat(queryLong(db, "SELECT price FROM items WHERE id = 7")).isEqualTo(7_78);
        }
    }

    private static List<String> jooqLogLines(LogCapture logs) {
        return logs.lines().stream().filter(line -> line.contains(" org.jooq.tools.LoggerListener - ")).toList();
    }

    @Test
    void refusesToRunOnTheContextOfATransactionThatEnded(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            DSLContext kept = sessions.transactionResult(ctx -> ctx);
            assertThatThrownBy(() -> PRICE_OF.fetchOne(kept, 1L))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has already ended");
        }
    }

    @Test
    void runsConcurrentlyOnManyThreadsAndTransactionsWithoutLeakingAStatementOrAConnection(TestDatabase db)
            throws Exception {
        createItems(db);
        int threads = 6;
        int transfersEach = 150;
        AtomicInteger openStatements = new AtomicInteger();
        AtomicInteger preparedStatements = new AtomicInteger();
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                for (long id = 1; id <= threads; id++) {
                    ADD.execute(ctx, id, "account " + id, new Money(1_000), null, null, null);
                }
            });
            DataSource tracked = tracking(sessions.dataSource(), openStatements, preparedStatements);
            DSLContext plain = DSL.using(tracked, SQLDialect.POSTGRES);
            CyclicBarrier start = new CyclicBarrier(threads);
            ExecutorService pool = Executors.newFixedThreadPool(threads);
            try {
                List<Future<?>> done = new ArrayList<>();
                for (int t = 0; t < threads; t++) {
                    long from = t + 1;
                    long to = (t + 1) % threads + 1;
                    done.add(pool.submit(() -> {
                        start.await(10, TimeUnit.SECONDS);
                        for (int i = 0; i < transfersEach; i++) {
                            // Half in SessionManager transactions, half on a plain DSLContext in auto-commit.
                            if (i % 2 == 0) {
                                sessions.transaction(TransactionOptions.builder().maxAttempts(20).build(), ctx -> {
                                    long[] order = {Math.min(from, to), Math.max(from, to)};
                                    REPRICE.execute(ctx, new Money(from == order[0] ? -1 : 1), order[0]);
                                    REPRICE.execute(ctx, new Money(from == order[0] ? 1 : -1), order[1]);
                                });
                            } else {
                                assertThat(PRICE_OF.fetchOne(plain, from)).isNotNull();
                            }
                        }
                        return null;
                    }));
                }
                for (Future<?> f : done) {
                    f.get(60, TimeUnit.SECONDS);
                }
            } finally {
                pool.shutdownNow();
            }
            // Every transfer moved one cent from one account to the next: the total is unchanged.
            assertThat(queryLong(db, "SELECT sum(price) FROM items")).isEqualTo(threads * 1_000L);
            assertThat(preparedStatements.get()).isEqualTo(threads * transfersEach / 2);
            assertThat(openStatements.get()).isZero();
            db.assertNothingLeaked(sessions);
            assertThat(Managers.pool(sessions).getActiveConnections()).isZero();
        }
    }

    /** A DataSource whose connections count the prepared statements they create and the ones still open. */
    private static DataSource tracking(DataSource real, AtomicInteger open, AtomicInteger prepared) {
        return (DataSource) Proxy.newProxyInstance(PreparedQueryTest.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, (proxy, method, args) -> {
                    Object result = method.invoke(real, args);
                    if (!(result instanceof Connection connection)) {
                        return result;
                    }
                    return Proxy.newProxyInstance(PreparedQueryTest.class.getClassLoader(),
                            new Class<?>[] {Connection.class}, (cp, cm, cargs) -> {
                                Object made = cm.invoke(connection, cargs);
                                if (!(made instanceof PreparedStatement statement)) {
                                    return made;
                                }
                                prepared.incrementAndGet();
                                open.incrementAndGet();
                                return Proxy.newProxyInstance(PreparedQueryTest.class.getClassLoader(),
                                        new Class<?>[] {PreparedStatement.class}, (sp, sm, sargs) -> {
                                            if (sm.getName().equals("close") && !statement.isClosed()) {
                                                open.decrementAndGet();
                                            }
                                            return sm.invoke(statement, sargs);
                                        });
                            });
                });
    }
}
