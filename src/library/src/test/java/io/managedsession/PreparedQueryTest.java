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
import java.math.BigInteger;
import java.net.InetAddress;
import java.net.UnknownHostException;
import java.sql.Connection;
import java.sql.Date;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.sql.Time;
import java.sql.Timestamp;
import java.time.Duration;
import java.time.Instant;
import java.time.LocalDate;
import java.time.LocalDateTime;
import java.time.LocalTime;
import java.time.OffsetDateTime;
import java.time.OffsetTime;
import java.time.ZoneId;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Set;
import java.util.UUID;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import javax.sql.DataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import org.jooq.Binding;
import org.jooq.Converter;
import org.jooq.DSLContext;
import org.jooq.DataType;
import org.jooq.EnumType;
import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.Field;
import org.jooq.JSON;
import org.jooq.JSONB;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Record5;
import org.jooq.Record6;
import org.jooq.SQLDialect;
import org.jooq.Schema;
import org.jooq.Table;
import org.jooq.VisitListener;
import org.jooq.conf.ParamType;
import org.jooq.conf.Settings;
import org.jooq.exception.DataAccessException;
import org.jooq.exception.NoDataFoundException;
import org.jooq.exception.TooManyRowsException;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.DefaultVisitListenerProvider;
import org.jooq.impl.SQLDataType;
import org.jooq.types.DayToSecond;
import org.jooq.types.YearToMonth;
import org.jooq.types.YearToSecond;
import org.junit.jupiter.api.Test;

import io.managedsession.support.ForwardingJdbc;
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
                assertThat(PRICE_OF.fetchSingle(ctx, 1L).value1()).isEqualTo(new Money(13_00));
                assertThat(ctx.select(ADDED).from(ITEMS).where(ID.eq(1L)).fetchSingle(ADDED).toInstant())
                        .isEqualTo(added.toInstant());
            });
            // As the DSL's fetchSingle: no row and two rows are errors, and the transaction rolls back.
            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                REPRICE.execute(ctx, new Money(1), 1L);
                PRICE_OF.fetchSingle(ctx, 99L);
            }))
                    .isInstanceOf(NoDataFoundException.class)
                    .hasMessageContaining("returned no row");
            assertThatThrownBy(() -> sessions.transaction(ctx -> RANGE.fetchSingle(ctx, 1L, 3L)))
                    .isInstanceOf(TooManyRowsException.class);
            Money price = sessions.transactionResult(ctx -> PRICE_OF.fetchSingle(ctx, 1L).value1());
            assertThat(price).isEqualTo(new Money(13_00));
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
        int before = comparisons.get();
        for (int call = 0; call < 3; call++) {
            assertThat(idOf.sql(second)).isSameAs(sql);
        }
        assertThat(comparisons.get() - before).as("Settings comparisons over three calls").isEqualTo(1);
        // Settings jOOQ has not rendered with yet (it fills in an empty render mapping when it first does), in a new
        // context on every call, as DSL.using(connection, dialect) per request or a context derived with a listener
        // give: equal, so not rendered again, also beyond the instances it keeps.
        String plain = idOf.sql(DSL.using(SQLDialect.POSTGRES, new Settings()));
        for (int call = 0; call < 20; call++) {
            assertThat(idOf.sql(DSL.using(SQLDialect.POSTGRES, new Settings()))).as("call %d", call).isSameAs(plain);
        }
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
        // A type only a binding of the user's knows how to bind: the DSL's.
        Field<InetAddress> host = field(name("items", "host"), INET);
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(ID).from(ITEMS).where(host.eq(param("host", host))),
                "host"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("parameter 'host' cannot be bound by a prepared query")
                .hasMessageContaining("use the DSL for this statement");
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(host).from(ITEMS)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("column host cannot be read by a prepared query");
        Field<Integer[][]> grid = field(name("items", "grid"), SQLDataType.INTEGER.array().array());
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(grid).from(ITEMS)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its database type java.lang.Integer[][] is not one it binds");
        // jOOQ 3.21's own binding reads an interval[] as zero intervals, and a prepared query reads through it where
        // listeners watch: refused rather than read two ways.
        Field<DayToSecond[]> pauses = field(name("items", "pauses"), SQLDataType.INTERVALDAYTOSECOND.array());
        assertThatThrownBy(() -> PreparedQuery.of(DSL.select(pauses).from(ITEMS)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("its database type org.jooq.types.DayToSecond[] is not one it binds");
        // Constants are fine, written inline.
        assertThat(PreparedQuery.of(DSL.select(PRICE).from(ITEMS).where(ID.eq(FROM)).limit(inline(1)), "from")
                .sql(DSL.using(SQLDialect.POSTGRES))).endsWith("= ? fetch next 1 rows only");
    }

    @Test
    void runsUnderTheSettingsLimitOfRowsFetchSizeAndTimeoutAsTheDslDoes(TestDatabase db) {
        createItems(db);
        List<String> limits = Collections.synchronizedList(new ArrayList<>());
        HikariConfig config = new HikariConfig();
        config.setDataSource(ForwardingJdbc.around(Managers.driver(db), (method, args) -> {
            if (Set.of("setMaxRows", "setFetchSize", "setQueryTimeout").contains(method.getName())) {
                limits.add(method.getName() + " " + args[0]);
            }
            return ForwardingJdbc.FORWARD;
        }));
        config.setMaximumPoolSize(2);
        Settings settings = new Settings().withMaxRows(2).withFetchSize(3).withQueryTimeout(7);
        try (HikariDataSource pool = new HikariDataSource(config);
                SessionManager sessions = SessionManager.builder().dataSource(pool).settings(settings).build()) {
            sessions.transaction(ctx -> {
                for (long id = 1; id <= 5; id++) {
                    ADD.execute(ctx, id, "item " + id, null, null, null, null);
                }
            });
            limits.clear();
            var viaDsl = sessions.transactionResult(ctx -> ctx.select(ID, LABEL, PRICE, WEIGHT, TAG).from(ITEMS)
                    .where(ID.between(1L, 5L)).orderBy(ID).fetch());
            List<String> dslLimits = List.copyOf(limits);
            limits.clear();
            var prepared = sessions.transactionResult(ctx -> RANGE.fetch(ctx, 1L, 5L));

            assertThat(viaDsl).hasSize(2);
            assertThat(prepared).containsExactlyElementsOf(viaDsl);
            assertThat(dslLimits).contains("setMaxRows 2", "setFetchSize 3", "setQueryTimeout 7");
            assertThat(limits).containsExactlyInAnyOrderElementsOf(dslLimits);
        }
    }

    @Test
    void readsOnlyColumnsItKnowsByNameAndRefusesAResultOfAnotherShape(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> ADD.execute(ctx, 1L, "one", new Money(100), null, null, null));
            // A table known only by its name, plain SQL: jOOQ knows no columns, the records would have none.
            assertThatThrownBy(() -> PreparedQuery.of(DSL.selectFrom(ITEMS).where(ID.eq(FROM)), "from"))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("its columns are not known when it is declared");
            assertThatThrownBy(() -> PreparedQuery.of(DSL.resultQuery("SELECT id, label FROM items")))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("its columns are not known when it is declared");
            // A * over columns jOOQ knows: the server's columns at run time, read by position. One added, and every
            // read would shift or fail where a statement naming its columns goes on as before.
            Table<?> known = DSL.select(ID, LABEL).from(ITEMS).asTable("known");
            assertThatThrownBy(() -> PreparedQuery.of(DSL.select(known.asterisk()).from(known)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("selects *")
                    .hasMessageContaining("select(T.fields())");
            assertThatThrownBy(() -> PreparedQuery.of(DSL.select(DSL.asterisk()).from(known)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining("selects *");
            assertThat(PreparedQuery.of(DSL.select(known.fields()).from(known)).sql(DSL.using(SQLDialect.POSTGRES)))
                    .startsWith("select \"known\".\"id\", \"known\".\"label\"");
            // Plain SQL coerced to fields of its own: rows of another width fail the call, never misread.
            PreparedQuery<Record1<Long>> twoForOne = PreparedQuery.of(DSL.resultQuery("SELECT id, label FROM items")
                    .coerce(ID));
            ExecuteListener watching = ExecuteListener.onExecuteStart(ignored -> { });
            List<Consumer<DSLContext>> calls = List.of(ctx -> twoForOne.fetch(ctx), ctx -> twoForOne.fetchOne(ctx),
                    ctx -> twoForOne.fetch(DSL.using(ctx.configuration()
                            .derive(new DefaultExecuteListenerProvider(watching)))));
            for (Consumer<DSLContext> call : calls) {
                assertThatThrownBy(() -> sessions.transaction(ctx -> {
                    ADD.execute(ctx, 2L, "two", null, null, null, null);
                    call.accept(ctx);
                }))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("returned 2 columns, but it reads 1 (id)");
            }
            assertThat(queryLong(db, "SELECT count(*) FROM items")).isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }

    /** What jOOQ's code generator writes for {@code CREATE TYPE shop.size AS ENUM ('small', 'large')}. */
    enum Size implements EnumType {
        SMALL("small"), LARGE("large");

        private final String literal;

        Size(String literal) {
            this.literal = literal;
        }

        @Override
        public String getLiteral() {
            return literal;
        }

        @Override
        public String getName() {
            return "size";
        }

        @Override
        public Schema getSchema() {
            return DSL.schema(DSL.name("shop"));
        }
    }

    /** A user's binding: PostgreSQL's inet as an InetAddress, cast in the SQL, bound and read as text. */
    private static final DataType<InetAddress> INET = SQLDataType.OTHER.asConvertedDataType(Binding.of(
            Converter.ofNullable(Object.class, InetAddress.class, value -> address(value.toString()),
                    InetAddress::getHostAddress),
            sql -> sql.render().sql(sql.variable()).sql("::inet"),
            get -> get.value(readInet(get.resultSet(), get.index())),
            set -> bindInet(set.statement(), set.index(), set.value())));

    private static InetAddress readInet(ResultSet row, int index) {
        try {
            String text = row.getString(index);
            return text == null ? null : address(text);
        } catch (SQLException e) {
            throw new DataAccessException("Could not read inet column " + index, e);
        }
    }

    private static void bindInet(PreparedStatement statement, int index, InetAddress value) {
        try {
            statement.setString(index, value == null ? null : value.getHostAddress());
        } catch (SQLException e) {
            throw new DataAccessException("Could not bind inet parameter " + index, e);
        }
    }

    private static InetAddress address(String literal) {
        try {
            return InetAddress.getByName(literal); // a literal address: no lookup
        } catch (UnknownHostException e) {
            throw new IllegalArgumentException(literal, e);
        }
    }

    private static final Table<Record> STOCK = table(name("shop", "stock"));
    private static final Field<Long> STOCK_ID = field(name("stock", "id"), SQLDataType.BIGINT);
    private static final Field<Size> SIZE = field(name("stock", "size"),
            SQLDataType.VARCHAR.asEnumDataType(Size.class));
    private static final Field<JSONB> DOC = field(name("stock", "doc"), SQLDataType.JSONB);
    private static final Field<Integer[]> CODES = field(name("stock", "codes"), SQLDataType.INTEGER.array());
    private static final Field<JSON> NOTE = field(name("stock", "note"), SQLDataType.JSON);
    private static final Field<String[]> LABELS = field(name("stock", "labels"), SQLDataType.VARCHAR.array());

    private static final PreparedQuery<Record> STOCK_ADD = PreparedQuery.of(
            DSL.insertInto(STOCK, STOCK_ID, SIZE, DOC, CODES, NOTE, LABELS).values(param("id", STOCK_ID),
                    param("size", SIZE), param("doc", DOC), param("codes", CODES), param("note", NOTE),
                    param("labels", LABELS)),
            "id", "size", "doc", "codes", "note", "labels");
    private static final PreparedQuery<Record6<Long, Size, JSONB, Integer[], JSON, String[]>> STOCK_OF =
            PreparedQuery.of(DSL.select(STOCK_ID, SIZE, DOC, CODES, NOTE, LABELS).from(STOCK)
                    .where(STOCK_ID.eq(DSL.any(param("ids", SQLDataType.BIGINT.array())))).orderBy(STOCK_ID),
                    "ids");
    private static final PreparedQuery<Record1<Long>> STOCK_BY_SIZE_AND_LABEL = PreparedQuery.of(
            DSL.select(STOCK_ID).from(STOCK).where(SIZE.eq(param("size", SIZE)))
                    .and(LABELS.contains(param("labels", LABELS))).orderBy(STOCK_ID), "size", "labels");

    @Test
    void bindsAndReadsEnumsJsonAndArraysAsTheDslDoesAndTakesAListAsOneArrayParameter(TestDatabase db) {
        execute(db, "DROP SCHEMA IF EXISTS shop CASCADE", "CREATE SCHEMA shop",
                "CREATE TYPE shop.size AS ENUM ('small', 'large')",
                "CREATE TABLE shop.stock (id bigint PRIMARY KEY, size shop.size, doc jsonb, codes int[], note json,"
                        + " labels varchar(20)[])");
        List<String> executed = new ArrayList<>();
        ExecuteListener recorder = ExecuteListener.onExecuteStart(ctx -> executed.add(ctx.sql()));
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                assertThat(STOCK_ADD.execute(ctx, 1L, Size.LARGE, JSONB.valueOf("{\"colour\": \"red\"}"),
                        new Integer[] {3, 1}, JSON.valueOf("{\"b\": 2,  \"a\": 1}"), new String[] {"new", "sale"}))
                        .isEqualTo(1);
                STOCK_ADD.execute(ctx, 2L, null, null, null, null, null);
                STOCK_ADD.execute(ctx, 3L, Size.LARGE, null, new Integer[0], null, new String[] {"sale"});
                // The same statement where a listener watches: through jOOQ, with jOOQ's bindings.
                DSLContext watched = DSL.using(ctx.configuration()
                        .derive(new DefaultExecuteListenerProvider(recorder)));
                STOCK_ADD.execute(watched, 4L, Size.SMALL, JSONB.valueOf("[]"), new Integer[] {7}, null,
                        new String[0]);
            });
            sessions.transaction(ctx -> {
                var viaDsl = ctx.select(STOCK_ID, SIZE, DOC, CODES, NOTE, LABELS).from(STOCK).orderBy(STOCK_ID)
                        .fetch();
                // An array given as a call's only argument is that argument, not Java's varargs array.
                var prepared = STOCK_OF.fetch(ctx, new Long[] {1L, 2L, 3L, 4L});
                assertThat(prepared).hasSize(4).containsExactlyElementsOf(viaDsl);
                assertThat(prepared.get(0).value2()).isEqualTo(Size.LARGE);
                assertThat(prepared.get(0).value3().data()).isEqualTo("{\"colour\": \"red\"}");
                assertThat(prepared.get(0).value4()).containsExactly(3, 1);
                assertThat(prepared.get(0).value5().data()).isEqualTo("{\"b\": 2,  \"a\": 1}"); // json keeps its text
                assertThat(prepared.get(0).value6()).containsExactly("new", "sale");
                assertThat(prepared.get(1).intoList()).containsExactly(2L, null, null, null, null, null);
                assertThat(prepared.get(3).value2()).isEqualTo(Size.SMALL);
                DSLContext watched = DSL.using(ctx.configuration()
                        .derive(new DefaultExecuteListenerProvider(recorder)));
                assertThat(STOCK_OF.fetch(watched, (Object) new Long[] {1L, 2L, 3L, 4L})).containsExactlyElementsOf(
                        viaDsl);
                assertThat(STOCK_OF.fetch(ctx, (Object) new Long[] {3L})).extracting(Record6::value1)
                        .containsExactly(3L);
                assertThat(STOCK_OF.fetch(ctx, (Object) new Long[0])).isEmpty();
                assertThat(STOCK_BY_SIZE_AND_LABEL.fetch(ctx, Record1::value1, Size.LARGE, new String[] {"sale"}))
                        .containsExactly(1L, 3L);
                assertThat(STOCK_OF.fetchOne(ctx, (Object) new Long[] {2L}).value1()).isEqualTo(2L);
                assertThatThrownBy(() -> STOCK_OF.fetchOne(ctx, (Object) new Long[] {1L, 3L}))
                        .isInstanceOf(TooManyRowsException.class);
                assertThatThrownBy(() -> STOCK_OF.fetch(ctx, (Object) new Integer[] {1}))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageEndingWith(
                                "parameter 'ids' takes java.lang.Long[], but was given a java.lang.Integer[]");
                assertThatThrownBy(() -> STOCK_BY_SIZE_AND_LABEL.fetch(ctx, "large", new String[0]))
                        .isInstanceOf(IllegalArgumentException.class)
                        .hasMessageEndingWith("parameter 'size' takes " + Size.class.getName()
                                + ", but was given a java.lang.String");
            });
            assertThat(executed).hasSize(2);
            assertThat(queryLong(db, "SELECT count(*) FROM shop.stock WHERE size = 'large' AND codes = '{3,1}'"
                    + " AND doc->>'colour' = 'red' AND note->>'a' = '1' AND labels = '{new,sale}'")).isEqualTo(1);
            // A refused statement rolls its transaction back, as the DSL's does.
            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                STOCK_ADD.execute(ctx, 5L, Size.SMALL, null, null, null, null);
                STOCK_ADD.execute(ctx, 1L, Size.SMALL, null, null, null, null);
            }))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("23505"));
            // A label the Java enum lacks (the database type gained one since it was generated) is refused by name.
            execute(db, "ALTER TYPE shop.size ADD VALUE 'huge'", "UPDATE shop.stock SET size = 'huge' WHERE id = 4");
            assertThatThrownBy(() -> sessions.transaction(ctx -> STOCK_OF.fetch(ctx, (Object) new Long[] {4L})))
                    .hasMessageContaining("'huge', which is no literal of " + Size.class.getName());
            assertThat(queryLong(db, "SELECT count(*) FROM shop.stock")).isEqualTo(4);
            db.assertNothingLeaked(sessions);
        }
    }

    private static final Table<Record> TASKS = table(name("tasks"));
    private static final Field<Long> TASK_ID = field(name("tasks", "id"), SQLDataType.BIGINT);
    private static final Field<DayToSecond> TIMEOUT = field(name("tasks", "timeout"),
            SQLDataType.INTERVALDAYTOSECOND);
    private static final Field<YearToMonth> TERM = field(name("tasks", "term"), SQLDataType.INTERVALYEARTOMONTH);
    private static final Field<YearToSecond> SPAN = field(name("tasks", "span"), SQLDataType.INTERVAL);
    /** An interval as a {@link Duration}, through a converter as a code generator's forced type gives it. */
    private static final Field<Duration> RETRY_AFTER = field(name("tasks", "retry_after"),
            SQLDataType.INTERVALDAYTOSECOND.asConvertedDataType(Converter.ofNullable(DayToSecond.class,
                    Duration.class, DayToSecond::toDuration, DayToSecond::valueOf)));

    @Test
    void bindsAndReadsIntervalsAsTheDslDoesOfEachOfJooqsIntervalTypesAndThroughAConverter(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS tasks", "CREATE TABLE tasks (id bigint PRIMARY KEY, timeout interval,"
                + " term interval, span interval, retry_after interval)");
        PreparedQuery<Record> add = PreparedQuery.of(DSL.insertInto(TASKS, TASK_ID, TIMEOUT, TERM, SPAN, RETRY_AFTER)
                .values(param("id", TASK_ID), param("timeout", TIMEOUT), param("term", TERM), param("span", SPAN),
                        param("retryAfter", RETRY_AFTER)), "id", "timeout", "term", "span", "retryAfter");
        PreparedQuery<Record5<Long, DayToSecond, YearToMonth, YearToSecond, Duration>> all = PreparedQuery.of(
                DSL.select(TASK_ID, TIMEOUT, TERM, SPAN, RETRY_AFTER).from(TASKS).orderBy(TASK_ID));
        PreparedQuery<Record1<Long>> slowerThan = PreparedQuery.of(DSL.select(TASK_ID).from(TASKS)
                .where(TIMEOUT.gt(param("limit", TIMEOUT))).orderBy(TASK_ID), "limit");
        DayToSecond ninetyMinutes = new DayToSecond(0, 1, 30);
        // Half a second: jOOQ reads a YearToSecond's seconds through a double, which 0.789 would not survive exactly
        // (the DSL reads 06.788999999 too).
        YearToSecond span = new YearToSecond(new YearToMonth(1, 2), new DayToSecond(3, 4, 5, 6, 500_000_000));
        DayToSecond minusOneAndAHalfSeconds = (DayToSecond) new DayToSecond(0, 0, 0, 1, 500_000_000).neg();
        List<String> executed = new ArrayList<>();
        ExecuteListener recorder = ExecuteListener.onExecuteStart(ctx -> executed.add(ctx.sql()));
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                add.execute(ctx, 1L, ninetyMinutes, new YearToMonth(1, 6), span, Duration.ofSeconds(90));
                add.execute(ctx, 2L, null, null, null, null);
                // Through jOOQ, where a listener watches: jOOQ's own bindings.
                add.execute(DSL.using(ctx.configuration().derive(new DefaultExecuteListenerProvider(recorder))),
                        3L, minusOneAndAHalfSeconds, new YearToMonth(0, 0), null, Duration.ofDays(2).plusMillis(5));
            });
            var viaDsl = sessions.transactionResult(ctx -> ctx.select(TASK_ID, TIMEOUT, TERM, SPAN, RETRY_AFTER)
                    .from(TASKS).orderBy(TASK_ID).fetch());
            var prepared = sessions.transactionResult(ctx -> all.fetch(ctx));
            List<Long> slower = sessions.transactionResult(
                    ctx -> slowerThan.fetch(ctx, Record1::value1, new DayToSecond(0, 1)));

            assertThat(prepared).containsExactlyElementsOf(viaDsl);
            assertThat(prepared.get(0).value2()).isEqualTo(ninetyMinutes);
            assertThat(prepared.get(0).value3()).isEqualTo(new YearToMonth(1, 6));
            assertThat(prepared.get(0).value4()).isEqualTo(span);
            assertThat(prepared.get(0).value5()).isEqualTo(Duration.ofSeconds(90));
            assertThat(prepared.get(1).intoList()).containsExactly(2L, null, null, null, null);
            assertThat(prepared.get(2).value2()).isEqualTo(minusOneAndAHalfSeconds);
            assertThat(prepared.get(2).value5()).isEqualTo(Duration.ofDays(2).plusMillis(5));
            assertThat(slower).containsExactly(1L);
            assertThat(executed).hasSize(1);
            assertThat(queryLong(db, "SELECT count(*) FROM tasks WHERE timeout = interval '90 minutes'"
                    + " AND term = interval '18 months' AND retry_after = interval '90 seconds'"
                    + " AND span = interval '1 year 2 months 3 days 04:05:06.5'")).isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }

    private static final Table<Record> SAMPLES = table(name("samples"));
    private static final Field<Long> SAMPLE_ID = field(name("samples", "id"), SQLDataType.BIGINT);
    private static final Field<Short> SMALL = field(name("samples", "small"), SQLDataType.SMALLINT);
    private static final Field<Float> REAL = field(name("samples", "real"), SQLDataType.REAL);
    private static final Field<Double> DOUBLE = field(name("samples", "double"), SQLDataType.DOUBLE);
    private static final Field<Boolean> FLAG = field(name("samples", "flag"), SQLDataType.BOOLEAN);
    private static final Field<byte[]> BYTES = field(name("samples", "bytes"), SQLDataType.BLOB);
    private static final Field<BigInteger> HUGE = field(name("samples", "huge"), SQLDataType.DECIMAL_INTEGER);
    private static final Field<LocalDate> DAY = field(name("samples", "day"), SQLDataType.LOCALDATE);
    private static final Field<LocalTime> AT = field(name("samples", "at"), SQLDataType.LOCALTIME);
    private static final Field<LocalDateTime> WHEN = field(name("samples", "when"), SQLDataType.LOCALDATETIME);
    private static final Field<OffsetTime> ZONED_AT = field(name("samples", "zoned_at"),
            SQLDataType.TIMEWITHTIMEZONE);
    // What jOOQ's code generator writes with <javaTimeTypes>false</javaTimeTypes>: JDBC's own date and time types.
    private static final Field<Date> SQL_DAY = field(name("samples", "sql_day"), SQLDataType.DATE);
    private static final Field<Time> SQL_AT = field(name("samples", "sql_at"), SQLDataType.TIME);
    private static final Field<Timestamp> SQL_WHEN = field(name("samples", "sql_when"), SQLDataType.TIMESTAMP);

    @Test
    void bindsAndReadsEachScalarTypeItTakesAsTheDslDoesWithNulls(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS samples", "CREATE TABLE samples (id bigint PRIMARY KEY, small smallint,"
                + " real real, double double precision, flag boolean, bytes bytea, huge numeric(30, 0), day date,"
                + " at time, \"when\" timestamp, zoned_at timetz, sql_day date, sql_at time, sql_when timestamp)");
        List<Field<?>> columns = List.of(SAMPLE_ID, SMALL, REAL, DOUBLE, FLAG, BYTES, HUGE, DAY, AT, WHEN, ZONED_AT,
                SQL_DAY, SQL_AT, SQL_WHEN);
        var insert = DSL.insertInto(SAMPLES).columns(columns).values(columns.stream()
                .map(column -> (Field<?>) param(column.getName(), column)).toList());
        PreparedQuery<Record> add = PreparedQuery.of(insert, columns.stream().map(Field::getName)
                .toArray(String[]::new));
        var select = DSL.select(columns).from(SAMPLES).orderBy(SAMPLE_ID);
        PreparedQuery<Record> all = PreparedQuery.of(select);
        LocalDateTime when = LocalDateTime.of(2026, 12, 6, 8, 30, 15, 250_000_000);
        Object[] full = {1L, (short) -7, 1.5f, Math.PI, true, new byte[] {0, 1, (byte) 0xff},
                new BigInteger("123456789012345678901234567890"), when.toLocalDate(), when.toLocalTime(), when,
                OffsetTime.of(21, 0, 0, 0, ZoneOffset.ofHours(-5)), Date.valueOf(when.toLocalDate()),
                Time.valueOf(when.toLocalTime().withNano(0)), Timestamp.valueOf(when)};
        Object[] empty = new Object[columns.size()];
        empty[0] = 2L;
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                add.execute(ctx, full);
                add.execute(ctx, empty);
            });
            var viaDsl = sessions.transactionResult(ctx -> ctx.fetch(select));
            var prepared = sessions.transactionResult(ctx -> all.fetch(ctx));

            assertThat(prepared).hasSize(2);
            for (int column = 0; column < columns.size(); column++) {
                assertThat(prepared.get(0).get(column)).as(columns.get(column).getName())
                        .isEqualTo(viaDsl.get(0).get(column))
                        .isEqualTo(full[column]);
                assertThat(prepared.get(1).get(column)).as(columns.get(column).getName())
                        .isEqualTo(viaDsl.get(1).get(column))
                        .isEqualTo(empty[column]);
            }
            assertThat(queryLong(db, "SELECT count(*) FROM samples WHERE small = -7 AND real = 1.5 AND flag"
                    + " AND bytes = '\\x0001ff' AND huge = 123456789012345678901234567890 AND day = '2026-12-06'"
                    + " AND at = '08:30:15.25' AND \"when\" = '2026-12-06 08:30:15.25' AND zoned_at = '21:00-05'"
                    + " AND sql_day = day AND sql_at = '08:30:15' AND sql_when = \"when\"")).isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }

    private static final Table<Record> MOMENTS = table(name("moments"));
    private static final Field<Integer> MOMENT_ID = field(name("moments", "id"), SQLDataType.INTEGER);
    private static final Field<OffsetDateTime> MOMENT_AT = field(name("moments", "at"),
            SQLDataType.TIMESTAMPWITHTIMEZONE);
    private static final Field<OffsetDateTime[]> MOMENT_ATS = field(name("moments", "ats"),
            SQLDataType.TIMESTAMPWITHTIMEZONE.array());
    private static final Field<OffsetTime> MOMENT_ZONED = field(name("moments", "zoned"),
            SQLDataType.TIMEWITHTIMEZONE);

    /**
     * The server writes a {@code timestamptz} in the session's time zone, which the driver sets to the JVM's at
     * connect (a laptop in Berlin, a server in Tokyo), and jOOQ keeps the offset it was written with, where the
     * driver's {@code getObject} turns it to UTC. Six runs of each, so that the driver's binary transfer (from its
     * fifth run of a statement) is read as well as its text; the DSL's query is written to render another text than
     * the prepared one, so that the driver counts the runs of each apart and reads both the same way in each run.
     */
    @Test
    void readsTimesWithTimeZoneInTheOffsetTheSessionWritesThemWithAsTheDslDoes(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS moments", "CREATE TABLE moments (id int PRIMARY KEY, at timestamptz,"
                        + " ats timestamptz[], zoned timetz)",
                "INSERT INTO moments VALUES (1, '2026-01-15 12:00:00+00', '{\"2026-07-15 12:00:00+00\"}',"
                        + " '21:00-05'), (2, '1850-01-01 00:00:00+00', '{}', '00:30+05:30'),"
                        + " (3, '0044-03-15 12:00:00+00 BC', NULL, NULL), (4, '12026-12-06 08:30:15.5+00', NULL,"
                        + " NULL), (5, NULL, '{NULL}', NULL)");
        var all = PreparedQuery.of(DSL.select(MOMENT_ID, MOMENT_AT, MOMENT_ATS, MOMENT_ZONED).from(MOMENTS)
                .orderBy(MOMENT_ID));
        var select = DSL.select(MOMENT_ID, MOMENT_AT, MOMENT_ATS, MOMENT_ZONED).from(MOMENTS)
                .orderBy(MOMENT_ID.asc());
        OffsetTime ninePm = OffsetTime.of(21, 0, 0, 0, ZoneOffset.ofHours(-5));
        try (SessionManager sessions = Managers.on(db).build();
             SessionManager asTheDriverReads = Managers.on(db).settings(new Settings()
                     .withBindOffsetDateTimeType(true).withBindOffsetTimeType(true)).build()) {
            for (String zone : List.of("Europe/Berlin", "Asia/Tokyo", "UTC")) {
                for (SessionManager manager : List.of(sessions, asTheDriverReads)) {
                    for (int run = 1; run <= 6; run++) {
                        int round = run;
                        manager.transaction(ctx -> {
                            ctx.execute("SET LOCAL TimeZone = '" + zone + "'");
                            var viaDsl = ctx.fetch(select);
                            var prepared = all.fetch(ctx);
                            assertThat(prepared).hasSize(5);
                            for (int row = 0; row < 5; row++) {
                                for (int column = 1; column < 3; column++) {
                                    assertThat(prepared.get(row).get(column))
                                            .as("%s, run %d, row %d, column %d", zone, round, row + 1, column + 1)
                                            .isEqualTo(viaDsl.get(row).get(column));
                                }
                            }
                            // The offset it was stored with, as jOOQ reads it where the driver reads text (in
                            // binary, from a statement's fifth run, the driver's text of it has the session's).
                            assertThat(prepared.get(0).get(MOMENT_ZONED)).isEqualTo(ninePm);
                        });
                    }
                }
            }
            sessions.transaction(ctx -> {
                ctx.execute("SET LOCAL TimeZone = 'Europe/Berlin'");
                var first = all.fetch(ctx).get(0);
                assertThat(first.get(MOMENT_AT)).isEqualTo(OffsetDateTime.of(2026, 1, 15, 13, 0, 0, 0,
                        ZoneOffset.ofHours(1)));
                // jOOQ reads the elements of an array from the driver's Timestamps, in the JVM's time zone.
                assertThat(first.get(MOMENT_ATS)).containsExactly(OffsetDateTime.of(2026, 7, 15, 12, 0, 0, 0,
                        ZoneOffset.UTC).atZoneSameInstant(ZoneId.systemDefault()).toOffsetDateTime());
            });
            asTheDriverReads.transaction(ctx -> {
                ctx.execute("SET LOCAL TimeZone = 'Europe/Berlin'");
                assertThat(all.fetch(ctx).get(0).get(MOMENT_AT)).isEqualTo(OffsetDateTime.of(2026, 1, 15, 12, 0, 0,
                        0, ZoneOffset.UTC));
            });
            db.assertNothingLeaked(sessions);
        }
    }

    private static final Table<Record> SIGHTINGS = table(name("sightings"));
    private static final Field<Integer> SIGHTING_ID = field(name("sightings", "id"), SQLDataType.INTEGER);
    private static final Field<Instant> SEEN = field(name("sightings", "seen"), SQLDataType.INSTANT);
    private static final Field<Instant[]> SEEN_AGAIN = field(name("sightings", "seen_again"),
            SQLDataType.INSTANT.array());

    /** jOOQ's {@code SQLDataType.INSTANT}: what a forced type makes of a {@code timestamptz} column. */
    @Test
    void bindsAndReadsInstantsAndArraysOfThemAsTheDslDoes(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS sightings", "CREATE TABLE sightings (id int PRIMARY KEY, seen timestamptz,"
                + " seen_again timestamptz[])");
        var add = PreparedQuery.of(DSL.insertInto(SIGHTINGS, SIGHTING_ID, SEEN, SEEN_AGAIN).values(
                param("id", SIGHTING_ID), param("seen", SEEN), param("again", SEEN_AGAIN)), "id", "seen", "again");
        var since = PreparedQuery.of(DSL.select(SIGHTING_ID).from(SIGHTINGS).where(SEEN.ge(param("since", SEEN)))
                .orderBy(SIGHTING_ID), "since");
        var select = DSL.select(SIGHTING_ID, SEEN, SEEN_AGAIN).from(SIGHTINGS).orderBy(SIGHTING_ID);
        var all = PreparedQuery.of(select);
        Instant first = Instant.parse("2026-12-06T09:30:15.123456Z");
        Instant later = Instant.parse("2027-07-01T00:00:00Z");
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                add.execute(ctx, 1, first, new Instant[] {first, null, later});
                add.execute(ctx, 2, later, new Instant[0]);
                add.execute(ctx, 3, null, null);
            });
            sessions.transaction(ctx -> {
                ctx.execute("SET LOCAL TimeZone = 'Asia/Tokyo'");
                var viaDsl = ctx.fetch(select);
                var prepared = all.fetch(ctx);
                assertThat(prepared).hasSize(3);
                for (int row = 0; row < 3; row++) {
                    for (int column = 0; column < 3; column++) {
                        assertThat(prepared.get(row).get(column)).as("row %d, column %d", row + 1, column + 1)
                                .isEqualTo(viaDsl.get(row).get(column));
                    }
                }
                // Where a listener watches, through jOOQ's own bindings.
                var watched = all.fetch(DSL.using(ctx.configuration().derive(
                        new DefaultExecuteListenerProvider(ExecuteListener.onExecuteStart(context -> { })))));
                assertThat(watched.get(0).value3()).containsExactly(prepared.get(0).value3());
                assertThat(watched.get(0).value2()).isEqualTo(first);
                assertThat(prepared.get(0).value2()).isEqualTo(first);
                assertThat(prepared.get(0).value3()).containsExactly(first, null, later);
                assertThat(prepared.get(1).value3()).isEmpty();
                assertThat(prepared.get(2).value2()).isNull();
                assertThat(since.fetch(ctx, later)).extracting(Record1::value1).containsExactly(2);
            });
            assertThat(queryLong(db, "SELECT count(*) FROM sightings WHERE seen = '2026-12-06 09:30:15.123456+00'"
                    + " AND seen_again[2] IS NULL AND seen_again[3] = '2027-07-01 00:00:00+00'")).isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }

    private static final Table<Record> SHIFTS = table(name("shop", "shifts"));
    private static final Field<Long> SHIFT_ID = field(name("shifts", "id"), SQLDataType.BIGINT);
    private static final Field<Size[]> SIZES = field(name("shifts", "sizes"),
            SQLDataType.VARCHAR.asEnumDataType(Size.class).array());
    private static final Field<LocalDate[]> DAYS = field(name("shifts", "days"), SQLDataType.LOCALDATE.array());
    private static final Field<LocalTime[]> STARTS = field(name("shifts", "starts"), SQLDataType.LOCALTIME.array());
    private static final Field<LocalDateTime[]> SLOTS = field(name("shifts", "slots"),
            SQLDataType.LOCALDATETIME.array());
    private static final Field<OffsetDateTime[]> STAMPS = field(name("shifts", "stamps"),
            SQLDataType.TIMESTAMPWITHTIMEZONE.array());
    private static final Field<OffsetTime[]> ZONED = field(name("shifts", "zoned"),
            SQLDataType.TIMEWITHTIMEZONE.array());
    private static final Field<JSONB[]> DOCS = field(name("shifts", "docs"), SQLDataType.JSONB.array());
    private static final Field<Timestamp[]> LEGACY = field(name("shifts", "legacy"), SQLDataType.TIMESTAMP.array());
    private static final Field<BigInteger[]> COUNTS = field(name("shifts", "counts"),
            SQLDataType.DECIMAL_INTEGER.array());

    @Test
    void bindsAndReadsArraysOfEnumsDatesTimesJsonAndBigIntegersAsTheDslDoes(TestDatabase db) {
        execute(db, "DROP SCHEMA IF EXISTS shop CASCADE", "CREATE SCHEMA shop",
                "CREATE TYPE shop.size AS ENUM ('small', 'large')",
                "CREATE TABLE shop.shifts (id bigint PRIMARY KEY, sizes shop.size[], days date[], starts time[],"
                        + " slots timestamp[], stamps timestamptz[], zoned timetz[], docs jsonb[], legacy timestamp[],"
                        + " counts numeric[])");
        PreparedQuery<Record> add = PreparedQuery.of(DSL.insertInto(SHIFTS, SHIFT_ID, SIZES, DAYS, STARTS, SLOTS,
                STAMPS, ZONED, DOCS, LEGACY, COUNTS).values(param("id", SHIFT_ID), param("sizes", SIZES),
                        param("days", DAYS), param("starts", STARTS), param("slots", SLOTS), param("stamps", STAMPS),
                        param("zoned", ZONED), param("docs", DOCS), param("legacy", LEGACY), param("counts", COUNTS)),
                "id", "sizes", "days", "starts", "slots", "stamps", "zoned", "docs", "legacy", "counts");
        var columns = DSL.select(SHIFT_ID, SIZES, DAYS, STARTS, SLOTS, STAMPS, ZONED, DOCS, LEGACY, COUNTS)
                .from(SHIFTS).orderBy(SHIFT_ID);
        var all = PreparedQuery.of(columns);
        PreparedQuery<Record1<Long>> onAnyOf = PreparedQuery.of(DSL.select(SHIFT_ID).from(SHIFTS)
                .where(DSL.arrayOverlap(DAYS, param("days", DAYS))).and(SIZES.contains(param("sizes", SIZES)))
                .orderBy(SHIFT_ID), "days", "sizes");
        LocalDate monday = LocalDate.of(2026, 11, 30);
        OffsetDateTime stamp = OffsetDateTime.of(2026, 12, 6, 9, 30, 15, 123_456_000, ZoneOffset.ofHours(2));
        OffsetTime ninePm = OffsetTime.of(21, 0, 0, 0, ZoneOffset.ofHours(-5));
        Timestamp eightAm = Timestamp.valueOf(monday.atTime(8, 0, 0, 500_000_000));
        JSONB quoted = JSONB.valueOf("{\"say\": \"a \\\"quote\\\"\"}");
        List<String> executed = new ArrayList<>();
        ExecuteListener recorder = ExecuteListener.onExecuteStart(ctx -> executed.add(ctx.sql()));
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                add.execute(ctx, 1L, new Size[] {Size.LARGE, Size.SMALL}, new LocalDate[] {monday, null},
                        new LocalTime[] {LocalTime.of(8, 0), LocalTime.of(13, 45, 30)},
                        new LocalDateTime[] {monday.atTime(8, 0, 0, 250_000_000)}, new OffsetDateTime[] {stamp},
                        new OffsetTime[] {ninePm}, new JSONB[] {quoted, null}, new Timestamp[] {eightAm},
                        new BigInteger[] {BigInteger.TEN.pow(25), BigInteger.ONE.negate()});
                add.execute(ctx, 2L, null, null, null, null, null, null, null, null, null);
                add.execute(ctx, 3L, new Size[0], new LocalDate[0], new LocalTime[0], new LocalDateTime[0],
                        new OffsetDateTime[0], new OffsetTime[0], new JSONB[0], new Timestamp[0], new BigInteger[0]);
                // Through jOOQ, where a listener watches: jOOQ's own bindings.
                add.execute(DSL.using(ctx.configuration().derive(new DefaultExecuteListenerProvider(recorder))),
                        4L, new Size[] {Size.SMALL}, new LocalDate[] {monday.plusDays(1)},
                        new LocalTime[] {LocalTime.NOON}, new LocalDateTime[] {monday.atStartOfDay()},
                        new OffsetDateTime[] {stamp.withOffsetSameInstant(ZoneOffset.UTC)},
                        new OffsetTime[] {ninePm}, new JSONB[] {JSONB.valueOf("[1, 2]")}, new Timestamp[] {eightAm},
                        new BigInteger[] {BigInteger.TWO});
            });
            var viaDsl = sessions.transactionResult(ctx -> ctx.fetch(columns));
            var prepared = sessions.transactionResult(ctx -> all.fetch(ctx));
            var watched = sessions.transactionResult(ctx -> all.fetch(
                    DSL.using(ctx.configuration().derive(new DefaultExecuteListenerProvider(recorder)))));

            assertThat(prepared).hasSize(4);
            assertThat(watched).hasSize(4);
            for (int row = 0; row < 4; row++) {
                for (int column = 0; column < 10; column++) {
                    assertThat(prepared.get(row).get(column)).as("row %d, column %d", row + 1, column + 1)
                            .isEqualTo(viaDsl.get(row).get(column))
                            .isEqualTo(watched.get(row).get(column));
                }
            }
            assertThat(prepared.get(0).get(SIZES)).containsExactly(Size.LARGE, Size.SMALL);
            assertThat(prepared.get(0).get(DAYS)).containsExactly(monday, null);
            assertThat(prepared.get(0).get(STARTS)).containsExactly(LocalTime.of(8, 0), LocalTime.of(13, 45, 30));
            assertThat(prepared.get(0).get(SLOTS)).containsExactly(monday.atTime(8, 0, 0, 250_000_000));
            assertThat(prepared.get(0).get(STAMPS)).singleElement()
                    .satisfies(read -> assertThat(read.toInstant()).isEqualTo(stamp.toInstant()));
            assertThat(prepared.get(0).get(ZONED)).containsExactly(ninePm);
            assertThat(prepared.get(0).get(DOCS)).containsExactly(quoted, null);
            assertThat(prepared.get(0).get(LEGACY)).containsExactly(eightAm);
            assertThat(prepared.get(0).get(COUNTS)).containsExactly(BigInteger.TEN.pow(25), BigInteger.ONE.negate());
            assertThat(prepared.get(1).intoList()).containsExactly(2L, null, null, null, null, null, null, null, null,
                    null);
            assertThat(prepared.get(2).get(SIZES)).isEmpty();
            List<Long> found = sessions.transactionResult(ctx -> onAnyOf.fetch(ctx, Record1::value1,
                    new LocalDate[] {monday.plusDays(1), monday.minusDays(1)}, new Size[] {Size.SMALL}));
            assertThat(found).containsExactly(4L);
            assertThat(executed).hasSize(2);
            assertThat(queryLong(db, "SELECT count(*) FROM shop.shifts WHERE sizes = '{large,small}'"
                    + " AND days = '{2026-11-30,NULL}' AND starts = '{08:00,13:45:30}'"
                    + " AND slots = '{\"2026-11-30 08:00:00.25\"}' AND stamps = '{\"2026-12-06 07:30:15.123456Z\"}'"
                    + " AND zoned = '{21:00-05}' AND legacy = '{\"2026-11-30 08:00:00.5\"}'"
                    + " AND counts = '{10000000000000000000000000,-1}'"
                    + " AND docs[1]->>'say' = 'a \"quote\"' AND docs[2] IS NULL")).isEqualTo(1);
            // An element the Java enum lacks is refused by name, as a column's value is.
            execute(db, "ALTER TYPE shop.size ADD VALUE 'huge'",
                    "UPDATE shop.shifts SET sizes = '{small,huge}' WHERE id = 4");
            assertThatThrownBy(() -> sessions.transaction(ctx -> all.fetch(ctx)))
                    .hasMessageContaining("'huge', which is no literal of " + Size.class.getName());
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void findsRowsByAListOfUuidsOrOfDecimalsGivenAsOneArrayParameter(TestDatabase db) {
        createItems(db);
        UUID first = UUID.randomUUID();
        UUID second = UUID.randomUUID();
        PreparedQuery<Record1<Long>> byTags = PreparedQuery.of(DSL.select(ID).from(ITEMS)
                .where(TAG.eq(DSL.any(param("tags", SQLDataType.UUID.array())))).orderBy(ID), "tags");
        PreparedQuery<Record1<Long>> byWeights = PreparedQuery.of(DSL.select(ID).from(ITEMS)
                .where(WEIGHT.eq(DSL.any(param("weights", SQLDataType.NUMERIC(10, 3).array())))).orderBy(ID),
                "weights");
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                ADD.execute(ctx, 1L, "one", null, new BigDecimal("1.500"), null, first);
                ADD.execute(ctx, 2L, "two", null, new BigDecimal("2.250"), null, second);
                ADD.execute(ctx, 3L, "three", null, null, null, UUID.randomUUID());
            });
            sessions.transaction(ctx -> {
                assertThat(byTags.fetch(ctx, Record1::value1, (Object) new UUID[] {second, first}))
                        .containsExactly(1L, 2L);
                assertThat(byTags.fetch(ctx, Record1::value1, (Object) new UUID[0])).isEmpty();
                assertThat(byWeights.fetch(ctx, Record1::value1, (Object) new BigDecimal[] {new BigDecimal("2.25")}))
                        .containsExactly(2L);
            });
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void refusesAContextWithAVisitListenerWhichMayRenderItsSqlOtherwiseOnEveryCall(TestDatabase db) {
        createItems(db);
        execute(db, "DROP TABLE IF EXISTS archived_items", "CREATE TABLE archived_items (LIKE items)",
                "INSERT INTO items (id, price) VALUES (1, 100)",
                "INSERT INTO archived_items (id, price) VALUES (1, 999)");
        // A user's VisitListener that reads another table in its place, as schema mappings and tenant filters do.
        VisitListener archive = VisitListener.onVisitStart(context -> {
            if (context.queryPart() instanceof Table<?> table && table.getName().equals("items")) {
                context.queryPart(table(name("archived_items")).as(name("items")));
            }
        });
        try (SessionManager sessions = Managers.on(db).build()) {
            assertThat(sessions.transactionResult(ctx -> PRICE_OF.fetchOne(ctx, 1L)).value1())
                    .isEqualTo(new Money(100));
            sessions.transaction(ctx -> {
                DSLContext archived = DSL.using(ctx.configuration().derive(new DefaultVisitListenerProvider(archive)));
                assertThat(archived.select(PRICE).from(ITEMS).where(ID.eq(1L)).fetchOne().value1())
                        .as("the DSL, rendered with the listener").isEqualTo(new Money(999));
                assertThatThrownBy(() -> PRICE_OF.fetchOne(archived, 1L))
                        .isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("VisitListener")
                        .hasMessageContaining("use the DSL");
            });
        }
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
        ExecuteListener recorder = ExecuteListener.onExecuteStart(ctx -> executed.add(ctx.sql()));
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
    void runsManyRowsOfArgumentsAsOneBatchOnOneStatementAndReturnsEachRowsCount(TestDatabase db) {
        createItems(db);
        OffsetDateTime added = OffsetDateTime.of(2026, 12, 6, 9, 30, 0, 0, ZoneOffset.UTC);
        List<Object[]> rows = new ArrayList<>();
        for (long id = 1; id <= 200; id++) {
            rows.add(new Object[] {id, "item " + id, new Money(id * 10), id % 2 == 0 ? null : new BigDecimal("1.500"),
                    id == 1 ? added : null, id == 2 ? UUID.randomUUID() : null});
        }
        AtomicInteger open = new AtomicInteger();
        AtomicInteger prepared = new AtomicInteger();
        List<String> calls = Collections.synchronizedList(new ArrayList<>());
        try (SessionManager sessions = Managers.on(db).build()) {
            int[] inserted = sessions.transactionResult(ctx -> ADD.executeBatch(ctx, rows));

            assertThat(inserted).hasSize(200).containsOnly(1);
            sessions.transaction(ctx -> {
                var viaDsl = ctx.select(ID, LABEL, PRICE, WEIGHT, TAG).from(ITEMS).orderBy(ID).fetch();
                assertThat(RANGE.fetch(ctx, 1L, 200L)).hasSize(200).containsExactlyElementsOf(viaDsl);
                assertThat(viaDsl.get(41).value3()).isEqualTo(new Money(420));
                assertThat(viaDsl.get(2).value4()).isEqualByComparingTo("1.500");
                assertThat(viaDsl.get(3).value4()).isNull();
                assertThat(viaDsl.get(1).value5()).isEqualTo(rows.get(1)[5]);
                assertThat(ctx.select(ADDED).from(ITEMS).where(ID.eq(1L)).fetchSingle(ADDED).toInstant())
                        .isEqualTo(added.toInstant());
            });

            // An UPDATE: each row's count, 0 where no row matched.
            int[] repriced = sessions.transactionResult(ctx -> REPRICE.executeBatch(ctx, List.of(
                    new Object[] {new Money(5), 1L}, new Object[] {new Money(5), 999L},
                    new Object[] {new Money(-10), 2L})));
            assertThat(repriced).containsExactly(1, 0, 1);
            assertThat(queryLong(db, "SELECT price FROM items WHERE id = 1")).isEqualTo(15);
            assertThat(queryLong(db, "SELECT price FROM items WHERE id = 2")).isEqualTo(10);
            int[] none = sessions.transactionResult(ctx -> REPRICE.executeBatch(ctx, List.of()));
            assertThat(none).isEmpty();

            // One prepared statement for all the rows, sent as one batch and closed, also outside a transaction.
            DSLContext plain = DSL.using(tracking(sessions.dataSource(), open, prepared, calls::add),
                    SQLDialect.POSTGRES);
            List<Object[]> threeMore = List.of(new Object[] {new Money(1), 3L}, new Object[] {new Money(1), 4L},
                    new Object[] {new Money(1), 5L});
            assertThat(REPRICE.executeBatch(plain, threeMore)).containsExactly(1, 1, 1);
            assertThat(prepared.get()).isEqualTo(1);
            assertThat(open.get()).isZero();
            assertThat(calls).filteredOn(call -> call.startsWith("execute")).containsExactly("executeBatch");
            assertThat(calls).filteredOn("addBatch"::equals).hasSize(3);
            assertThat(queryLong(db, "SELECT sum(price) FROM items WHERE id BETWEEN 3 AND 5"))
                    .isEqualTo(30 + 40 + 50 + 3);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aBatchOnConnectionsWhoseDriverRewritesInsertsHasNoCountsForRewrittenRowsButWritesEveryRow(TestDatabase db) {
        createItems(db);
        String url = db.jdbcUrl() + (db.jdbcUrl().contains("?") ? "&" : "?") + "reWriteBatchedInserts=true";
        List<Object[]> rows = List.of(new Object[] {1L, "one", new Money(1), null, null, null},
                new Object[] {2L, "two", new Money(2), null, null, null},
                new Object[] {3L, "three", new Money(3), null, null, null});
        try (SessionManager rewriting = Managers.via(db, url).build()) {
            int[] counts = rewriting.transactionResult(ctx -> ADD.executeBatch(ctx, rows));

            // The driver sends rows in multi-row INSERTs of powers of two: here one of two rows, one of one.
            assertThat(counts).hasSize(3).containsOnly(Statement.SUCCESS_NO_INFO, 1)
                    .contains(Statement.SUCCESS_NO_INFO);
            assertThat(queryLong(db, "SELECT sum(price) FROM items")).isEqualTo(6);
            db.assertNothingLeaked(rewriting);
        }
    }

    @Test
    void manyRowsWithTheirGeneratedValuesInOneStatementOfArraysUnnestedAsPostgresWritesIt(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS tickets",
                "CREATE TABLE tickets (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, title text NOT NULL,"
                        + " price bigint)");
        Table<Record> tickets = table(name("tickets"));
        Field<Long> ticketId = field(name("tickets", "id"), SQLDataType.BIGINT);
        Field<String> title = field(name("tickets", "title"), SQLDataType.CLOB);
        Field<Money> price = field(name("tickets", "price"), MONEY);
        // One array parameter per column: one statement's shape for any number of rows, and RETURNING works.
        Table<?> rows = DSL.table("unnest({0}, {1})", param("titles", SQLDataType.CLOB.array()),
                param("prices", SQLDataType.BIGINT.array())).as("row", "title", "price");
        PreparedQuery<Record1<Long>> addAll = PreparedQuery.of(DSL.insertInto(tickets, title, price)
                .select(DSL.select(field(name("row", "title"), String.class), field(name("row", "price"), MONEY))
                        .from(rows))
                .returningResult(ticketId), "titles", "prices");

        try (SessionManager sessions = Managers.on(db).build()) {
            List<Long> ids = sessions.transactionResult(ctx -> addAll.fetch(ctx, record -> record.value1(),
                    new String[] {"first", "second", "third"}, new Long[] {100L, null, 300L}));
            List<Long> more = sessions.transactionResult(ctx -> addAll.fetch(ctx, record -> record.value1(),
                    new String[] {"fourth"}, new Long[] {400L}));

            assertThat(ids).hasSize(3).doesNotHaveDuplicates();
            assertThat(more).hasSize(1).doesNotContainAnyElementsOf(ids);
            sessions.transaction(ctx -> {
                assertThat(ctx.select(title, price).from(tickets).orderBy(ticketId).fetch(r -> r.value1() + " "
                        + r.value2())).containsExactly("first Money[cents=100]", "second null",
                                "third Money[cents=300]", "fourth Money[cents=400]");
                assertThat(addAll.sql(ctx)).contains("unnest(");
            });
            // A row the table refuses fails the statement, and none of its rows stays.
            assertThatThrownBy(() -> sessions.transaction(ctx -> addAll.fetch(ctx, new String[] {"fifth", null},
                    new Long[] {500L, 600L})))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("23502"));
            assertThat(queryLong(db, "SELECT count(*) FROM tickets")).isEqualTo(4);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void refusesABatchRowThatDoesNotFitBeforeSendingAnyAndABatchOfAQueryReturningRows(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            List<Object[]> secondWrong = List.of(new Object[] {1L, "one", null, null, null, null},
                    new Object[] {2L, "two", 200L, null, null, null});
            List<Object[]> thirdShort = List.of(new Object[] {1L, "one", null, null, null, null},
                    new Object[] {2L, "two", null, null, null, null}, new Object[] {3L, "three"});
            List<Object[]> withNull = new ArrayList<>();
            withNull.add(new Object[] {1L, "one", null, null, null, null});
            withNull.add(null);

            assertThatThrownBy(() -> sessions.transaction(ctx -> ADD.executeBatch(ctx, secondWrong)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(": argument row 1: parameter 'price' takes "
                            + Money.class.getTypeName() + ", but was given a java.lang.Long");
            assertThatThrownBy(() -> sessions.transaction(ctx -> ADD.executeBatch(ctx, thirdShort)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(": argument row 2 takes 6 arguments [id, label, price, weight, added, tag],"
                            + " but was given 2");
            assertThatThrownBy(() -> sessions.transaction(ctx -> ADD.executeBatch(ctx, withNull)))
                    .isInstanceOf(IllegalArgumentException.class)
                    .hasMessageContaining(": argument row 1 is null");
            assertThatThrownBy(() -> sessions.transaction(ctx -> RANGE.executeBatch(ctx,
                    List.<Object[]>of(new Object[] {1L, 2L}))))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("returns rows, which a batch cannot return");
            assertThat(queryLong(db, "SELECT count(*) FROM items")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aBatchRowTheDatabaseRefusesRollsBackTheWholeTransactionWithTheServersError(TestDatabase db) {
        createItems(db);
        try (SessionManager sessions = Managers.on(db).build()) {
            List<Object[]> duplicateThird = List.of(new Object[] {1L, "one", null, null, null, null},
                    new Object[] {2L, "two", null, null, null, null}, new Object[] {1L, "one again", null, null,
                            null, null}, new Object[] {4L, "four", null, null, null, null});

            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                ADD.execute(ctx, 10L, "before the batch", null, null, null, null);
                ADD.executeBatch(ctx, duplicateThird);
            }))
                    .isInstanceOf(DataAccessException.class)
                    .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("23505"))
                    .hasMessageContaining("insert into \"items\"")
                    .hasMessageContaining("items_pkey");
            assertThat(queryLong(db, "SELECT count(*) FROM items")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aBatchRunsAsOneJooqBatchWhereExecuteListenersWatch(TestDatabase db) {
        createItems(db);
        List<String> batches = new ArrayList<>();
        ExecuteListener recorder = new ExecuteListener() {
            @Override
            public void executeStart(ExecuteContext ctx) {
                batches.add(ctx.batchSQL().length + " " + ctx.sql());
            }
        };
        try (SessionManager sessions = Managers.on(db).executeListeners(new DefaultExecuteListenerProvider(recorder))
                .build()) {
            int[] counts = sessions.transactionResult(ctx -> {
                int[] inserted = ADD.executeBatch(ctx, List.of(new Object[] {1L, "anvil", new Money(12_50), null,
                        null, null}, new Object[] {2L, null, null, new BigDecimal("0.001"), null, null}));
                assertThat(inserted).containsExactly(1, 1);
                return REPRICE.executeBatch(ctx, List.of(new Object[] {new Money(50), 1L},
                        new Object[] {new Money(1), 3L}));
            });

            assertThat(counts).containsExactly(1, 0);
            String add = sessions.transactionResult(ADD::sql);
            String reprice = sessions.transactionResult(REPRICE::sql);
            assertThat(batches).containsExactly("1 " + add, "1 " + reprice);
            sessions.transaction(ctx -> {
                assertThat(PRICE_OF.fetchOne(ctx, 1L).value1()).isEqualTo(new Money(13_00));
                assertThat(RANGE.fetch(ctx, 2L, 2L).get(0).value4()).isEqualByComparingTo("0.001");
            });
            db.assertNothingLeaked(sessions);
        }
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
        return tracking(real, open, prepared, method -> {
        });
    }

    /** {@link #tracking(DataSource, AtomicInteger, AtomicInteger)}, also telling each prepared statement's calls. */
    private static DataSource tracking(DataSource real, AtomicInteger open, AtomicInteger prepared,
            Consumer<String> statementCalls) {
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
                                            statementCalls.accept(sm.getName());
                                            if (sm.getName().equals("close") && !statement.isClosed()) {
                                                open.decrementAndGet();
                                            }
                                            return sm.invoke(statement, sargs);
                                        });
                            });
                });
    }
}
