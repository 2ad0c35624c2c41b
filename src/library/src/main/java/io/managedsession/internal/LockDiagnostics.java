package io.managedsession.internal;

import java.sql.Array;
import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.Semaphore;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.util.PSQLException;
import org.postgresql.util.ServerErrorMessage;

/**
 * Names the backends that blocked a statement which failed on a lock timeout, a deadline or a deadlock (SQLSTATE
 * 55P03, 57014, 40P01), asked over a side connection while the failed transaction still holds its place.
 *
 * <p>PostgreSQL says who it was in different ways: a deadlock's DETAIL names the other processes (and, for a wait on a
 * transaction, that transaction, which has often ended by the time of the lookup); a wait for a row lock leaves a
 * CONTEXT naming the row ({@code while updating tuple (0,1) in relation "accounts"}), whose {@code xmax} is the id of
 * the holder's transaction or savepoint, whose lock in {@code pg_locks} names its backend. When neither is there (a
 * table lock), the transactions older than the failed one that hold locks are named as the likely blockers, and said
 * to be only likely.
 *
 * <p>The whole lookup takes at most {@link #TIMEOUT}: it runs on a virtual thread of its own and is abandoned when
 * late, so that it never delays the original error by more. It costs nothing until such a failure.
 *
 * <p>Thread safety: immutable; each lookup uses a connection of its own.
 */
final class LockDiagnostics {

    /** The longest a lookup may delay the failure it explains. */
    static final Duration TIMEOUT = Duration.ofSeconds(1);

    private static final String LOCK_NOT_AVAILABLE = "55P03";
    private static final String QUERY_CANCELED = "57014";
    private static final String DEADLOCK_DETECTED = "40P01";
    private static final int QUERY_CHARACTERS = 200;
    private static final int MOST_BLOCKERS = 5;
    /**
     * One wait of a deadlock's DETAIL ({@code Process 1 waits for ShareLock on transaction 7; blocked by process 2.}):
     * the transaction waited for, when it was a transaction's lock, belongs to the blocking process.
     */
    private static final Pattern BLOCKED_BY = Pattern.compile("(?:on transaction (\\d+); )?blocked by process (\\d+)");
    /** 2^32: a transaction id as PostgreSQL prints it wraps around at this, its 64-bit form does not. */
    private static final long XID_WRAP = 1L << 32;
    private static final Pattern ROW_CONTEXT = Pattern.compile(
            "tuple \\((\\d+),(\\d+)\\) in relation \"((?:[^\"]|\"\")+)\"");
    /** A password written in SQL ({@code PASSWORD 'secret'}): never copied into a message. */
    private static final Pattern PASSWORD_LITERAL = Pattern.compile("(?i)(password\\s*)'(?:[^']|'')*'");

    private final SideConnections side;
    private final Semaphore oneAtATime = new Semaphore(1);

    LockDiagnostics(SideConnections side) {
        this.side = side;
    }

    /**
     * The failed statement's error when it is one this class explains, else {@code null}: a deadlock, a lock not
     * available, or a cancellation (a timeout, a deadline) while waiting for a row. A cancellation without a row it
     * waited for may have had nothing to do with a lock (a slow query), and is left alone.
     */
    static PSQLException lockFailure(Throwable failure) {
        return (PSQLException) SqlStates.find(failure, sql -> sql instanceof PSQLException psql
                && (LOCK_NOT_AVAILABLE.equals(sql.getSQLState()) || DEADLOCK_DETECTED.equals(sql.getSQLState())
                        || QUERY_CANCELED.equals(sql.getSQLState()) && waitedForARow(psql)));
    }

    private static boolean waitedForARow(PSQLException failure) {
        ServerErrorMessage server = failure.getServerErrorMessage();
        return server != null && server.getWhere() != null && ROW_CONTEXT.matcher(server.getWhere()).find();
    }

    /**
     * Describes who blocked the failed statement of backend {@code ownPid}, in a sentence for messages and logs; says
     * so when the lookup failed or took too long. Returns {@code null} when no blocker is left to name, and when
     * another lookup of this manager is still running: one at a time, so that a storm of lock failures does not open
     * a storm of connections.
     */
    String describe(PSQLException failure, int ownPid) {
        if (!oneAtATime.tryAcquire()) {
            return null;
        }
        try {
            return lookUpWithin(failure, ownPid);
        } finally {
            oneAtATime.release();
        }
    }

    private String lookUpWithin(PSQLException failure, int ownPid) {
        CompletableFuture<String> lookup = new CompletableFuture<>();
        Thread.ofVirtual().name("managed-session-lock-diagnostics").start(() -> {
            try {
                lookup.complete(lookUp(failure, ownPid));
            } catch (Throwable t) {
                lookup.completeExceptionally(t);
            }
        });
        try {
            return lookup.get(TIMEOUT.toMillis(), TimeUnit.MILLISECONDS);
        } catch (TimeoutException e) {
            return "the blocking backends could not be looked up within " + TIMEOUT.toMillis() + " ms";
        } catch (ExecutionException e) {
            Throwable cause = e.getCause();
            return "the blocking backends could not be looked up (SQLSTATE " + SqlStates.sqlState(cause) + "): "
                    + cause.getMessage();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            return "the blocking backends were not looked up: the thread was interrupted";
        }
    }

    private String lookUp(PSQLException failure, int ownPid) throws SQLException {
        ServerErrorMessage server = failure.getServerErrorMessage();
        String detail = server == null ? null : server.getDetail();
        String where = server == null ? null : server.getWhere();
        try (Connection connection = side.open(TIMEOUT.toMillis())) {
            if (detail != null) {
                Map<Integer, Long> parties = new LinkedHashMap<>();
                Matcher blockedBy = BLOCKED_BY.matcher(detail);
                while (blockedBy.find()) {
                    parties.putIfAbsent(Integer.parseInt(blockedBy.group(2)),
                            blockedBy.group(1) == null ? null : Long.valueOf(blockedBy.group(1)));
                }
                parties.remove(ownPid);
                if (!parties.isEmpty()) {
                    return "the other party of the deadlock: " + describe(connection, parties);
                }
            }
            Matcher row = where == null ? null : ROW_CONTEXT.matcher(where);
            if (row != null && row.find()) {
                String relation = row.group(3).replace("\"\"", "\"");
                String tuple = "(" + row.group(1) + "," + row.group(2) + ")";
                RowHolders holders = rowHolders(connection, relation, tuple, ownPid);
                if (holders != null) {
                    return describeRow(connection, "row " + tuple + " in \"" + relation + "\"", holders, ownPid);
                }
            }
            List<Integer> older = olderLockHolders(connection, ownPid);
            if (older.isEmpty()) {
                // The holder is gone already: nothing to name.
                return null;
            }
            return "the server did not say which lock was waited for; transactions older than this one that hold"
                    + " locks: " + describe(connection, unknownTransactions(older));
        }
    }

    private static String describeRow(Connection connection, String row, RowHolders holders, int ownPid)
            throws SQLException {
        if (holders.rowChangedSince()) {
            // Only a transaction that has ended can have made the version waited for invisible.
            return "blocked by the holder of " + row + ", whose transaction has ended since (that version of the row"
                    + " is gone)";
        }
        if (!holders.pids().isEmpty()) {
            return "blocked by the holder of " + row + ": " + describe(connection, unknownTransactions(holders.pids()));
        }
        // Its holder ended since, or the row is share-locked by several (a MultiXact, which no backend holds by that
        // id): older transactions are all that is left to name.
        String notFound = "the holder of " + row + " is no longer found (ended since, or one of several sharing the"
                + " row)";
        List<Integer> older = olderLockHolders(connection, ownPid);
        return older.isEmpty() ? notFound : notFound + "; transactions older than this one that hold locks, likely: "
                + describe(connection, unknownTransactions(older));
    }

    /**
     * Who holds the row now.
     *
     * @param rowChangedSince the version waited for is no longer visible: its holder updated or deleted it and ended
     * @param pids            the backends holding the lock on the transaction (or subtransaction) id that is the
     *                        row's {@code xmax}
     */
    private record RowHolders(boolean rowChangedSince, List<Integer> pids) {
    }

    /** Who holds the row now, or {@code null} when the row cannot be read. */
    private static RowHolders rowHolders(Connection connection, String relation, String tuple, int ownPid) {
        List<Integer> pids = new ArrayList<>();
        boolean visible = false;
        String table = "\"" + relation.replace("\"", "\"\"") + "\"";
        // The lock on the xmax's own id names the holder, be it a transaction or a subtransaction (a savepoint),
        // where pg_stat_activity.backend_xid would show only the top transaction's id.
        try (PreparedStatement statement = connection.prepareStatement("SELECT t.xmax IS NOT NULL, l.pid"
                + " FROM (SELECT 1) AS one LEFT JOIN (SELECT xmax FROM " + table + " WHERE ctid = ?::tid) AS t ON true"
                + " LEFT JOIN pg_locks l ON l.locktype = 'transactionid' AND l.transactionid = t.xmax"
                + " AND l.mode = 'ExclusiveLock' AND l.granted AND l.pid <> ?")) {
            statement.setString(1, tuple);
            statement.setInt(2, ownPid);
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next()) {
                    visible = rows.getBoolean(1);
                    if (rows.getObject(2) != null) {
                        pids.add(rows.getInt(2));
                    }
                }
            }
        } catch (SQLException e) {
            // Not readable by this role, or not on its search path: the next way of looking applies.
            return null;
        }
        return new RowHolders(!visible, pids);
    }

    /** Backends in this database whose transaction began before the failed one's and that hold locks. */
    private static List<Integer> olderLockHolders(Connection connection, int ownPid) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement("SELECT a.pid FROM pg_stat_activity a"
                + " WHERE a.datname = current_database() AND a.pid <> ? AND a.pid <> pg_backend_pid()"
                + " AND a.xact_start <= coalesce((SELECT xact_start FROM pg_stat_activity WHERE pid = ?), now())"
                + " AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted"
                + " AND l.mode <> 'AccessShareLock' AND l.locktype IN ('relation', 'tuple', 'transactionid'))"
                + " ORDER BY a.xact_start LIMIT " + MOST_BLOCKERS)) {
            statement.setInt(1, ownPid);
            statement.setInt(2, ownPid);
            return pids(statement);
        }
    }

    /** The first column of each row {@code statement} returns: backends' pids. */
    private static List<Integer> pids(PreparedStatement statement) throws SQLException {
        List<Integer> pids = new ArrayList<>();
        try (ResultSet rows = statement.executeQuery()) {
            while (rows.next()) {
                pids.add(rows.getInt(1));
            }
        }
        return pids;
    }

    /**
     * The backends in this database whose transaction holds a table lock and has been open for at least
     * {@code heldFor}, described as {@link #describe(Connection, Map)} does; empty when there are none. These are what
     * a migration, whose DDL needs its table to itself, waited behind for {@code heldFor} before it gave up: by then
     * its own transaction has ended, so only how long they have held their tables tells them apart.
     */
    static String tableLockHolders(Connection connection, Duration heldFor) throws SQLException {
        List<Integer> pids;
        try (PreparedStatement statement = connection.prepareStatement("SELECT a.pid FROM pg_stat_activity a"
                + " WHERE a.datname = current_database() AND a.pid <> pg_backend_pid()"
                + " AND a.xact_start <= clock_timestamp() - ? * interval '1 millisecond'"
                + " AND EXISTS (SELECT 1 FROM pg_locks l WHERE l.pid = a.pid AND l.granted AND l.locktype = 'relation'"
                + " AND l.database = (SELECT oid FROM pg_database WHERE datname = current_database()))"
                + " ORDER BY a.xact_start LIMIT " + MOST_BLOCKERS)) {
            statement.setLong(1, heldFor.toMillis());
            pids = pids(statement);
        }
        return pids.isEmpty() ? "" : describe(connection, unknownTransactions(pids));
    }

    private static Map<Integer, Long> unknownTransactions(List<Integer> pids) {
        Map<Integer, Long> blockers = new LinkedHashMap<>();
        pids.forEach(pid -> blockers.put(pid, null));
        return blockers;
    }

    /**
     * One line per backend: pid, application_name, state, transaction age and the start of its query. Where the
     * transaction that blocked is known (a deadlock's DETAIL names it) and has ended since, as it usually has by the
     * time anyone asks (the victim's error frees its locks at once, so the other party goes on and commits), the line
     * says so and how it ended, and then what the backend does now, which is no longer what took part.
     *
     * @param blockers each blocking backend's pid, with the 32-bit id of its transaction that blocked, or
     *                 {@code null} when not known
     */
    private static String describe(Connection connection, Map<Integer, Long> blockers) throws SQLException {
        List<String> described = new ArrayList<>();
        Array pidArray = connection.createArrayOf("int4", blockers.keySet().toArray());
        Array xidArray = connection.createArrayOf("int8", blockers.values().toArray());
        // The age is taken at the row's reading, not at the lookup's start (now()), which a transaction that began
        // meanwhile would follow: "running -0.0 s" was seen in a report.
        // pg_xact_status takes the 64-bit id: the printed 32-bit one is taken in the epoch of the server's next id,
        // or the one before when it wrapped around since (a transaction that just blocked is never further back).
        try (PreparedStatement statement = connection.prepareStatement("SELECT b.pid, a.application_name, a.state,"
                + " CASE WHEN a.xact_start IS NOT NULL THEN greatest(extract(epoch FROM clock_timestamp()"
                + " - a.xact_start), 0) END, a.query, b.xid, pg_xact_status((n.next - (n.next % "
                + XID_WRAP + " - b.xid + " + XID_WRAP + ") % " + XID_WRAP + ")::text::xid8), a.pid IS NULL,"
                + " b.pid = pg_backend_pid()"
                + " FROM unnest(?::int4[], ?::int8[]) AS b(pid, xid)"
                + " CROSS JOIN (SELECT pg_snapshot_xmax(pg_current_snapshot())::text::int8 AS next) n"
                + " LEFT JOIN pg_stat_activity a ON a.pid = b.pid ORDER BY a.xact_start NULLS LAST, b.pid")) {
            statement.setArray(1, pidArray);
            statement.setArray(2, xidArray);
            try (ResultSet rows = statement.executeQuery()) {
                while (rows.next() && described.size() < MOST_BLOCKERS) {
                    int pid = rows.getInt(1);
                    String status = rows.getString(7);
                    String ended = status == null || status.equals("in progress") ? null
                            : "its transaction " + rows.getLong(6) + ", which took part in the deadlock, has " + status
                                    + " since";
                    if (rows.getBoolean(8)) { // no such backend any more
                        described.add("pid " + pid + " (ended since" + (ended == null ? "" : "; " + ended) + ")");
                    } else if (rows.getBoolean(9)) {
                        // Behind a transaction pooler, the backend the other party left went on to this lookup.
                        described.add("pid " + pid + " (" + (ended == null ? "" : ended + "; ")
                                + "the backend now serves this lookup, handed over by a transaction pooler)");
                    } else {
                        described.add(backend(pid, ended, rows.getString(2), rows.getString(3),
                                rows.getObject(4) == null ? null : rows.getDouble(4), rows.getString(5)));
                    }
                }
            }
        }
        return String.join("; ", described);
    }

    private static String backend(int pid, String ended, String applicationName, String state,
            Double transactionSeconds, String query) {
        String shortQuery = query == null ? "" : PASSWORD_LITERAL.matcher(query).replaceAll("$1'***'");
        if (shortQuery.length() > QUERY_CHARACTERS) {
            shortQuery = shortQuery.substring(0, QUERY_CHARACTERS) + "...";
        }
        return "pid " + pid + " (" + (ended == null ? "" : ended + "; now ") + "application_name '" + applicationName
                + "', " + state
                + (transactionSeconds == null ? ", no transaction" : String.format(Locale.ROOT,
                        ", transaction running %.1f s", transactionSeconds))
                + ", query '" + shortQuery.replace('\n', ' ') + "')";
    }
}
