package io.managedsession.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.util.Collections;
import java.util.Map;
import java.util.WeakHashMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.postgresql.core.BaseConnection;

/**
 * The {@code statement_timeout} and {@code lock_timeout} a connection's session has of its own, from the role, the
 * database, the URL's {@code options} or the pool's {@code connectionInitSql}: limits a deadline may shorten but must
 * never lengthen.
 *
 * <p>They are read once per physical connection, the first time a transaction with a deadline begins on it, with
 * {@code SHOW}: a utility statement, which takes no snapshot, so that the transaction may still set its isolation or
 * import a snapshot afterwards. A session setting changed later with a plain {@code SET} (not {@code SET LOCAL}) is
 * not seen: a transaction's code cannot send one, nor a {@code set_config(..., false)} ({@link UnscopedSql} refuses
 * both), and what a function or {@code DO} block changes in the session on the server is state a pooled connection
 * carries from one transaction into the next, which the manager does not track.
 */
final class SessionTimeouts {

    /** The session's limits in milliseconds; {@code 0} for none, as PostgreSQL has it. */
    record Limits(long statementMillis, long lockMillis) {

        /** The longer of the two limits, or {@link Long#MAX_VALUE} when either has none. */
        long loosest() {
            return statementMillis == 0 || lockMillis == 0 ? Long.MAX_VALUE : Math.max(statementMillis, lockMillis);
        }
    }

    /** How SHOW prints a time setting: a whole number with the largest unit that divides it, or 0. */
    private static final Pattern SHOWN = Pattern.compile("(\\d+)(ms|s|min|h|d)?");

    /**
     * Keyed by the driver's connection, which lives as long as the physical connection (a pool's proxy is new on each
     * checkout); weakly, so a closed connection's entry goes with it.
     */
    private static final Map<Object, Limits> KNOWN = Collections.synchronizedMap(new WeakHashMap<>());

    private SessionTimeouts() {
    }

    /** The limits of {@code connection}'s session, read with one round trip the first time it is asked about. */
    static Limits of(Connection connection) throws SQLException {
        Object key = connection.isWrapperFor(BaseConnection.class) ? connection.unwrap(BaseConnection.class)
                : connection;
        Limits known = KNOWN.get(key);
        if (known != null) {
            return known;
        }
        Limits read = inForce(connection);
        KNOWN.put(key, read);
        return read;
    }

    /** The two timeouts in force on {@code connection} now, read with one round trip; never remembered. */
    static Limits inForce(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement()) {
            statement.execute("SHOW statement_timeout; SHOW lock_timeout");
            long statementMillis = millis(statement.getResultSet());
            statement.getMoreResults();
            return new Limits(statementMillis, millis(statement.getResultSet()));
        }
    }

    private static long millis(ResultSet shown) throws SQLException {
        try (shown) {
            shown.next();
            return millis(shown.getString(1));
        }
    }

    /** Milliseconds of a time setting as SHOW prints it; a form not known is taken as no limit. */
    static long millis(String shown) {
        Matcher value = SHOWN.matcher(shown == null ? "" : shown.trim());
        if (!value.matches()) {
            return 0;
        }
        long amount = Long.parseLong(value.group(1));
        String unit = value.group(2) == null ? "ms" : value.group(2);
        return switch (unit) {
            case "s" -> amount * 1_000;
            case "min" -> amount * 60_000;
            case "h" -> amount * 3_600_000;
            case "d" -> amount * 86_400_000;
            default -> amount;
        };
    }
}
