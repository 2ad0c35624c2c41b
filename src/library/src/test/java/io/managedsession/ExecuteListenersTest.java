package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.param;
import static org.jooq.impl.DSL.table;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.jooq.ExecuteContext;
import org.jooq.ExecuteListener;
import org.jooq.Field;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Table;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultExecuteListenerProvider;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * jOOQ ExecuteListeners set on the builder: every statement of every transaction reaches them, the DSL's, plain SQL's
 * and a PreparedQuery's alike, from every thread; one that throws fails its statement and rolls the transaction back.
 */
@DatabaseTest(migrations = {})
class ExecuteListenersTest {

    private static final Table<Record> NOTES = table(name("notes"));
    private static final Field<Long> ID = field(name("notes", "id"), SQLDataType.BIGINT);
    private static final Field<String> BODY = field(name("notes", "body"), SQLDataType.CLOB);
    private static final PreparedQuery<Record1<String>> BODY_OF = PreparedQuery.of(
            DSL.select(BODY).from(NOTES).where(ID.eq(param("id", ID))), "id");

    /** A listener of the user's: one per statement, as {@code executeListeners(SqlRecorder::new)} gives. */
    private static final class SqlRecorder implements ExecuteListener {
        static final List<String> EXECUTED = Collections.synchronizedList(new ArrayList<>());

        @Override
        public void executeStart(ExecuteContext ctx) {
            EXECUTED.add(ctx.sql());
        }
    }

    private static void createNotes(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS notes", "CREATE TABLE notes (id bigint PRIMARY KEY, body text NOT NULL)");
    }

    @Test
    void everyStatementOfATransactionReachesTheListenersAsTheDslPlainSqlAndPreparedQueriesRunIt(TestDatabase db) {
        createNotes(db);
        SqlRecorder.EXECUTED.clear();
        try (SessionManager sessions = Managers.on(db).executeListeners(SqlRecorder::new).build()) {
            String body = sessions.transactionResult(ctx -> {
                ctx.insertInto(NOTES, ID, BODY).values(1L, "first").execute();
                ctx.execute("UPDATE notes SET body = body || '!' WHERE id = 1");
                return BODY_OF.fetchOne(ctx, 1L).value1();
            });
            String sqlOnce = sessions.transactionResult(BODY_OF::sql);

            assertThat(body).isEqualTo("first!");
            assertThat(SqlRecorder.EXECUTED).containsExactly(
                    "insert into \"notes\" (\"id\", \"body\") values (?, ?)",
                    "UPDATE notes SET body = body || '!' WHERE id = 1",
                    sqlOnce);
            // Every transaction shares the manager's settings: the prepared query is rendered once for all of them.
            assertThat(sessions.transactionResult(BODY_OF::sql)).isSameAs(sqlOnce);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aListenerThatThrowsFailsItsStatementAndTheTransactionRollsBack(TestDatabase db) {
        createNotes(db);
        ExecuteListener noDeletes = new ExecuteListener() {
            @Override
            public void executeStart(ExecuteContext ctx) {
                if (ctx.sql().startsWith("delete")) {
                    throw new IllegalStateException("deletes are not allowed here: " + ctx.sql());
                }
            }
        };
        try (SessionManager sessions = Managers.on(db)
                .executeListeners(new DefaultExecuteListenerProvider(noDeletes)).build()) {
            assertThatThrownBy(() -> sessions.transaction(ctx -> {
                ctx.insertInto(NOTES, ID, BODY).values(2L, "kept?").execute();
                ctx.deleteFrom(NOTES).where(ID.eq(1L)).execute();
            }))
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("deletes are not allowed here: delete from \"notes\"");

            assertThat(queryLong(db, "SELECT count(*) FROM notes")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void oneSharedListenerIsCalledFromEveryThreadThatRunsATransaction(TestDatabase db) throws Exception {
        createNotes(db);
        AtomicInteger statements = new AtomicInteger();
        ExecuteListener counter = new ExecuteListener() {
            @Override
            public void executeEnd(ExecuteContext ctx) {
                statements.incrementAndGet();
            }
        };
        int threads = 4;
        int transactionsEach = 25;
        CyclicBarrier start = new CyclicBarrier(threads);
        ExecutorService pool = Executors.newFixedThreadPool(threads);
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(2)
                .executeListeners(new DefaultExecuteListenerProvider(counter)).build()) {
            List<Future<?>> done = new ArrayList<>();
            for (int t = 0; t < threads; t++) {
                long first = t * 1_000L;
                done.add(pool.submit(() -> {
                    start.await(10, TimeUnit.SECONDS);
                    for (long i = 0; i < transactionsEach; i++) {
                        long id = first + i;
                        sessions.transaction(ctx -> {
                            ctx.insertInto(NOTES, ID, BODY).values(id, "note " + id).execute();
                            assertThat(BODY_OF.fetchOne(ctx, id).value1()).isEqualTo("note " + id);
                        });
                    }
                    return null;
                }));
            }
            for (Future<?> f : done) {
                f.get(60, TimeUnit.SECONDS);
            }
            assertThat(statements.get()).isEqualTo(threads * transactionsEach * 2);
            assertThat(queryLong(db, "SELECT count(*) FROM notes")).isEqualTo(threads * transactionsEach);
            db.assertNothingLeaked(sessions);
        } finally {
            pool.shutdownNow();
        }
    }

    @Test
    void theBuilderRefusesAMissingProvider() {
        assertThatThrownBy(() -> SessionManager.builder().executeListeners(SqlRecorder::new, null))
                .isInstanceOf(NullPointerException.class)
                .hasMessage("an execute listener provider is null");
    }
}
