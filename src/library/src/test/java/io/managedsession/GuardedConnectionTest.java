package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.io.StringReader;
import java.nio.charset.StandardCharsets;
import java.sql.CallableStatement;
import java.sql.Connection;
import java.sql.DatabaseMetaData;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.Callable;
import java.util.concurrent.CompletionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;

import org.jooq.Cursor;
import org.jooq.Field;
import org.jooq.Query;
import org.jooq.Record;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.postgresql.PGConnection;
import org.postgresql.PGStatement;
import org.postgresql.copy.CopyManager;
import org.postgresql.core.BaseConnection;
import org.postgresql.jdbc.AutoSave;
import org.postgresql.jdbc.PgConnection;
import org.postgresql.jdbc.PgStatement;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The raw JDBC connection of a transaction, walked every way JDBC allows: every route back to a connection leads to
 * the guard, which refuses to end the transaction, refuses other threads and refuses use after the end; nothing
 * hands out the driver's physical connection.
 */
@DatabaseTest(migrations = {})
class GuardedConnectionTest {

    private final TestDatabase db;
    private SessionManager sessions;

    GuardedConnectionTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE notes (id integer PRIMARY KEY)");
    }

    @BeforeEach
    void start() {
        execute(db, "TRUNCATE notes");
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
    void statementsLeadBackToTheGuardSoTheyCannotCommitMidBlock() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            try (Statement statement = connection.createStatement();
                 PreparedStatement prepared = connection.prepareStatement("SELECT 1");
                 CallableStatement callable = connection.prepareCall("SELECT 1")) {
                statement.execute("INSERT INTO notes VALUES (1)");
                assertThat(statement.getConnection()).isSameAs(connection);
                assertThat(prepared.getConnection()).isSameAs(connection);
                assertThat(callable.getConnection()).isSameAs(connection);
                assertThatThrownBy(() -> statement.getConnection().commit())
                        .isInstanceOf(UnsupportedOperationException.class);
            }
            throw new IllegalStateException("the block fails after its first row");
        })));

        assertThat(caught).isInstanceOf(IllegalStateException.class);
        assertThat(rowCount(db, "notes")).as("nothing committed mid-block").isZero();
    }

    @Test
    void metadataLeadsBackToTheGuardSoItCannotSwitchToAutoCommit() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            connection.createStatement().execute("INSERT INTO notes VALUES (1)");
            assertThat(connection.getMetaData().getConnection()).isSameAs(connection);
            assertThatThrownBy(() -> connection.getMetaData().getConnection().setAutoCommit(true))
                    .isInstanceOf(UnsupportedOperationException.class);
            throw new IllegalStateException("the block fails after its first row");
        })));

        assertThat(caught).isInstanceOf(IllegalStateException.class);
        assertThat(rowCount(db, "notes")).isZero();
    }

    @Test
    void resultSetsLeadBackToTheGuardedStatement() throws SQLException {
        sessions.transaction(ctx -> ctx.connection(connection -> {
            Statement statement = connection.createStatement();
            ResultSet rows = statement.executeQuery("SELECT 1");
            assertThat(rows.getStatement()).isSameAs(statement);
            PreparedStatement prepared = connection.prepareStatement("SELECT 1");
            assertThat(prepared.executeQuery().getStatement()).isSameAs(prepared);
            ResultSet tables = connection.getMetaData().getTables(null, null, "notes", null);
            assertThat(tables.getStatement()).as("metadata results come from no statement of the user's").isNull();
        }));
        // jOOQ's own statements too.
        sessions.transaction(ctx -> {
            ResultSet rows = ctx.resultQuery("SELECT 1").fetchResultSet();
            Connection reached = rows.getStatement().getConnection();
            assertThatThrownBy(reached::commit).isInstanceOf(UnsupportedOperationException.class);
            rows.close();
        });
    }

    @Test
    void unwrapHandsOutOnlyGuardedInterfacesNeverTheDriversConnection() {
        PGConnection[] kept = new PGConnection[1];
        sessions.transaction(ctx -> ctx.connection(connection -> {
            assertThat(connection.unwrap(Connection.class)).isSameAs(connection);
            assertThat(connection.isWrapperFor(PgConnection.class)).isFalse();
            assertThatThrownBy(() -> connection.unwrap(PgConnection.class)).isInstanceOf(SQLException.class)
                    .hasMessageContaining("is refused");
            assertThat(connection.isWrapperFor(PGConnection.class)).isTrue();
            kept[0] = connection.unwrap(PGConnection.class);
            assertThat(kept[0].getParameterStatus("server_version")).as("usable while the transaction runs")
                    .isNotEmpty();
            assertThat(kept[0]).isNotInstanceOf(Connection.class);
            Statement statement = connection.createStatement();
            assertThatThrownBy(() -> statement.unwrap(PgStatement.class))
                    .isInstanceOf(SQLException.class);
        }));

        assertThatThrownBy(kept[0]::getBackendPID).as("refused once the transaction ended")
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("has already ended");
    }

    @Test
    void anotherThreadCannotUseTheTransactionsStatements() throws Exception {
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            sessions.transaction(ctx -> ctx.connection(connection -> {
                PreparedStatement prepared = connection.prepareStatement("INSERT INTO notes VALUES (?)");
                Throwable fromOtherThread = other.submit(() -> catchThrowable(() -> {
                    prepared.setInt(1, 7);
                    prepared.executeUpdate();
                })).get(10, TimeUnit.SECONDS);
                assertThat(fromOtherThread).isInstanceOf(IllegalStateException.class)
                        .hasMessageContaining("was used from thread");
            }));
        } finally {
            other.shutdownNow();
        }
        assertThat(rowCount(db, "notes")).isZero();
    }

    /**
     * JDBC's {@code Statement.cancel()} and jOOQ's {@code Query.cancel()} are meant to be called from another thread,
     * while the statement runs (a request whose client went away, a watchdog): the one call of a transaction's
     * statement that another thread may make. Kept beyond its transaction, the statement cancels nothing of the
     * connection's next user.
     */
    @Test
    void aRunningStatementIsCancelledFromAnotherThreadAsJdbcAndJooqAllow() throws Exception {
        String sleeping = "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND state = 'active' AND query LIKE 'SELECT pg_sleep%'";
        ExecutorService watchdog = Executors.newSingleThreadExecutor();
        try {
            AtomicReference<Statement> runningStatement = new AtomicReference<>();
            Future<Boolean> cancelledStatement = watchdog.submit(() -> when(sleeping, () -> {
                runningStatement.get().cancel();
                return true;
            }));
            Throwable jdbc = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
                try (Statement statement = connection.createStatement()) {
                    runningStatement.set(statement);
                    statement.execute("SELECT pg_sleep(30)");
                }
            })));
            assertThat(cancelledStatement.get(30, TimeUnit.SECONDS)).isTrue();

            AtomicReference<Query> runningQuery = new AtomicReference<>();
            Future<Boolean> cancelledQuery = watchdog.submit(() -> when(sleeping, () -> {
                runningQuery.get().cancel();
                return true;
            }));
            Throwable jooq = catchThrowable(() -> sessions.transaction(ctx -> {
                Query sleep = ctx.query("SELECT pg_sleep(30)");
                runningQuery.set(sleep);
                sleep.execute();
            }));
            assertThat(cancelledQuery.get(30, TimeUnit.SECONDS)).isTrue();

            for (Throwable cancelled : new Throwable[] {jdbc, jooq}) {
                assertThat(cancelled).hasStackTraceContaining("canceling statement due to user request");
            }

            // The next transaction on the pool's only connection waits for a row lock while the kept statement is
            // cancelled; the lock is then released, and the next transaction's statement goes on.
            execute(db, "INSERT INTO notes VALUES (5)");
            try (Connection holder = db.connect()) {
                holder.setAutoCommit(false);
                holder.createStatement().execute("SELECT * FROM notes WHERE id = 5 FOR UPDATE");
                Future<Boolean> lateCancel = watchdog.submit(() -> when("SELECT count(*) FROM pg_stat_activity"
                        + " WHERE datname = current_database() AND wait_event_type = 'Lock'", () -> {
                            runningStatement.get().cancel();
                            holder.commit();
                            return true;
                        }));
                sessions.transaction(ctx -> ctx.execute("UPDATE notes SET id = 6 WHERE id = 5"));
                assertThat(lateCancel.get(30, TimeUnit.SECONDS)).isTrue();
            }
            assertThat(queryLong(db, "SELECT count(*) FROM notes WHERE id = 6")).isEqualTo(1);
        } finally {
            watchdog.shutdownNow();
        }
    }

    /** Waits until the count {@code condition} queries is one, then runs {@code action}. */
    private <T> T when(String condition, Callable<T> action) throws Exception {
        await().atMost(Duration.ofSeconds(20)).until(() -> queryLong(db, condition) == 1);
        return action.call();
    }

    @Test
    void jooqsLoaderLoadsInsideTheTransactionButCommittingOnItsOwnIsRefusedSayingHowAndWritesNothing() {
        Object[][] rows = {{1}, {2}, {3}};
        Field<Integer> id = DSL.field("id", SQLDataType.INTEGER);

        Throwable committingItself = catchThrowable(() -> sessions.transaction(ctx -> ctx.loadInto(DSL.table("notes"))
                .commitAfter(2).loadArrays(rows).fields(id).execute()));
        Throwable failedAfterLoading = catchThrowable(() -> sessions.transaction(ctx -> {
            ctx.loadInto(DSL.table("notes")).loadArrays(rows).fields(id).execute();
            assertThat(ctx.fetchCount(DSL.table("notes"))).as("loaded in the transaction").isEqualTo(3);
            throw new IllegalStateException("the import gives up");
        }));

        assertThat(committingItself).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageContaining("Connection.commit() is not allowed on a connection managed by SessionManager")
                .hasMessageContaining("jOOQ's Loader calls it for commitEach(), commitAfter(n) and commitAll(): leave"
                        + " it at commitNone(), its default, and give each part of a large load a transaction of its"
                        + " own");
        assertThat(failedAfterLoading).hasMessage("the import gives up");
        assertThat(rowCount(db, "notes")).as("neither load left a row").isZero();
    }

    @Test
    void jooqsAsynchronousCallsOnTheTransactionsContextAreRefusedSayingWhatToDoInstead() {
        Throwable fetchAsync = catchThrowable(() -> sessions.transactionResult(ctx -> ctx.resultQuery("SELECT 1")
                .fetchAsync().toCompletableFuture().join()));
        Throwable executeAsync = catchThrowable(() -> sessions.transactionResult(ctx -> ctx.query(
                "INSERT INTO notes VALUES (1)").executeAsync().toCompletableFuture().join()));

        for (Throwable refused : List.of(fetchAsync, executeAsync)) {
            assertThat(refused).isInstanceOf(CompletionException.class).cause()
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("was used from thread")
                    .hasMessageContaining("jOOQ's fetchAsync(), executeAsync() and transactionResultAsync() run on"
                            + " another thread: call the synchronous forms inside the transaction, or begin a"
                            + " transaction inside the asynchronous task");
        }
        assertThat(rowCount(db, "notes")).isZero();
    }

    @Test
    void aLazyCursorReadFromAnotherThreadIsRefusedBeforeItFetchesOnTheConnection() throws Exception {
        ExecutorService other = Executors.newSingleThreadExecutor();
        try {
            sessions.transaction(ctx -> {
                // A fetch size makes the driver read the rows 10 at a time, over the transaction's connection.
                try (Cursor<Record> cursor = ctx.resultQuery("SELECT g FROM generate_series(1, 100) g").fetchSize(10)
                        .fetchLazy()) {
                    assertThat(cursor.fetchNext().get(0, Integer.class)).isEqualTo(1);
                    Throwable fromOtherThread = other.submit(() -> catchThrowable(() -> {
                        for (int i = 0; i < 20; i++) {
                            cursor.fetchNext();
                        }
                    })).get(10, TimeUnit.SECONDS);

                    assertThat(fromOtherThread).isInstanceOf(IllegalStateException.class)
                            .hasMessageContaining("was used from thread")
                            .hasMessageContaining("A lazy Cursor or Stream is read on the thread of the transaction"
                                    + " that fetched it, before that transaction ends");
                    assertThat(cursor.fetchNext().get(0, Integer.class)).as("the owner reads on").isEqualTo(2);
                }
            });
        } finally {
            other.shutdownNow();
        }
    }

    @Test
    void aLazyCursorOrStreamReturnedFromItsTransactionIsRefusedWithWhatToDoInsteadAndClosesQuietly() {
        String query = "SELECT g FROM generate_series(1, 100) g";
        Cursor<Record> cursor = sessions.transactionResult(ctx -> ctx.resultQuery(query).fetchSize(10).fetchLazy());
        Stream<Record> stream = sessions.transactionResult(ctx -> ctx.resultQuery(query).fetchSize(10).fetchStream());

        Throwable readingTheCursor = catchThrowable(cursor::fetchNext);
        Throwable readingTheStream = catchThrowable(stream::count);
        cursor.close();
        stream.close();

        for (Throwable refused : List.of(readingTheCursor, readingTheStream)) {
            assertThat(refused).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("that has already ended (committed)")
                    .hasMessageContaining("A lazy Cursor or Stream is read on the thread of the transaction that"
                            + " fetched it, before that transaction ends, or fetched at once with fetch()");
        }
    }

    @Test
    void metadataStatementsAndConnectionKeptBeyondTheTransactionRefuseToWork() throws SQLException {
        Object[] kept = new Object[3];
        sessions.transaction(ctx -> ctx.connection(connection -> {
            kept[0] = connection;
            kept[1] = connection.getMetaData();
            kept[2] = connection.createStatement();
        }));
        // The pool's only connection now serves the next transaction: nothing kept may reach it.
        sessions.transaction(next -> {
            assertThatThrownBy(() -> ((DatabaseMetaData) kept[1]).getTables(null, null, "%", null))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("has already ended");
            assertThatThrownBy(() -> ((Statement) kept[2]).execute("INSERT INTO notes VALUES (2)"))
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("has already ended");
            assertThatThrownBy(() -> ((Connection) kept[0]).createStatement())
                    .isInstanceOf(IllegalStateException.class).hasMessageContaining("has already ended");
            assertThat(((Connection) kept[0]).isClosed()).isTrue();
        });
        assertThat(rowCount(db, "notes")).isZero();
    }

    @Test
    void callsThatWouldChangeTheServerSessionAreRefusedAndNothingOutlivesTheTransaction() {
        sessions.transaction(ctx -> ctx.connection(connection -> {
            assertThatThrownBy(() -> connection.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE))
                    .isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("changes the server session").hasMessageContaining("isolation(...)");
            assertThatThrownBy(() -> connection.setReadOnly(true))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("readOnly(...)");
            assertThatThrownBy(() -> connection.setSchema("elsewhere"))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("SET LOCAL search_path");
            assertThatThrownBy(() -> connection.setClientInfo("ApplicationName", "mine"))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("application_name");
        }));

        // The pool's only connection serves the next transaction with the server's defaults.
        sessions.transaction(ctx -> {
            assertThat(ctx.fetchValue("SHOW transaction_isolation")).isEqualTo("read committed");
            assertThat(ctx.fetchValue("SHOW transaction_read_only")).isEqualTo("off");
            assertThat(ctx.fetchValue("SHOW search_path")).isEqualTo("\"$user\", public");
        });
    }

    @Test
    void theDriversConnectionInterfaceAnswersConnectionCallsAsTheGuardDoesSoItCannotCommitMidBlock() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            BaseConnection driver = connection.unwrap(BaseConnection.class);
            try (Statement statement = driver.createStatement()) {
                statement.executeUpdate("INSERT INTO notes VALUES (1)");
            }
            Throwable commit = catchThrowable(driver::commit);
            Throwable commitAsSql = catchThrowable(() -> driver.execSQLUpdate("COMMIT"));
            driver.close();
            driver.execSQLUpdate("INSERT INTO notes VALUES (2)");
            assertThat(commit).as("commit()").isInstanceOf(UnsupportedOperationException.class)
                    .hasMessageContaining("return from the callback to commit");
            assertThat(commitAsSql).as("execSQLUpdate(COMMIT)").isInstanceOf(UnsupportedOperationException.class);
            assertThat(driver.isClosed()).isFalse();
            assertThat(driver.unwrap(Connection.class)).isSameAs(connection);
            throw new IllegalStateException("the block fails after both rows");
        })));

        assertThat(rowCount(db, "notes")).as("nothing of the failed block").isZero();
        assertThat(caught).hasMessage("the block fails after both rows");
    }

    @Test
    void driverSettingsThatWouldOutliveTheTransactionAreRefusedAndTheNextTransactionHasTheDefaults() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            PGConnection driver = connection.unwrap(PGConnection.class);
            driver.setDefaultFetchSize(7);
        })));
        int fetchSize = sessions.transactionResult(ctx -> ctx.connectionResult(
                connection -> connection.unwrap(PGConnection.class).getDefaultFetchSize()));
        assertThat(fetchSize).as("the next transaction's default fetch size").isZero();
        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("PGConnection.setDefaultFetchSize(...) is not allowed on a connection managed"
                        + " by SessionManager")
                .hasMessageContaining("defaultRowFetchSize").hasMessageContaining("Statement.setFetchSize");

        sessions.transaction(ctx -> ctx.connection(connection -> {
            PGConnection driver = connection.unwrap(PGConnection.class);
            assertThatThrownBy(() -> driver.setPrepareThreshold(0))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("prepareThreshold");
            assertThatThrownBy(() -> driver.setQueryTimeout(1))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("setQueryTimeout");
            assertThatThrownBy(() -> driver.setAutosave(AutoSave.ALWAYS))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("autosave");
            assertThatThrownBy(() -> driver.setAdaptiveFetch(true))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("adaptiveFetch");
            assertThatThrownBy(() -> connection.unwrap(BaseConnection.class).setFlushCacheOnDeallocate(false))
                    .isInstanceOf(UnsupportedOperationException.class);
            // What lasts only for a statement is set on the statement.
            try (PreparedStatement statement = connection.prepareStatement("SELECT 1")) {
                statement.setFetchSize(7);
                statement.unwrap(PGStatement.class).setPrepareThreshold(0);
                statement.executeQuery().close();
            }
        }));
    }

    @Test
    void aDefaultHoldabilityOrTypeMapForTheConnectionIsRefusedAndTheNextTransactionHasTheDriversDefault() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(
                connection -> connection.setHoldability(ResultSet.HOLD_CURSORS_OVER_COMMIT))));
        int holdability = sessions.transactionResult(ctx -> ctx.connectionResult(connection -> {
            try (Statement statement = connection.createStatement()) {
                return statement.getResultSetHoldability();
            }
        }));

        assertThat(holdability).as("the next transaction's statements").isEqualTo(ResultSet.CLOSE_CURSORS_AT_COMMIT);
        assertThat(caught).isInstanceOf(UnsupportedOperationException.class)
                .hasMessageStartingWith("Connection.setHoldability(...) is not allowed on a connection managed by"
                        + " SessionManager")
                .hasMessageContaining("createStatement(");
        sessions.transaction(ctx -> ctx.connection(connection -> {
            assertThatThrownBy(() -> connection.setTypeMap(Map.of()))
                    .isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("setTypeMap");
            // For one statement it is the statement's to say.
            try (Statement statement = connection.createStatement(ResultSet.TYPE_FORWARD_ONLY,
                    ResultSet.CONCUR_READ_ONLY, ResultSet.HOLD_CURSORS_OVER_COMMIT)) {
                assertThat(statement.getResultSetHoldability()).isEqualTo(ResultSet.HOLD_CURSORS_OVER_COMMIT);
            }
        }));
    }

    @Test
    void copyThroughTheDriversCopyManagerRunsInTheTransactionAndIsUndoneWithIt() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            CopyManager copy = new CopyManager(connection.unwrap(BaseConnection.class));
            assertThat(copy.copyIn("COPY notes FROM STDIN", new StringReader("1\n2\n"))).isEqualTo(2);
            throw new IllegalStateException("the block fails after the copy");
        })));
        long undone = rowCount(db, "notes");
        sessions.transaction(ctx -> ctx.connection(connection -> connection.unwrap(PGConnection.class).getCopyAPI()
                .copyIn("COPY notes FROM STDIN", new StringReader("3\n"))));

        assertThat(caught).hasMessage("the block fails after the copy");
        assertThat(undone).isZero();
        assertThat(rowCount(db, "notes")).isEqualTo(1);
    }

    @Test
    void theDriversApisKeptBeyondTheirTransactionRefuseToWorkOnThePooledConnection() {
        CopyManager fromTheDriver = sessions.transactionResult(ctx -> ctx.connectionResult(
                connection -> connection.unwrap(PGConnection.class).getCopyAPI()));
        CopyManager madeByTheUser = sessions.transactionResult(ctx -> ctx.connectionResult(
                connection -> new CopyManager(connection.unwrap(BaseConnection.class))));
        LargeObjectManager largeObjects = sessions.transactionResult(ctx -> ctx.connectionResult(
                connection -> connection.unwrap(PGConnection.class).getLargeObjectAPI()));

        // Used while the next transaction has the pool's only connection, they would work in that transaction.
        sessions.transaction(ctx -> {
            for (CopyManager kept : new CopyManager[] {fromTheDriver, madeByTheUser}) {
                assertThatThrownBy(() -> kept.copyIn("COPY notes FROM STDIN", new StringReader("9\n")))
                        .isInstanceOf(IllegalStateException.class).hasMessageContaining("has already ended");
            }
            assertThatThrownBy(largeObjects::createLO).isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("has already ended");
        });
        assertThatThrownBy(() -> fromTheDriver.copyIn("COPY notes FROM STDIN", new StringReader("9\n")))
                .as("and while the connection is idle in the pool").isInstanceOf(IllegalStateException.class);
        assertThat(rowCount(db, "notes")).isZero();
        assertThat(queryLong(db, "SELECT count(*) FROM pg_largeobject_metadata")).isZero();
    }

    @Test
    void largeObjectsAreWrittenInTheTransactionAndUndoneWithIt() {
        Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.connection(connection -> {
            connection.unwrap(PGConnection.class).getLargeObjectAPI().createLO();
            throw new IllegalStateException("the block fails after creating it");
        })));
        LargeObjectManager[] made = new LargeObjectManager[2];
        long oid = sessions.transactionResult(ctx -> ctx.connectionResult(connection -> {
            LargeObjectManager largeObjects = connection.unwrap(PGConnection.class).getLargeObjectAPI();
            made[0] = largeObjects;
            assertThat(connection.unwrap(PGConnection.class).getLargeObjectAPI()).as("one per transaction")
                    .isSameAs(largeObjects);
            long created = largeObjects.createLO();
            LargeObject object = largeObjects.open(created);
            object.write("kept".getBytes(StandardCharsets.UTF_8));
            object.close();
            return created;
        }));
        String read = sessions.transactionResult(ctx -> ctx.connectionResult(connection -> {
            made[1] = connection.unwrap(PGConnection.class).getLargeObjectAPI();
            LargeObject object = made[1].open(oid, LargeObjectManager.READ);
            try {
                return new String(object.read(10), StandardCharsets.UTF_8);
            } finally {
                object.close();
            }
        }));

        assertThat(caught).hasMessage("the block fails after creating it");
        assertThat(read).isEqualTo("kept");
        assertThat(made[1]).as("the next transaction's own").isNotSameAs(made[0]);
        assertThat(queryLong(db, "SELECT count(*) FROM pg_largeobject_metadata")).as("only the committed one")
                .isEqualTo(1);
        execute(db, "SELECT lo_unlink(oid) FROM pg_largeobject_metadata");
    }
}
