package io.managedsession.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;

/**
 * What a test left behind on its database: a transaction still open on the test thread, connections not returned to
 * a SessionManager's pool, transactions still open on the server. The extension runs it after every test for the
 * injected manager; {@link TestDatabase#assertNothingLeaked(SessionManager)} runs it for any other.
 */
final class LeakCheck {

    /** How long a transaction seen on the server may take to go away before it counts as leaked. */
    private static final Duration SETTLE_TIME = Duration.ofSeconds(2);

    private LeakCheck() {
    }

    /**
     * Fails when {@code sessions} left something open on {@code database}.
     *
     * @throws AssertionError naming the database and each thing left open
     */
    static void assertNothingLeaked(TestDatabase database, SessionManager sessions) {
        List<String> leaks;
        try {
            leaks = leaks(database, sessions);
        } catch (SQLException e) {
            throw new AssertionError("Could not look for what was left open on database " + database.name() + ": "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("Interrupted while looking for what was left open on database "
                    + database.name(), e);
        }
        if (!leaks.isEmpty()) {
            throw new AssertionError("The test left something open on database " + database.name() + ": "
                    + String.join("; ", leaks));
        }
    }

    /** Describes each thing left open, in words a failed test can show; empty when nothing was. */
    private static List<String> leaks(TestDatabase database, SessionManager sessions) throws SQLException,
            InterruptedException {
        List<String> leaks = new ArrayList<>();
        if (sessions.current().isPresent()) {
            leaks.add("a transaction of SessionManager '" + sessions.name() + "' is still open on the test thread");
        }
        if (sessions.dataSource() instanceof HikariDataSource hikari && hikari.getHikariPoolMXBean() != null) {
            HikariPoolMXBean pool = hikari.getHikariPoolMXBean();
            if (pool.getActiveConnections() > 0) {
                leaks.add(pool.getActiveConnections() + " connection(s) of SessionManager '" + sessions.name()
                        + "' were not returned to its pool (total=" + pool.getTotalConnections() + ", active="
                        + pool.getActiveConnections() + ", idle=" + pool.getIdleConnections() + "): a connection taken"
                        + " from sessions.dataSource() was not closed, or a transaction still runs on another thread");
            }
        }
        leaks.addAll(openTransactionsOnServer(database));
        return leaks;
    }

    /** Transactions other sessions still hold on the database, given a moment to end on their own. */
    private static List<String> openTransactionsOnServer(TestDatabase database) throws SQLException,
            InterruptedException {
        long deadline = System.nanoTime() + SETTLE_TIME.toNanos();
        try (Connection connection = database.connect();
             PreparedStatement query = connection.prepareStatement("SELECT pid, application_name, state,"
                     + " now() - xact_start, left(query, 200) FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                     + " AND backend_type = 'client backend'")) {
            while (true) {
                List<String> open = new ArrayList<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        open.add("a transaction left open on the server: pid " + rows.getInt(1) + ", application '"
                                + rows.getString(2) + "', " + rows.getString(3) + " for " + rows.getString(4)
                                + ", last statement: " + rows.getString(5));
                    }
                }
                if (open.isEmpty() || System.nanoTime() > deadline) {
                    return open;
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }
    }
}
