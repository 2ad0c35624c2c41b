package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.name;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicReference;
import java.util.function.Consumer;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.jooq.DiagnosticsContext;
import org.jooq.DiagnosticsListener;
import org.jooq.ExecuteListener;
import org.jooq.ExecuteListenerProvider;
import org.jooq.ExecuteType;
import org.jooq.Field;
import org.jooq.ConnectionProvider;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.RecordContext;
import org.jooq.RecordListener;
import org.jooq.RecordListenerProvider;
import org.jooq.RecordMapper;
import org.jooq.RecordMapperProvider;
import org.jooq.RecordType;
import org.jooq.SQLDialect;
import org.jooq.Table;
import org.jooq.TableField;
import org.jooq.TransactionContext;
import org.jooq.TransactionListener;
import org.jooq.UniqueKey;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.conf.DiagnosticsConnection;
import org.jooq.conf.RenderKeywordCase;
import org.jooq.conf.Settings;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.impl.DefaultDiagnosticsListenerProvider;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.DefaultRecordListenerProvider;
import org.jooq.impl.DefaultTransactionProvider;
import org.jooq.impl.DefaultVisitListenerProvider;
import org.jooq.impl.Internal;
import org.jooq.impl.SQLDataType;
import org.jooq.impl.TableImpl;
import org.jooq.impl.UpdatableRecordImpl;
import org.junit.jupiter.api.Test;
import org.reactivestreams.Publisher;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;
import io.r2dbc.spi.ConnectionFactory;
import io.r2dbc.spi.ConnectionFactoryMetadata;

/**
 * {@code jooqConfiguration(...)}: what a user's customizer sets on the manager's jOOQ configuration (record listeners,
 * visit listeners, a record mapper provider, settings) is in every transaction's {@code DSLContext}; what the manager
 * owns (where connections and transactions come from, the dialect) is refused before anything connects.
 */
@DatabaseTest(migrations = {})
class JooqConfigurationTest {

    /** The table as jOOQ's code generator writes it, so that its records can {@code store()} themselves. */
    static final class Notes extends TableImpl<NoteRecord> {
        static final Notes NOTES = new Notes();

        final TableField<NoteRecord, Long> id = createField(name("id"), SQLDataType.BIGINT.identity(true));
        final TableField<NoteRecord, String> body = createField(name("body"), SQLDataType.CLOB.nullable(false));
        final TableField<NoteRecord, String> writtenBy = createField(name("written_by"), SQLDataType.CLOB);

        private Notes() {
            super(name("notes"));
        }

        @Override
        public Class<NoteRecord> getRecordType() {
            return NoteRecord.class;
        }

        @Override
        public UniqueKey<NoteRecord> getPrimaryKey() {
            return Internal.createUniqueKey(this, name("notes_pkey"), id);
        }
    }

    /** A row of {@link Notes}. */
    public static final class NoteRecord extends UpdatableRecordImpl<NoteRecord> {
        public NoteRecord() {
            super(Notes.NOTES);
        }
    }

    /**
     * A type of the user's: jOOQ's own mapping would pass the body to its constructor, the application's mapper makes
     * it with {@link #of}, so the text tells which mapped it.
     */
    record Note(String text) {
        static Note of(String body) {
            return new Note("note: " + body);
        }
    }

    private static final Notes NOTES = Notes.NOTES;

    private static void createNotes(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS notes",
                "CREATE TABLE notes (id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY, body text NOT NULL,"
                        + " written_by text)");
    }

    @Test
    void aRecordListenerSetByTheCustomizerStampsTheRecordsEveryTransactionStores(TestDatabase db) {
        createNotes(db);
        // An audit listener as users write them: who wrote a row, set on every insert.
        RecordListener audit = RecordListener.onInsertStart(
                context -> ((NoteRecord) context.record()).set(NOTES.writtenBy, "auditor"));
        try (SessionManager sessions = Managers.on(db)
                .jooqConfiguration(jooq -> jooq.set(new DefaultRecordListenerProvider(audit)))
                .build()) {
            for (String body : List.of("first", "second")) {
                sessions.transaction(ctx -> {
                    NoteRecord note = ctx.newRecord(NOTES);
                    note.set(NOTES.body, body);
                    note.store();
                });
            }

            assertThat(queryLong(db, "SELECT count(*) FROM notes")).isEqualTo(2);
            assertThat(queryLong(db, "SELECT count(*) FROM notes WHERE written_by = 'auditor'"
                    + " AND body IN ('first', 'second')")).isEqualTo(2);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aRecordListenerSeesEachRowAPreparedQueryLoadsOnceAndFilledAsTheDslsRows(TestDatabase db) {
        createNotes(db);
        execute(db, "INSERT INTO notes (body) VALUES ('milk'), ('eggs')");
        // What users do on load: note each record read (a cache, a change tracker), or derive a value from it.
        List<String> events = Collections.synchronizedList(new ArrayList<>());
        RecordListener loads = new RecordListener() {
            @Override
            public void loadStart(RecordContext context) {
                events.add("start " + context.record().getClass().getSimpleName());
            }

            @Override
            public void loadEnd(RecordContext context) {
                Record record = context.record();
                events.add("end " + record.getClass().getSimpleName() + " "
                        + (record.size() > 1 ? record.get(NOTES.body) : record.get(0))
                        + (context.type() == ExecuteType.READ ? "" : " " + context.type()));
            }

            @Override
            public void exception(RecordContext context) {
                events.add("exception " + context.exception().getClass().getSimpleName());
            }
        };
        PreparedQuery<NoteRecord> notes = PreparedQuery.of(DSL.selectFrom(NOTES).orderBy(NOTES.id));
        PreparedQuery<Record1<String>> bodies = PreparedQuery.of(
                DSL.select(NOTES.body).from(NOTES).orderBy(NOTES.id));
        ExecuteListenerProvider watching = new DefaultExecuteListenerProvider(new ExecuteListener() {
        });
        try (SessionManager sessions = Managers.on(db)
                .jooqConfiguration(jooq -> jooq.set(new DefaultRecordListenerProvider(loads)))
                .build()) {
            List<List<String>> seen = new ArrayList<>();
            List<Consumer<DSLContext>> reads = List.of(
                    ctx -> ctx.selectFrom(NOTES).orderBy(NOTES.id).fetch(),
                    ctx -> notes.fetch(ctx),
                    ctx -> notes.fetch(DSL.using(ctx.configuration().derive(watching))),
                    ctx -> ctx.select(NOTES.body).from(NOTES).orderBy(NOTES.id).fetch(),
                    ctx -> bodies.fetch(ctx),
                    ctx -> bodies.fetch(DSL.using(ctx.configuration().derive(watching))));
            for (Consumer<DSLContext> read : reads) {
                events.clear();
                sessions.transaction(read::accept);
                seen.add(List.copyOf(events));
            }

            List<String> tableRecords = List.of("start NoteRecord", "end NoteRecord milk", "start NoteRecord",
                    "end NoteRecord eggs");
            assertThat(seen.get(0)).isEqualTo(tableRecords);
            assertThat(seen.get(1)).as("a PreparedQuery's table records").isEqualTo(tableRecords);
            assertThat(seen.get(2)).as("a PreparedQuery's table records, through jOOQ").isEqualTo(tableRecords);
            List<String> rows = List.of("start RecordImpl1", "end RecordImpl1 milk", "start RecordImpl1",
                    "end RecordImpl1 eggs");
            assertThat(seen.get(3)).isEqualTo(rows);
            assertThat(seen.get(4)).as("a PreparedQuery's rows").isEqualTo(rows);
            assertThat(seen.get(5)).as("a PreparedQuery's rows, through jOOQ").isEqualTo(rows);

            // A row that cannot be read: the listeners hear of it, then of the load's end, and the read fails.
            Field<Integer> count = NOTES.body.convertFrom(Integer::valueOf);
            PreparedQuery<Record1<Integer>> counts = PreparedQuery.of(DSL.select(count).from(NOTES));
            events.clear();
            assertThatThrownBy(() -> sessions.transaction(ctx -> counts.fetch(ctx)))
                    .isInstanceOf(NumberFormatException.class);
            assertThat(events).containsExactly("start RecordImpl1", "exception NumberFormatException",
                    "end RecordImpl1 null");
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aRecordMapperProviderSetByTheCustomizerMapsTheRowsOfEveryTransaction(TestDatabase db) {
        createNotes(db);
        execute(db, "INSERT INTO notes (body) VALUES ('milk'), ('eggs')");
        RecordMapperProvider notes = new RecordMapperProvider() {
            @Override
            @SuppressWarnings("unchecked")
            public <R extends org.jooq.Record, E> RecordMapper<R, E> provide(RecordType<R> type, Class<? extends E> to) {
                if (to == Note.class) {
                    return record -> (E) Note.of(record.get(NOTES.body));
                }
                throw new IllegalArgumentException("This application maps rows to notes only, not to " + to);
            }
        };
        PreparedQuery<Record1<String>> bodies = PreparedQuery.of(
                DSL.select(NOTES.body).from(NOTES).orderBy(NOTES.id));
        try (SessionManager sessions = Managers.on(db).jooqConfiguration(jooq -> jooq.set(notes)).build()) {
            List<Note> viaTheDsl = sessions.transactionResult(
                    ctx -> ctx.select(NOTES.body).from(NOTES).orderBy(NOTES.id).fetchInto(Note.class));
            List<Note> viaAPreparedQuery = sessions.transactionResult(
                    ctx -> bodies.fetch(ctx).stream().map(row -> row.into(Note.class)).toList());

            assertThat(viaTheDsl).containsExactly(new Note("note: milk"), new Note("note: eggs"));
            assertThat(viaAPreparedQuery).isEqualTo(viaTheDsl);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aVisitListenerSetByTheCustomizerSeesEveryTransactionsSqlAndPreparedQueriesAreRefusedThere(TestDatabase db) {
        createNotes(db);
        // A listener that notes the tables each statement touches, as an access log of the user's would.
        List<String> tables = Collections.synchronizedList(new ArrayList<>());
        VisitListener tablesTouched = new VisitListener() {
            @Override
            public void visitEnd(VisitContext context) {
                if (context.queryPart() instanceof Table<?> table && context.renderContext() != null) {
                    tables.add(table.getName());
                }
            }
        };
        PreparedQuery<Record1<String>> bodies = PreparedQuery.of(DSL.select(NOTES.body).from(NOTES));
        try (SessionManager sessions = Managers.on(db)
                .jooqConfiguration(jooq -> jooq.set(new DefaultVisitListenerProvider(tablesTouched)))
                .build()) {
            sessions.transaction(ctx -> ctx.insertInto(NOTES, NOTES.body).values("milk").execute());
            sessions.transaction(ctx -> ctx.selectFrom(NOTES).fetch());

            assertThat(tables).containsOnly("notes").hasSizeGreaterThanOrEqualTo(2);
            assertThatThrownBy(() -> sessions.transaction(ctx -> bodies.fetch(ctx)))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("cannot run on a DSLContext with VisitListeners");
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aDiagnosticsListenerSetByTheCustomizerFindsTheRepeatedStatementsOfATransactionPreparedQueriesToo(TestDatabase db) {
        createNotes(db);
        execute(db, "INSERT INTO notes (body) VALUES ('milk'), ('eggs'), ('bread')");
        // An N+1 detector as users set one up in their tests: jOOQ's diagnostics on every statement's connection.
        List<String> repeated = Collections.synchronizedList(new ArrayList<>());
        DiagnosticsListener detector = new DiagnosticsListener() {
            @Override
            public void repeatedStatements(DiagnosticsContext context) {
                repeated.add(context.normalisedStatement());
            }
        };
        try (SessionManager sessions = Managers.on(db).jooqConfiguration(jooq -> {
            jooq.set(new DefaultDiagnosticsListenerProvider(detector));
            jooq.settings().setDiagnosticsConnection(DiagnosticsConnection.ON);
        }).build()) {
            List<String> bodies = sessions.transactionResult(ctx -> {
                List<String> each = new ArrayList<>();
                for (long id = 1; id <= 3; id++) {
                    each.add(ctx.select(NOTES.body).from(NOTES).where(NOTES.id.eq(id)).fetchSingle().value1());
                }
                return each;
            });

            assertThat(bodies).containsExactly("milk", "eggs", "bread");
            assertThat(repeated).isNotEmpty();

            // The same loop over a hot statement declared once: the detector must see it too.
            repeated.clear();
            PreparedQuery<Record1<String>> bodyOf = PreparedQuery.of(
                    DSL.select(NOTES.body).from(NOTES).where(NOTES.id.eq(DSL.param("id", NOTES.id))), "id");
            List<String> prepared = sessions.transactionResult(ctx -> {
                List<String> each = new ArrayList<>();
                for (long id = 1; id <= 3; id++) {
                    each.add(bodyOf.fetchOne(ctx, id).value1());
                }
                return each;
            });

            assertThat(prepared).isEqualTo(bodies);
            assertThat(repeated).isNotEmpty();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void theCustomizerRunsOnceSeesTheBuildersSettingsAndListenersAndKeepsNoHoldOnTheManagersConfiguration(
            TestDatabase db) {
        AtomicInteger runs = new AtomicInteger();
        AtomicReference<Configuration> kept = new AtomicReference<>();
        AtomicReference<Settings> seenSettings = new AtomicReference<>();
        AtomicInteger seenListeners = new AtomicInteger();
        try (SessionManager sessions = Managers.on(db)
                .settings(new Settings().withRenderKeywordCase(RenderKeywordCase.UPPER))
                .executeListeners(new DefaultExecuteListenerProvider(new org.jooq.ExecuteListener() { }))
                .jooqConfiguration(jooq -> {
                    runs.incrementAndGet();
                    kept.set(jooq);
                    seenSettings.set(jooq.settings());
                    seenListeners.set(jooq.executeListenerProviders().length);
                    assertThat(jooq.dialect()).isEqualTo(SQLDialect.POSTGRES);
                    jooq.settings().setRenderFormatted(true);
                })
                .build()) {
            assertThat(runs).hasValue(1);
            assertThat(seenSettings.get().getRenderKeywordCase()).isEqualTo(RenderKeywordCase.UPPER);
            assertThat(seenListeners).hasValue(1);
            String sql = sessions.transactionResult(ctx -> ctx.render(DSL.selectOne().from(NOTES)));
            assertThat(sql).isEqualTo("SELECT 1 AS \"one\"\nFROM \"notes\"");

            // What the customizer does with the configuration after build() no longer reaches the transactions.
            kept.get().set(new Settings().withRenderKeywordCase(RenderKeywordCase.LOWER));
            kept.get().set(new DefaultRecordListenerProvider(RecordListener.onInsertStart(context -> {
                throw new AssertionError("a listener set after build() was called");
            })));
            String sqlAfter = sessions.transactionResult(ctx -> ctx.render(DSL.selectOne().from(NOTES)));
            RecordListenerProvider[] recordListeners = sessions.transactionResult(
                    ctx -> ctx.configuration().recordListenerProviders());
            assertThat(sqlAfter).isEqualTo(sql);
            assertThat(recordListeners).isEmpty();
            db.assertNothingLeaked(sessions);
        }
    }

    /** A URL no server answers: a customizer that got past the checks would make build() fail to connect instead. */
    private static final String NOBODY = "jdbc:postgresql://127.0.0.1:1/none";

    @Test
    void theCustomizerMayNotChangeWhereConnectionsAndTransactionsComeFromOrTheDialectAndSaysWhatToUseInstead() {
        record Change(String name, Consumer<DefaultConfiguration> change, String message) {
        }
        ConnectionProvider elsewhere = new ConnectionProvider() {
            @Override
            public Connection acquire() {
                throw new AssertionError("never asked");
            }

            @Override
            public void release(Connection connection) {
            }
        };
        List<Change> changes = List.of(
                new Change("data source", jooq -> jooq.set(new org.postgresql.ds.PGSimpleDataSource()),
                        "jooqConfiguration of SessionManager 'owned' set a connection provider, which the manager"
                                + " owns: each transaction's DSLContext runs on that transaction's connection; give"
                                + " the database to jdbcUrl(...) or dataSource(...)"),
                new Change("connection provider", jooq -> jooq.set(elsewhere), "set a connection provider"),
                new Change("system connection provider", jooq -> jooq.setSystemConnectionProvider(elsewhere),
                        "set a system connection provider, which the manager owns: jOOQ's meta data lookups run on"
                                + " the transaction's connection"),
                new Change("transaction provider", jooq -> jooq.set(new DefaultTransactionProvider(elsewhere)),
                        "set a transaction provider, which the manager owns: the transactions are the"
                                + " SessionManager's, and ctx.transaction(...) inside one makes a savepoint"),
                new Change("R2DBC", jooq -> jooq.set(new NoConnections()), "set an R2DBC ConnectionFactory, which"
                        + " the manager does not use: its transactions run on JDBC connections, and a reactive"
                        + " statement would run outside them"),
                new Change("dialect", jooq -> jooq.set(SQLDialect.MYSQL), "set the dialect MYSQL, which the manager"
                        + " owns: it runs on PostgreSQL (POSTGRES)"),
                new Change("transaction listener", jooq -> jooq.set(new TransactionListener() {
                    @Override
                    public void commitEnd(TransactionContext ctx) {
                    }
                }),
                        "set TransactionListeners, which would see only the savepoints of ctx.transaction(...), not"
                                + " the manager's transactions: use SessionManager.afterCommit(...),"
                                + " afterRollback(...) or addObserver(...)"));
        for (Change change : changes) {
            assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).name("owned")
                    .jooqConfiguration(change.change()).build())
                    .as(change.name())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(change.message());
        }
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).name("owned")
                .jooqConfiguration(jooq -> jooq.set(elsewhere).set(SQLDialect.MYSQL)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("set a connection provider, which the manager owns")
                .hasMessageContaining("; the dialect MYSQL, which the manager owns");
    }

    @Test
    void aCustomizerThatThrowsOrRunsAStatementFailsTheBuildBeforeItConnects() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY)
                .jooqConfiguration(jooq -> {
                    throw new IllegalArgumentException("no tenant configured");
                }).build())
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("no tenant configured");
        // A customizer that looks something up in the database: there is no connection yet, and it is told so.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY)
                .jooqConfiguration(jooq -> jooq.dsl().selectOne().fetch()).build())
                .hasStackTraceContaining("The manager's jOOQ configuration runs no statements while"
                        + " jooqConfiguration(...) customizes it");
        assertThatThrownBy(() -> SessionManager.builder().jooqConfiguration(null))
                .isInstanceOf(NullPointerException.class).hasMessage("customizer");
    }

    /** An R2DBC ConnectionFactory, as a reactive application would set one. */
    private static final class NoConnections implements ConnectionFactory {
        @Override
        public Publisher<? extends io.r2dbc.spi.Connection> create() {
            throw new AssertionError("never asked");
        }

        @Override
        public ConnectionFactoryMetadata getMetadata() {
            return () -> "none";
        }
    }
}
