package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.time.Duration;
import java.util.concurrent.Executor;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.jooq.tools.jdbc.DefaultConnection;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.support.CommitCuttingProxy.Cut;
import io.managedsession.support.CommitCuttingProxy;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The connection is cut exactly while COMMIT is in flight, by a proxy that reads the protocol: once before the server
 * sees the COMMIT (it rolls back) and once after it executed it (it committed). The caller cannot tell the two apart,
 * so both give CommitOutcomeUnknownException, and neither is retried.
 */
@DatabaseTest(migrations = {})
class CommitOutcomeUnknownTest {

    /** Retries allowed for everything, to show that an unknown outcome is still never retried. */
    private static final TransactionOptions RETRY_ANYTHING = TransactionOptions.builder().maxAttempts(5)
            .retryOn(t -> true).build();

    private final TestDatabase db;
    private CommitCuttingProxy proxy;
    private SessionManager sessions;

    CommitOutcomeUnknownTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void createTable(TestDatabase db) {
        execute(db, "CREATE TABLE payments (id integer PRIMARY KEY)");
    }

    @BeforeEach
    void start() throws Exception {
        execute(db, "TRUNCATE payments");
        proxy = CommitCuttingProxy.toServerOf(db);
        sessions = Managers.via(db, "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name()
                + "?sslmode=disable&gssEncMode=disable&prepareThreshold=0").maximumPoolSize(1).build();
    }

    @AfterEach
    void stop() throws Exception {
        sessions.close();
        proxy.close();
    }

    @Test
    void commitLostOnTheWayToTheServerIsReportedUnknownAndNotRetried() {
        AtomicInteger runs = new AtomicInteger();
        AtomicInteger callbacks = new AtomicInteger();

        Throwable caught = catchThrowable(() -> sessions.transaction(RETRY_ANYTHING, ctx -> {
            runs.incrementAndGet();
            ctx.execute("INSERT INTO payments VALUES (1)");
            sessions.afterCommit(callbacks::incrementAndGet);
            sessions.afterRollback(callbacks::incrementAndGet);
            proxy.cutAtNextCommit(Cut.BEFORE_SERVER_SEES_COMMIT);
        }));

        assertThat(caught).isInstanceOf(CommitOutcomeUnknownException.class)
                .hasMessageContaining("connection failed while COMMIT was in flight")
                .hasMessageContaining("not retried");
        assertThat(runs.get()).isEqualTo(1);
        assertThat(callbacks.get()).as("outcome unknown: neither callback runs").isZero();
        assertThat(rowCount(db, "payments")).as("the server never saw the COMMIT").isZero();
        assertRecovers();
    }

    @Test
    void commitWhoseReplyIsLostIsReportedUnknownAlthoughTheServerCommitted() {
        AtomicInteger runs = new AtomicInteger();

        Throwable caught = catchThrowable(() -> sessions.transaction(RETRY_ANYTHING, ctx -> {
            runs.incrementAndGet();
            ctx.execute("INSERT INTO payments VALUES (2)");
            proxy.cutAtNextCommit(Cut.AFTER_SERVER_COMMITS);
        }));

        assertThat(caught).isInstanceOf(CommitOutcomeUnknownException.class);
        assertThat(runs.get()).isEqualTo(1);
        await().atMost(Duration.ofSeconds(10)).until(() -> rowCount(db, "payments") == 1);
        assertRecovers();
    }

    @Test
    void connectionOfAWrappingDataSourceIsAbortedNotReturnedAsHealthy() throws Exception {
        AtomicInteger aborted = new AtomicInteger();
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl("jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name()
                + "?sslmode=disable&gssEncMode=disable&prepareThreshold=0");
        config.setUsername(db.username());
        config.setPassword(db.password());
        config.setMaximumPoolSize(1);
        try (HikariDataSource pool = new HikariDataSource(config);
             SessionManager traced = SessionManager.builder().dataSource(new TracingDataSource(pool, aborted))
                     .build()) {
            Throwable caught = catchThrowable(() -> traced.transaction(ctx -> {
                ctx.execute("INSERT INTO payments VALUES (3)");
                proxy.cutAtNextCommit(Cut.BEFORE_SERVER_SEES_COMMIT);
            }));

            assertThat(caught).isInstanceOf(CommitOutcomeUnknownException.class);
            assertThat(aborted.get()).as("the standard way to mark a connection dead, through any wrapper")
                    .isEqualTo(1);
            Integer afterwards = traced.transactionResult(ctx -> ctx.fetchValue(field("1", Integer.class)));
            assertThat(afterwards).as("the pool gives a working connection").isEqualTo(1);
        }
    }

    /** What tracing proxies (p6spy, datasource-proxy, OpenTelemetry) do: wrap the pool and its connections. */
    private static final class TracingDataSource implements DataSource {

        private final DataSource pool;
        private final AtomicInteger aborted;

        TracingDataSource(DataSource pool, AtomicInteger aborted) {
            this.pool = pool;
            this.aborted = aborted;
        }

        @Override
        public Connection getConnection() throws SQLException {
            return new DefaultConnection(pool.getConnection()) {
                @Override
                public void abort(Executor executor) throws SQLException {
                    aborted.incrementAndGet();
                    super.abort(executor);
                }
            };
        }

        @Override
        public Connection getConnection(String username, String password) throws SQLException {
            throw new SQLFeatureNotSupportedException();
        }

        @Override
        public PrintWriter getLogWriter() throws SQLException {
            return pool.getLogWriter();
        }

        @Override
        public void setLogWriter(PrintWriter out) throws SQLException {
            pool.setLogWriter(out);
        }

        @Override
        public void setLoginTimeout(int seconds) throws SQLException {
            pool.setLoginTimeout(seconds);
        }

        @Override
        public int getLoginTimeout() throws SQLException {
            return pool.getLoginTimeout();
        }

        @Override
        public Logger getParentLogger() throws SQLFeatureNotSupportedException {
            return pool.getParentLogger();
        }

        @Override
        public <T> T unwrap(Class<T> iface) throws SQLException {
            return iface.isInstance(this) ? iface.cast(this) : pool.unwrap(iface);
        }

        @Override
        public boolean isWrapperFor(Class<?> iface) throws SQLException {
            return iface.isInstance(this) || pool.isWrapperFor(iface);
        }
    }

    private void assertRecovers() {
        int next = sessions.transactionResult(ctx -> ctx.execute("INSERT INTO payments VALUES (100)"));
        assertThat(next).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM payments WHERE id = 100")).isEqualTo(1);
    }
}
