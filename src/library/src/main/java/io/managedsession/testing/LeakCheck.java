package io.managedsession.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.TimeUnit;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;

/**
 * What a test left behind on its database: a transaction still open on the test thread, connections not returned to
 * a SessionManager's pool, transactions still open on the server. The extension runs it after every test for the
 * injected manager (through {@link DatabaseScope}, which decides when the database is quiet enough to look);
 * {@link TestDatabase#assertNothingLeaked(SessionManager)} runs it for any other.
 */
final class LeakCheck {

    /** How long a transaction seen on the server may take to go away before it counts as leaked. */
    private static final Duration SETTLE_TIME = Duration.ofSeconds(2);

    private LeakCheck() {
    }

    /**
     * What was open on a database and in a manager's pool at one look: the connections checked out of the pool, and
     * the transactions open on the server, each known by its backend's pid and its start (a pooled backend serves one
     * transaction after another).
     */
    record Found(int connections, String pool, Map<String, String> serverTransactions) {

        /** Before the first look. */
        static final Found NOTHING = new Found(0, "", Map.of());

        /**
         * Describes what is open now and was not at {@code earlier}: a leak already reported is not blamed on the
         * tests after it.
         */
        List<String> since(Found earlier, String managerName) {
            List<String> leaks = new ArrayList<>();
            int more = connections - earlier.connections;
            if (more > 0) {
                leaks.add(more + " connection(s) of SessionManager '" + managerName + "' were not returned to its pool"
                        + " (" + pool + "): a connection taken from sessions.dataSource() was not closed, or a"
                        + " transaction still runs on another thread");
            }
            serverTransactions.forEach((transaction, description) -> {
                if (!earlier.serverTransactions.containsKey(transaction)) {
                    leaks.add(description);
                }
            });
            return leaks;
        }
    }

    /**
     * Fails when {@code sessions} left something open on {@code database}.
     *
     * @throws AssertionError naming the database and each thing left open
     */
    static void assertNothingLeaked(TestDatabase database, SessionManager sessions) {
        List<String> leaks = new ArrayList<>(onTestThread(sessions));
        leaks.addAll(look(database, sessions, Found.NOTHING).since(Found.NOTHING, sessions.name()));
        failIfAny(database, leaks);
    }

    /** Fails naming the database and each of {@code leaks}, when there are any. */
    static void failIfAny(TestDatabase database, List<String> leaks) {
        if (!leaks.isEmpty()) {
            throw new AssertionError("The test left something open on database " + database.name() + ": "
                    + String.join("; ", leaks));
        }
    }

    /** A transaction of {@code sessions} still open on the calling thread, which only the test on it can have left. */
    static List<String> onTestThread(SessionManager sessions) {
        return sessions.current().isPresent()
                ? List.of("a transaction of SessionManager '" + sessions.name() + "' is still open on the test thread")
                : List.of();
    }

    /**
     * Looks at the pool of {@code sessions} and at the transactions open on {@code database}, giving those not open at
     * {@code earlier} a moment to end on their own.
     *
     * @throws AssertionError when the database cannot be asked
     */
    static Found look(TestDatabase database, SessionManager sessions, Found earlier) {
        int connections = 0;
        String pool = "";
        if (sessions.dataSource() instanceof HikariDataSource hikari && hikari.getHikariPoolMXBean() != null) {
            HikariPoolMXBean numbers = hikari.getHikariPoolMXBean();
            connections = numbers.getActiveConnections();
            pool = "total=" + numbers.getTotalConnections() + ", active=" + connections + ", idle="
                    + numbers.getIdleConnections();
        }
        try {
            return new Found(connections, pool, openTransactionsOnServer(database, earlier));
        } catch (SQLException e) {
            throw new AssertionError("Could not look for what was left open on database " + database.name() + ": "
                    + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new AssertionError("Interrupted while looking for what was left open on database "
                    + database.name(), e);
        }
    }

    /** Transactions other sessions still hold on the database, the ones not open at {@code earlier} given a moment. */
    private static Map<String, String> openTransactionsOnServer(TestDatabase database, Found earlier)
            throws SQLException, InterruptedException {
        long deadline = System.nanoTime() + SETTLE_TIME.toNanos();
        try (Connection connection = database.connect();
             PreparedStatement query = connection.prepareStatement("SELECT pid, application_name, state,"
                     + " now() - xact_start, left(query, 200), xact_start::text FROM pg_stat_activity"
                     + " WHERE datname = current_database() AND pid <> pg_backend_pid() AND xact_start IS NOT NULL"
                     + " AND backend_type = 'client backend'")) {
            while (true) {
                Map<String, String> open = new LinkedHashMap<>();
                try (ResultSet rows = query.executeQuery()) {
                    while (rows.next()) {
                        int pid = rows.getInt(1);
                        open.put(pid + "@" + rows.getString(6), "a transaction left open on the server: pid " + pid
                                + ", application '" + rows.getString(2) + "', " + rows.getString(3) + " for "
                                + rows.getString(4) + ", last statement: " + rows.getString(5));
                    }
                }
                if (earlier.serverTransactions.keySet().containsAll(open.keySet()) || System.nanoTime() > deadline) {
                    return open;
                }
                TimeUnit.MILLISECONDS.sleep(50);
            }
        }
    }
}
