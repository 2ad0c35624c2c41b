package io.managedsession.bench;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.List;
import java.util.concurrent.ThreadLocalRandom;

import javax.sql.DataSource;

import org.jdbi.v3.core.Jdbi;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.DataSourceConnectionProvider;
import org.jooq.impl.DefaultConfiguration;
import org.springframework.jdbc.datasource.DataSourceTransactionManager;
import org.springframework.jdbc.datasource.DataSourceUtils;
import org.springframework.jdbc.datasource.TransactionAwareDataSourceProxy;
import org.springframework.transaction.support.TransactionTemplate;

import io.managedsession.SessionManager;

/** pgbench's TPC-B transaction through each transaction layer that is compared. */
final class TpcbImplementations {

    private TpcbImplementations() {
    }

    /** One way of running the transaction, under the name the report gives it. */
    record Implementation(String name, Body body) {
        void transaction(Draw draw) throws Exception {
            body.run(draw);
        }
    }

    /** One transaction for one draw. */
    @FunctionalInterface
    interface Body {
        void run(Draw draw) throws Exception;
    }

    /** pgbench's random choices for one transaction. */
    record Draw(long aid, int tid, int bid, long delta) {
        static Draw next(int scale) {
            ThreadLocalRandom random = ThreadLocalRandom.current();
            return new Draw(1 + random.nextLong(100_000L * scale), 1 + random.nextInt(10 * scale),
                    1 + random.nextInt(scale), random.nextLong(-5000, 5001));
        }
    }

    static final String UPDATE_ACCOUNT = "UPDATE accounts SET abalance = abalance + ? WHERE aid = ?";
    static final String SELECT_ACCOUNT = "SELECT abalance FROM accounts WHERE aid = ?";
    static final String UPDATE_TELLER = "UPDATE tellers SET tbalance = tbalance + ? WHERE tid = ?";
    static final String UPDATE_BRANCH = "UPDATE branches SET bbalance = bbalance + ? WHERE bid = ?";
    static final String INSERT_HISTORY = "INSERT INTO history (tid, bid, aid, delta, mtime)"
            + " VALUES (?, ?, ?, ?, CURRENT_TIMESTAMP)";

    /** The five statements with plain JDBC prepared statements, on a connection in a transaction. */
    static long jdbcStatements(Connection connection, Draw d) throws SQLException {
        try (PreparedStatement account = connection.prepareStatement(UPDATE_ACCOUNT)) {
            account.setLong(1, d.delta());
            account.setLong(2, d.aid());
            account.executeUpdate();
        }
        long balance;
        try (PreparedStatement select = connection.prepareStatement(SELECT_ACCOUNT)) {
            select.setLong(1, d.aid());
            try (ResultSet row = select.executeQuery()) {
                row.next();
                balance = row.getLong(1);
            }
        }
        try (PreparedStatement teller = connection.prepareStatement(UPDATE_TELLER)) {
            teller.setLong(1, d.delta());
            teller.setInt(2, d.tid());
            teller.executeUpdate();
        }
        try (PreparedStatement branch = connection.prepareStatement(UPDATE_BRANCH)) {
            branch.setLong(1, d.delta());
            branch.setInt(2, d.bid());
            branch.executeUpdate();
        }
        try (PreparedStatement history = connection.prepareStatement(INSERT_HISTORY)) {
            history.setInt(1, d.tid());
            history.setInt(2, d.bid());
            history.setLong(3, d.aid());
            history.setLong(4, d.delta());
            history.executeUpdate();
        }
        return balance;
    }

    /** Raw JDBC and HikariCP: the floor of overhead. */
    static Implementation rawJdbc(DataSource pool) {
        return new Implementation("raw JDBC + HikariCP", d -> {
            try (Connection connection = pool.getConnection()) {
                connection.setAutoCommit(false);
                try {
                    jdbcStatements(connection, d);
                    connection.commit();
                } catch (SQLException | RuntimeException e) {
                    connection.rollback();
                    throw e;
                }
            }
        });
    }

    /** jOOQ's own DSLContext.transactionResult, its DefaultTransactionProvider, on HikariCP. */
    static Implementation jooq(DataSource pool) {
        DSLContext dsl = DSL.using(pool, SQLDialect.POSTGRES);
        return new Implementation("jOOQ transactionResult", d -> dsl.transactionResult(configuration ->
                Tpcb.step(configuration.dsl(), d.aid(), d.tid(), d.bid(), d.delta())));
    }

    /** SessionManager with the same jOOQ statements. */
    static Implementation sessionManager(SessionManager sessions, String name) {
        return new Implementation(name, d -> sessions.transactionResult(ctx ->
                Tpcb.step(ctx, d.aid(), d.tid(), d.bid(), d.delta())));
    }

    /** SessionManager with the same statements declared once as PreparedQuerys. */
    static Implementation sessionManagerPrepared(SessionManager sessions, String name) {
        return new Implementation(name, d -> sessions.transactionResult(ctx ->
                Tpcb.preparedStep(ctx, d.aid(), d.tid(), d.bid(), d.delta())));
    }

    /** SessionManager around plain JDBC statements: the transaction layer's own cost against raw JDBC. */
    static Implementation sessionManagerJdbc(SessionManager sessions, String name) {
        return new Implementation(name, d -> sessions.transactionResult(ctx ->
                ctx.connectionResult(connection -> jdbcStatements(connection, d))));
    }

    /** jOOQ's transactionResult around the same JDBC statements, on the connection of its transaction. */
    static Implementation jooqJdbc(DataSource pool) {
        DSLContext dsl = DSL.using(pool, SQLDialect.POSTGRES);
        return new Implementation("jOOQ transactionResult, JDBC statements", d -> dsl.transactionResult(
                configuration -> configuration.dsl().connectionResult(connection -> jdbcStatements(connection, d))));
    }

    /**
     * Spring's TransactionTemplate around the same JDBC statements, on the transaction's connection obtained the way
     * JdbcTemplate obtains it (DataSourceUtils).
     */
    static Implementation springJdbc(DataSource pool) {
        TransactionTemplate template = new TransactionTemplate(new DataSourceTransactionManager(pool));
        return new Implementation("Spring TransactionTemplate, JDBC statements", d -> template.execute(status ->
                withSpringConnection(pool, connection -> jdbcStatements(connection, d))));
    }

    /** Work on a JDBC connection. */
    @FunctionalInterface
    interface ConnectionWork<T> {
        T run(Connection connection) throws SQLException;
    }

    /**
     * Runs {@code work} on the connection of the Spring transaction running on this thread, obtained and released
     * the way JdbcTemplate does (DataSourceUtils), without JdbcTemplate's close-suppressing proxy.
     */
    static <T> T withSpringConnection(DataSource pool, ConnectionWork<T> work) {
        Connection connection = DataSourceUtils.getConnection(pool);
        try {
            return work.run(connection);
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        } finally {
            DataSourceUtils.releaseConnection(connection, pool);
        }
    }

    /** Jdbi's inTransaction around the same JDBC statements, on its handle's connection. */
    static Implementation jdbiJdbc(DataSource pool) {
        Jdbi jdbi = Jdbi.create(pool);
        return new Implementation("Jdbi inTransaction, JDBC statements", d -> jdbi.inTransaction(handle ->
                jdbcStatements(handle.getConnection(), d)));
    }

    /**
     * Spring's TransactionTemplate with DataSourceTransactionManager, and jOOQ wired the way Spring Boot wires it: a
     * DataSourceConnectionProvider over a TransactionAwareDataSourceProxy, so jOOQ's statements join Spring's
     * transaction.
     */
    static Implementation spring(DataSource pool) {
        TransactionTemplate template = new TransactionTemplate(new DataSourceTransactionManager(pool));
        DSLContext dsl = DSL.using(new DefaultConfiguration()
                .set(SQLDialect.POSTGRES)
                .set(new DataSourceConnectionProvider(new TransactionAwareDataSourceProxy(pool))));
        return new Implementation("Spring TransactionTemplate + jOOQ", d -> template.execute(status ->
                Tpcb.step(dsl, d.aid(), d.tid(), d.bid(), d.delta())));
    }

    /** Jdbi's inTransaction with its own statements. */
    static Implementation jdbi(DataSource pool) {
        Jdbi jdbi = Jdbi.create(pool);
        return new Implementation("Jdbi inTransaction", d -> jdbi.inTransaction(handle -> {
            handle.createUpdate("UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid")
                    .bind("delta", d.delta()).bind("aid", d.aid()).execute();
            long balance = handle.createQuery("SELECT abalance FROM accounts WHERE aid = :aid")
                    .bind("aid", d.aid()).mapTo(Long.class).one();
            handle.createUpdate("UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid")
                    .bind("delta", d.delta()).bind("tid", d.tid()).execute();
            handle.createUpdate("UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid")
                    .bind("delta", d.delta()).bind("bid", d.bid()).execute();
            handle.createUpdate("INSERT INTO history (tid, bid, aid, delta, mtime)"
                            + " VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP)")
                    .bind("tid", d.tid()).bind("bid", d.bid()).bind("aid", d.aid()).bind("delta", d.delta())
                    .execute();
            return balance;
        }));
    }

    static List<String> pgbenchScript() {
        return List.of(
                "\\set aid random(1, 100000 * :scale)",
                "\\set bid random(1, 1 * :scale)",
                "\\set tid random(1, 10 * :scale)",
                "\\set delta random(-5000, 5000)",
                "BEGIN;",
                "UPDATE accounts SET abalance = abalance + :delta WHERE aid = :aid;",
                "SELECT abalance FROM accounts WHERE aid = :aid;",
                "UPDATE tellers SET tbalance = tbalance + :delta WHERE tid = :tid;",
                "UPDATE branches SET bbalance = bbalance + :delta WHERE bid = :bid;",
                "INSERT INTO history (tid, bid, aid, delta, mtime) VALUES (:tid, :bid, :aid, :delta, CURRENT_TIMESTAMP);",
                "END;");
    }
}
