package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.val;

import java.io.StringWriter;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.Statement;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGNotification;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * SQL text that would reach beyond the transaction it runs in, written the ways a user writes it: jOOQ's own
 * {@code ctx.commit()}, {@code ctx.setSchema(...)} and {@code ctx.set(...)}, plain SQL through jOOQ, and JDBC on the
 * raw connection. A COMMIT there would make part of the block permanent before the block has finished (a later
 * failure could no longer undo it), and a SET without LOCAL would outlive the transaction on the pooled connection,
 * reaching whichever transaction gets it next. Both are refused before they reach the server; what ends with the
 * transaction ({@code SET LOCAL}, {@code SET TRANSACTION}, savepoints) runs as written.
 */
@DatabaseTest(migrations = {})
class SqlBeyondTheTransactionTest {

    private final TestDatabase db;
    private SessionManager sessions;

    SqlBeyondTheTransactionTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE notes (id integer PRIMARY KEY, body text)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE notes");
        // One connection, so that the next transaction certainly gets the connection the last one used.
        sessions = Managers.on(db).maximumPoolSize(1).build();
    }

    @AfterEach
    void stop() {
        if (sessions == null) { // the start was aborted (no PgBouncer for the run behind it)
            return;
        }
        db.assertNothingLeaked(sessions);
        sessions.close();
    }

    @Test
    void jooqsCommitStatementInsideTheBlockIsRefusedSoTheFailingBlockWritesNothing() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO notes VALUES (1, 'half of the work')");
            ctx.commit().execute();
            ctx.execute("INSERT INTO notes VALUES (2, 'the other half')");
            throw new IllegalStateException("the block fails after both halves");
        }));

        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("COMMIT is not allowed in a transaction of SessionManager")
                .hasMessageContaining("return from the callback to commit, throw to roll back");
        assertThat(rowCount(db, "notes")).isZero();
    }

    @Test
    void everySpellingOfEndingTheTransactionIsRefusedAndTheBlockMayGoOn() {
        sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO notes VALUES (1, 'kept')");
            for (String ending : new String[] {"COMMIT", "commit work", "END", "end transaction", "ROLLBACK",
                "rollback and chain", "ABORT", "COMMIT AND CHAIN", "  /* done */ commit", "-- done\ncommit",
                "PREPARE TRANSACTION 'tx-1'", "COMMIT PREPARED 'tx-1'", "ROLLBACK PREPARED 'tx-1'",
                "SELECT 1; COMMIT", "SELECT ';'; commit;"}) {
                assertThatThrownBy(() -> ctx.execute(ending)).as(ending)
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("is not allowed in a transaction of SessionManager");
            }
            assertThatThrownBy(() -> ctx.rollback().execute()).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("ROLLBACK is not allowed");
            ctx.connection(connection -> {
                try (Statement statement = connection.createStatement()) {
                    assertThatThrownBy(() -> statement.execute("commit"))
                            .isInstanceOf(UnsupportedOperationException.class);
                    assertThatThrownBy(() -> statement.executeUpdate("END"))
                            .isInstanceOf(UnsupportedOperationException.class);
                    assertThatThrownBy(() -> statement.addBatch("COMMIT"))
                            .isInstanceOf(UnsupportedOperationException.class);
                }
                assertThatThrownBy(() -> connection.prepareStatement("COMMIT"))
                        .isInstanceOf(UnsupportedOperationException.class);
                assertThatThrownBy(() -> connection.prepareCall("ROLLBACK"))
                        .isInstanceOf(UnsupportedOperationException.class);
            });
            // Nothing reached the server, so the transaction is still whole and goes on.
            ctx.execute("INSERT INTO notes VALUES (2, 'kept too')");
        });

        assertThat(rowCount(db, "notes")).isEqualTo(2);
    }

    @Test
    void aSessionLevelSetIsRefusedNamingTheSettingAndNothingReachesTheNextTransaction() {
        String unchanged = sessions.transactionResult(ctx -> searchPath(ctx));
        sessions.transaction(ctx -> {
            assertThatThrownBy(() -> ctx.setSchema("elsewhere").execute())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("SET search_path is not allowed in a transaction of SessionManager")
                    .hasMessageContaining("outlives the transaction on a pooled connection")
                    .hasMessageContaining("SET LOCAL");
            assertThatThrownBy(() -> ctx.set(name("managedsession", "tenant"), val("secret-tenant")).execute())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("SET managedsession.tenant is not allowed")
                    .message().doesNotContain("secret-tenant");
            for (String change : new String[] {"SET search_path = elsewhere", "set time zone 'UTC'",
                "SET SESSION statement_timeout = 1", "SET ROLE NONE", "SET SESSION AUTHORIZATION DEFAULT",
                "SET SESSION CHARACTERISTICS AS TRANSACTION READ ONLY", "RESET search_path", "RESET ALL",
                "SELECT 1; SET search_path = elsewhere", "SET \"search_path\" TO elsewhere"}) {
                assertThatThrownBy(() -> ctx.execute(change)).as(change)
                        .isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("is not allowed in a transaction of SessionManager")
                        .hasMessageContaining("changes the server session");
            }
            ctx.connection(connection -> {
                try (Statement statement = connection.createStatement()) {
                    assertThatThrownBy(() -> statement.execute("SET search_path = elsewhere"))
                            .isInstanceOf(UnsupportedOperationException.class);
                    assertThatThrownBy(() -> statement.addBatch("SET search_path = elsewhere"))
                            .isInstanceOf(UnsupportedOperationException.class);
                }
                assertThatThrownBy(() -> connection.prepareStatement("SET search_path = elsewhere"))
                        .isInstanceOf(UnsupportedOperationException.class);
            });
            PreparedQuery<?> prepared = PreparedQuery.of(DSL.query("SET search_path = elsewhere"));
            assertThatThrownBy(() -> prepared.execute(ctx)).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("SET search_path is not allowed");
        });

        String after = sessions.transactionResult(ctx -> searchPath(ctx));
        assertThat(after).isEqualTo(unchanged);
    }

    @Test
    void aTemporaryTableThatWouldStayInTheSessionIsRefusedAndOneDroppedAtCommitIsGoneForTheNextTransaction() {
        sessions.transaction(ctx -> {
            assertThatThrownBy(() -> ctx.createTemporaryTable("scratch").column("id", SQLDataType.INTEGER).execute())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith("CREATE TEMPORARY TABLE scratch is not allowed in a transaction of"
                            + " SessionManager")
                    .hasMessageContaining("the next transaction to get that connection sees it and its rows")
                    .hasMessageContaining("ON COMMIT DROP");
            assertThatThrownBy(() -> ctx.execute("CREATE TEMP TABLE scratch AS SELECT 'private' AS note"))
                    .isInstanceOf(UnsupportedOperationException.class);

            ctx.createTemporaryTable("scratch").column("note", SQLDataType.CLOB).onCommitDrop().execute();
            ctx.execute("INSERT INTO scratch VALUES ('private')");
            ctx.execute("CREATE TEMP TABLE IF NOT EXISTS reused (note text) ON COMMIT DELETE ROWS");
            ctx.execute("INSERT INTO reused VALUES ('private')");
        });

        sessions.transaction(ctx -> {
            assertThat(ctx.fetchValue("SELECT to_regclass('pg_temp.scratch')")).isNull();
            if (!Managers.throughPgBouncer()) { // there the next transaction may run on another server session
                assertThat(ctx.fetchCount(DSL.table(DSL.name("reused")))).isZero();
            }
        });
    }

    @Test
    void listenIsRefusedAndANotifyReachesAListenerOnItsOwnConnectionOnlyWhenItsTransactionCommits() throws Exception {
        assertThatThrownBy(() -> sessions.transaction(ctx -> ctx.execute("LISTEN jobs")))
                .isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("LISTEN jobs is not allowed in a transaction of SessionManager")
                .hasMessageContaining("a connection of its own");

        try (Connection listener = db.connect(); Statement listening = listener.createStatement()) {
            listening.execute("LISTEN jobs");
            Throwable undone = catchThrowable(() -> sessions.transaction(ctx -> {
                ctx.execute("NOTIFY jobs, 'rolled back'");
                throw new IllegalStateException("the block fails after its NOTIFY");
            }));
            sessions.transaction(ctx -> ctx.execute("SELECT pg_notify(?, ?)", "jobs", "committed"));

            // Waits for the first notification to arrive: sent at commit, and in commit order.
            PGNotification[] received = listener.unwrap(PGConnection.class).getNotifications(10_000);
            assertThat(undone).hasMessage("the block fails after its NOTIFY");
            assertThat(received).extracting(PGNotification::getParameter).containsExactly("committed");
        }
    }

    @Test
    void aSessionAdvisoryLockIsRefusedSoNoLockOutlivesTheBlockWhileATransactionLockEndsWithIt() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> {
            ctx.execute("INSERT INTO notes VALUES (1, 'only the leader writes this')");
            ctx.fetchValue("SELECT pg_advisory_lock(42)");
        }));

        assertThat(freeElsewhere(42)).as("the lock is free for other sessions").isTrue();
        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("pg_advisory_lock is not allowed in a transaction of SessionManager")
                .hasMessageContaining("outlives the transaction")
                .hasMessageContaining("pg_advisory_xact_lock");
        assertThat(rowCount(db, "notes")).isZero();

        sessions.transaction(ctx -> {
            for (String sql : new String[] {"SELECT pg_try_advisory_lock(42)", "SELECT PG_ADVISORY_LOCK_SHARED(1, 2)",
                "SELECT id FROM notes WHERE pg_try_advisory_lock(id) LIMIT 1",
                "SELECT pg_catalog.pg_try_advisory_lock_shared (42)", "SELECT \"pg_advisory_lock\"(42)",
                "WITH claimed AS (SELECT pg_advisory_lock(42)) SELECT 1 FROM claimed"}) {
                assertThatThrownBy(() -> ctx.fetch(sql)).as(sql).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageContaining("advisory_lock")
                        .hasMessageContaining("is not allowed in a transaction of SessionManager");
            }
            assertThatThrownBy(() -> ctx.select(DSL.function("pg_advisory_lock", Object.class, val(42L))).fetch())
                    .isInstanceOf(UnsupportedOperationException.class);
            assertThatThrownBy(() -> ctx.select(
                    DSL.function(name("pg_catalog", "pg_try_advisory_lock"), Boolean.class, val(42L))).fetch())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith("pg_try_advisory_lock is not allowed");
            ctx.connection(connection -> assertThatThrownBy(
                    () -> connection.prepareStatement("SELECT pg_advisory_lock(?)"))
                    .isInstanceOf(UnsupportedOperationException.class));
            // The driver's COPY runs SQL too.
            ctx.connection(connection -> assertThatThrownBy(() -> connection.unwrap(PGConnection.class).getCopyAPI()
                    .copyOut("COPY (SELECT pg_advisory_lock(42)) TO STDOUT", new StringWriter()))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith("pg_advisory_lock is not allowed"));
            assertThat(freeElsewhere(42)).as("the lock is free for other sessions").isTrue();

            // What only mentions the name passes, and the transaction's own lock holds until the transaction ends.
            ctx.fetch("SELECT 'pg_advisory_lock(42)' AS note /* pg_advisory_lock(42) */");
            ctx.fetchValue("SELECT pg_advisory_xact_lock(43)");
            assertThat(freeElsewhere(43)).as("held by the running transaction").isFalse();
        });
        assertThat(freeElsewhere(43)).as("released by the commit").isTrue();
    }

    @Test
    void setConfigForTheSessionIsRefusedSoNoTenantReachesTheNextTransaction() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.fetchValue(
                "SELECT set_config('managedsession.tenant', ?, false)", "tenant-a")));

        Object nextTransactions = sessions.transactionResult(ctx -> tenant(ctx));
        assertThat(nextTransactions).as("the tenant in the next transaction").isIn(null, "");
        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("set_config(managedsession.tenant, ...) with is_local false is not allowed in"
                        + " a transaction of SessionManager")
                .hasMessageContaining("reaches the next transaction")
                .message().doesNotContain("tenant-a");

        sessions.transaction(ctx -> {
            assertThatThrownBy(() -> ctx.select(DSL.function("set_config", String.class,
                    val("managedsession.tenant"), val("tenant-b"), val(true))).fetch())
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith("set_config(?, ...) with is_local not written as true is not allowed")
                    .hasMessageContaining("DSL.inline(true)");
            assertThatThrownBy(() -> ctx.fetch("SELECT pg_catalog.set_config('search_path', 'elsewhere', 'off')"))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith("set_config(search_path, ...) with is_local false");
            ctx.select(DSL.function("set_config", String.class,
                    val("managedsession.tenant"), val("tenant-b"), DSL.inline(true))).fetch();
            ctx.fetch("SELECT set_config('managedsession.region', 'eu', 'on'::boolean)");
            assertThat(tenant(ctx)).isEqualTo("tenant-b");
        });
        Object afterTheLocalOne = sessions.transactionResult(ctx -> tenant(ctx));
        assertThat(afterTheLocalOne).isIn(null, "");
    }

    @Test
    void whatTheSessionWouldKeepUnderANameIsRefusedSoTheNextTransactionOnTheConnectionCanUseTheName() {
        String[][] cases = {
            {"PREPARE by_id (integer) AS SELECT body FROM notes WHERE id = $1", "PREPARE by_id"},
            {"DECLARE every_note CURSOR WITH HOLD FOR SELECT * FROM notes", "DECLARE every_note CURSOR WITH HOLD"},
            {"CREATE TEMP VIEW recent AS SELECT * FROM notes", "CREATE TEMPORARY VIEW recent"},
            {"CREATE TEMPORARY SEQUENCE ticket", "CREATE TEMPORARY SEQUENCE ticket"}};
        for (String[] kept : cases) {
            String sql = kept[0];
            Throwable first = catchThrowable(() -> sessions.transaction(ctx -> ctx.execute(sql)));
            Throwable next = catchThrowable(() -> sessions.transaction(ctx -> ctx.execute(sql)));

            assertThat(next).as("the next transaction on the connection: " + sql)
                    .isInstanceOf(UnsupportedOperationException.class);
            assertThat(first).as(sql).isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageStartingWith(kept[1] + " is not allowed in a transaction of SessionManager")
                    .hasMessageContaining("outlives the transaction on a pooled connection");
        }

        execute(db, "INSERT INTO notes VALUES (1, 'one'), (2, 'two')");
        sessions.transaction(ctx -> {
            ctx.execute("DECLARE every_note CURSOR FOR SELECT body FROM notes ORDER BY id");
            assertThat(ctx.fetchValue("FETCH NEXT FROM every_note")).isEqualTo("one");
            ctx.execute("CLOSE every_note");
            ctx.execute("DECLARE every_note NO SCROLL CURSOR WITHOUT HOLD FOR SELECT body FROM notes");
            ctx.execute("CREATE TEMP TABLE scratch ON COMMIT DROP AS SELECT * FROM notes");
        });
        sessions.transaction(ctx -> ctx.execute("DECLARE every_note CURSOR FOR SELECT body FROM notes"));
    }

    /** Whether another session can take the advisory lock {@code key} at once (and gives it back). */
    private boolean freeElsewhere(long key) {
        return queryLong(db, "SELECT (CASE WHEN pg_try_advisory_lock(?) THEN pg_advisory_unlock(?)"
                + " ELSE false END)::int", key, key) == 1;
    }

    private static Object tenant(DSLContext ctx) {
        return ctx.fetchValue("SELECT current_setting('managedsession.tenant', true)");
    }

    @Test
    void whatEndsWithTheTransactionRunsAsWritten() {
        execute(db, "DROP TABLE IF EXISTS pairs",
                "CREATE TABLE pairs (id integer PRIMARY KEY, peer integer REFERENCES pairs DEFERRABLE)");
        sessions.transaction(ctx -> {
            ctx.execute("SET LOCAL search_path = pg_catalog, public");
            ctx.setLocal(name("managedsession", "tenant"), val("eu")).execute();
            ctx.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ");
            ctx.execute("SET CONSTRAINTS ALL DEFERRED");
            ctx.execute("INSERT INTO pairs VALUES (1, 2)"); // its peer comes next: checked at COMMIT
            ctx.execute("INSERT INTO pairs VALUES (2, 1)");
            ctx.execute("SAVEPOINT before_update");
            ctx.execute("UPDATE notes SET body = 'set; commit' WHERE id = 0");
            ctx.execute("ROLLBACK TO SAVEPOINT before_update");
            ctx.execute("rollback work to before_update");
            ctx.execute("RELEASE SAVEPOINT before_update");
            ctx.execute("INSERT INTO notes VALUES (1, 'commit; set search_path = x'); -- commit");
            ctx.execute("INSERT INTO notes VALUES (2, E'it\\'s; commit')");
            ctx.execute("INSERT INTO notes VALUES (3, $body$; COMMIT; $body$)");
            ctx.execute("/* set search_path = x; commit */ INSERT INTO notes VALUES (4, 'after a comment')");
            ctx.execute("DO $$ BEGIN PERFORM 1; END $$");
            assertThat(ctx.fetchValue("SHOW managedsession.tenant")).isEqualTo("eu");
            assertThat(ctx.fetchValue("SHOW transaction_isolation")).isEqualTo("repeatable read");
            ctx.connection(connection -> {
                try (PreparedStatement statement = connection.prepareStatement(
                        "SELECT set_config('managedsession.tenant', ?, true)")) {
                    statement.setString(1, "us");
                    statement.execute();
                }
            });
            assertThat(ctx.fetchValue("SHOW managedsession.tenant")).isEqualTo("us");
        });

        assertThat(rowCount(db, "notes")).isEqualTo(4);
        assertThat(rowCount(db, "pairs")).isEqualTo(2);
        sessions.transaction(ctx -> {
            assertThat(ctx.fetchValue("SELECT current_setting('managedsession.tenant', true)")).isIn(null, "");
            assertThat(searchPath(ctx)).isEqualTo("\"$user\", public");
        });
    }

    private static String searchPath(DSLContext ctx) {
        return String.valueOf(ctx.fetchValue("SHOW search_path"));
    }
}
