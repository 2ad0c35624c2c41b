package io.managedsession.testing;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Locale;
import java.util.Set;
import java.util.concurrent.ThreadLocalRandom;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.database.PostgresDatabase;

/**
 * Marks a test run on a server that outlives it (a developer's own, or a reused container), so that the next run can
 * tell the databases of a run that was killed before its end (an IDE's stop button, a CI job cancelled) from those of
 * a run still going, on this machine or another sharing the server.
 *
 * <p>The mark is a session-level advisory lock, held on a connection of its own for as long as the run lives: the
 * server releases it when that connection ends, however the run ends, so that no host name or process id has to be
 * trusted. The run's id is part of each of its database names: a database whose run no longer holds its lock belongs to
 * a run that will never drop it, and the next run does, unless someone is connected to it.
 */
final class RunLease implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(DatabaseTest.class);

    /** The first key of every run's lock ({@code 'mstr'}): the second is the run's id. */
    static final int LOCK_CLASS = 0x6d737472;

    /**
     * {@code ms_<owner>_<run id>_<random>}, as {@link SharedServer} names a leased run's databases; the names of a run
     * without a lease, and older releases', have no run id and never match.
     */
    private static final Pattern RUN_DATABASE = Pattern.compile("ms_[a-z0-9]+_([0-9a-f]{8})_[0-9a-f]{10}");

    private final Connection connection;
    private final String runId;

    private RunLease(Connection connection, String runId) {
        this.connection = connection;
        this.runId = runId;
    }

    /**
     * Takes a run id on {@code server} and holds its lock until {@link #close()}, then drops the databases that runs
     * no longer alive left there.
     */
    static RunLease take(PostgresDatabase server) throws SQLException {
        Connection connection = server.connect();
        try {
            if (connection.getMetaData().getDatabaseMajorVersion() >= 14) {
                // The connection is idle for the whole run: a server, role or database that ends idle sessions would
                // end the mark with it, and the next run would take this live run's databases for a dead one's.
                try (Statement statement = connection.createStatement()) {
                    statement.execute("SET idle_session_timeout = 0");
                }
            }
            int id;
            do {
                id = ThreadLocalRandom.current().nextInt(Integer.MAX_VALUE);
            } while (!tryLock(connection, id));
            String runId = String.format(Locale.ROOT, "%08x", id);
            connection.setClientInfo("ApplicationName", "managed-session test run " + runId);
            RunLease lease = new RunLease(connection, runId);
            lease.dropDatabasesOfEndedRuns(server);
            return lease;
        } catch (SQLException | RuntimeException e) {
            try {
                connection.close();
            } catch (SQLException closing) {
                e.addSuppressed(closing);
            }
            throw e;
        }
    }

    /** The run's id, eight hexadecimal digits, as it appears in its database names. */
    String runId() {
        return runId;
    }

    private static boolean tryLock(Connection connection, int id) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("SELECT pg_try_advisory_lock(?, ?)")) {
            statement.setInt(1, LOCK_CLASS);
            statement.setInt(2, id);
            try (ResultSet result = statement.executeQuery()) {
                result.next();
                return result.getBoolean(1);
            }
        }
    }

    /**
     * Drops the databases, owned by this user, of runs that hold no lock. The names are read before the locks: a
     * run takes its lock before it makes its first database, so each name read belongs to a run whose lock is seen
     * if it is still alive. Never forced: a database someone is connected to stays.
     */
    private void dropDatabasesOfEndedRuns(PostgresDatabase server) throws SQLException {
        List<String> candidates = new ArrayList<>();
        try (Statement statement = connection.createStatement();
             ResultSet result = statement.executeQuery("SELECT datname FROM pg_database"
                     + " WHERE datname LIKE 'ms\\_%' AND pg_get_userbyid(datdba) = current_user ORDER BY datname")) {
            while (result.next()) {
                candidates.add(result.getString(1));
            }
        }
        Set<Long> liveRuns = new HashSet<>();
        try (PreparedStatement statement = connection.prepareStatement("SELECT objid::bigint FROM pg_locks"
                + " WHERE locktype = 'advisory' AND objsubid = 2 AND classid = ?::oid")) {
            statement.setLong(1, LOCK_CLASS);
            try (ResultSet result = statement.executeQuery()) {
                while (result.next()) {
                    liveRuns.add(result.getLong(1));
                }
            }
        }
        List<String> dropped = new ArrayList<>();
        for (String name : candidates) {
            Matcher matcher = RUN_DATABASE.matcher(name);
            if (!matcher.matches() || liveRuns.contains(Long.parseLong(matcher.group(1), 16))) {
                continue;
            }
            try (Statement statement = connection.createStatement()) {
                statement.execute("DROP DATABASE IF EXISTS \"" + name + "\"");
                dropped.add(name);
            } catch (SQLException e) {
                log.info("Kept database {} of an ended test run on {}: {}", name, server, e.getMessage());
            }
        }
        if (!dropped.isEmpty()) {
            log.info("Dropped {} database(s) left on {} by test runs that ended before cleaning up (killed or"
                    + " stopped): {}", dropped.size(), server, dropped);
        }
    }

    /** Ends the connection, and with it the run's lock. */
    @Override
    public void close() throws SQLException {
        connection.close();
    }
}
