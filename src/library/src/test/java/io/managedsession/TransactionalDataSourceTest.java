package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import javax.sql.DataSource;

import org.jooq.DSLContext;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * {@code sessions.transactionalDataSource()}: JDBC code and libraries that take a {@code DataSource} (a DAO written
 * before jOOQ came, a scheduler's or an outbox's tables) join the calling thread's transaction, as jOOQ code joins it
 * through {@code sessions.dsl()}.
 */
@DatabaseTest(migrations = {})
class TransactionalDataSourceTest {

    /** A DAO of plain JDBC, made once around the DataSource it was given, as a container makes a singleton. */
    record EventLog(DataSource dataSource) {

        void add(String event) throws SQLException {
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement insert = connection.prepareStatement("INSERT INTO events (name) VALUES (?)")) {
                insert.setString(1, event);
                insert.executeUpdate();
            }
        }

        long count() throws SQLException {
            return number("SELECT count(*) FROM events");
        }

        /** The server process of the connection it gets. */
        long backend() throws SQLException {
            return number("SELECT pg_backend_pid()");
        }

        private long number(String query) throws SQLException {
            try (Connection connection = dataSource.getConnection();
                 PreparedStatement statement = connection.prepareStatement(query);
                 ResultSet row = statement.executeQuery()) {
                row.next();
                return row.getLong(1);
            }
        }
    }

    private final TestDatabase db;

    TransactionalDataSourceTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeEach
    void createEvents() {
        execute(db, "DROP TABLE IF EXISTS events", "CREATE TABLE events (name text NOT NULL)");
    }

    private static long backend(DSLContext ctx) {
        return ctx.fetchSingle("SELECT pg_backend_pid()").get(0, Long.class);
    }

    @Test
    void jdbcCodeGivenItWritesInTheCallersTransactionCommitsAndRollsBackWithIt() throws Exception {
        try (SessionManager sessions = Managers.on(db).build()) {
            EventLog events = new EventLog(sessions.transactionalDataSource());

            sessions.transaction(ctx -> {
                events.add("kept");
                assertThat(events.backend()).as("the transaction's connection").isEqualTo(backend(ctx));
                assertThat(ctx.fetchValue("SELECT count(*) FROM events")).as("jOOQ sees the DAO's write")
                        .isEqualTo(1L);
                assertThat(queryLong(db, "SELECT count(*) FROM events")).as("not committed yet").isZero();
                events.add("kept too"); // its connection closed after each call, and still the transaction's
            });
            Throwable undone = catchThrowable(() -> sessions.transaction(ctx -> {
                events.add("undone");
                throw new IllegalStateException("the order failed after its event was written");
            }));

            assertThat(undone).hasMessage("the order failed after its event was written");
            assertThat(queryLong(db, "SELECT count(*) FROM events")).isEqualTo(2);
            assertThat(queryLong(db, "SELECT count(*) FROM events WHERE name = 'undone'")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aRequiresNewBlockGetsItsOwnTransactionsConnectionAndEachThreadItsOwn() throws Exception {
        try (SessionManager sessions = Managers.on(db).build()) {
            EventLog events = new EventLog(sessions.transactionalDataSource());
            TransactionOptions own = TransactionOptions.builder().propagation(Propagation.REQUIRES_NEW).build();

            Throwable undone = catchThrowable(() -> sessions.transaction(ctx -> {
                events.add("with the outer transaction");
                sessions.transaction(own, audit -> {
                    events.add("in a transaction of its own");
                    assertThat(events.backend()).as("the new transaction's connection").isEqualTo(backend(audit));
                });
                assertThat(events.backend()).as("the outer one's again").isEqualTo(backend(ctx));
                throw new IllegalStateException("the outer one fails");
            }));
            assertThat(undone).hasMessage("the outer one fails");
            assertThat(queryLong(db, "SELECT count(*) FROM events")).isEqualTo(1);
            assertThat(queryLong(db, "SELECT count(*) FROM events WHERE name = 'in a transaction of its own'"))
                    .isEqualTo(1);

            // Two threads at once, each in a transaction of its own: one commits, the other rolls back.
            CyclicBarrier bothWrote = new CyclicBarrier(2);
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try {
                Future<?> kept = threads.submit(() -> sessions.transactionResult(ctx -> {
                    events.add("thread kept");
                    bothWrote.await(10, TimeUnit.SECONDS);
                    return events.count();
                }));
                Future<?> rolledBack = threads.submit(() -> sessions.transactionResult(ctx -> {
                    events.add("thread undone");
                    bothWrote.await(10, TimeUnit.SECONDS);
                    throw new IllegalStateException("changed my mind");
                }));
                assertThat(kept.get(30, TimeUnit.SECONDS)).as("its own write, not the other thread's").isEqualTo(2L);
                assertThat(catchThrowable(() -> rolledBack.get(30, TimeUnit.SECONDS)))
                        .hasRootCauseMessage("changed my mind");
            } finally {
                threads.shutdownNow();
            }
            assertThat(queryLong(db, "SELECT count(*) FROM events")).isEqualTo(2);
            assertThat(queryLong(db, "SELECT count(*) FROM events WHERE name = 'thread undone'")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void outsideATransactionItRefusesAndSaysWhereToTakeAConnectionInstead() {
        try (SessionManager sessions = Managers.on(db).name("orders").build()) {
            EventLog events = new EventLog(sessions.transactionalDataSource());

            assertThatThrownBy(() -> events.add("outside")).isInstanceOf(NoTransactionException.class)
                    .hasMessage("sessions.transactionalDataSource() hands out the connection of the calling thread's"
                            + " transaction of SessionManager 'orders', and this thread runs none: call it from inside"
                            + " sessions.transaction(...), or take a connection of sessions.dataSource()");
            assertThat(queryLong(db, "SELECT count(*) FROM events")).isZero();
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void codeThatEndsTheTransactionItselfIsRefusedAndNothingOfItStays() throws Exception {
        try (SessionManager sessions = Managers.on(db).build()) {
            DataSource dataSource = sessions.transactionalDataSource();
            Connection[] kept = new Connection[1];

            Throwable committed = catchThrowable(() -> sessions.transaction(ctx -> {
                try (Connection connection = dataSource.getConnection()) {
                    kept[0] = connection;
                    connection.createStatement().execute("INSERT INTO events VALUES ('committed by hand')");
                    connection.commit(); // what JDBC code written for its own transactions does
                }
            }));

            assertThat(committed).isInstanceOf(UnsupportedOperationException.class).hasMessageContaining("commit");
            assertThat(queryLong(db, "SELECT count(*) FROM events")).isZero();
            assertThatThrownBy(() -> kept[0].createStatement()).as("kept beyond its transaction")
                    .isInstanceOf(IllegalStateException.class);
            assertThatThrownBy(() -> sessions.transaction(ctx -> dataSource.getConnection("someone", "else")))
                    .isInstanceOf(SQLFeatureNotSupportedException.class)
                    .hasMessageContaining("cannot open one as another user");
            assertThat(dataSource.isWrapperFor(DataSource.class)).isTrue();
            db.assertNothingLeaked(sessions);
        }
    }
}
