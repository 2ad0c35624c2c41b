package io.managedsession.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.exception.DataAccessException;

import io.managedsession.Isolation;
import io.managedsession.TransactionOptions;

/**
 * The SQL of what a transaction sets on the server: its isolation level and access mode, its label in
 * {@code application_name}, its deadline's timeouts. All of it is {@code SET TRANSACTION} or {@code SET LOCAL}, so it
 * ends with the transaction and nothing needs restoring; and it is sent in one round trip with the transaction's
 * BEGIN.
 */
final class ServerSettings {

    private ServerSettings() {
    }

    /**
     * The characteristics and label a transaction sets when it begins, or {@code null} when it sets none (the common
     * case: nothing to send, nothing to allocate).
     *
     * @param labelInApplicationName whether a labelled transaction shows {@code <manager>/<label>} in
     *                               {@code pg_stat_activity}
     * @param readOnlyByDriver       whether the driver begins the transaction {@code READ ONLY} itself, so that the
     *                               access mode needs no statement of its own
     */
    static String atBegin(TransactionOptions options, String managerName, boolean labelInApplicationName,
            boolean readOnlyByDriver) {
        boolean labelled = labelInApplicationName && options.label().isPresent();
        boolean accessMode = options.readOnlySetting().isPresent() && !readOnlyByDriver;
        if (options.isolation().isEmpty() && !accessMode && !labelled) {
            return null;
        }
        StringBuilder sql = new StringBuilder();
        String characteristics = options.isolation().map(i -> "ISOLATION LEVEL " + i.sql()).orElse("");
        if (accessMode) {
            characteristics += (characteristics.isEmpty() ? "" : ", ")
                    + (options.isReadOnly() ? "READ ONLY" : "READ WRITE");
        }
        if (options.isDeferrable()) {
            characteristics += ", DEFERRABLE";
        }
        if (!characteristics.isEmpty()) {
            sql.append("SET TRANSACTION ").append(characteristics).append(';');
        }
        if (labelled) {
            // Labels and manager names are printable ASCII (checked when set); quotes doubled all the same.
            String name = (managerName + "/" + options.label().get()).replace("'", "''");
            sql.append("SET LOCAL application_name = '").append(name.length() > 63 ? name.substring(0, 63) : name)
                    .append("';");
        }
        return sql.toString();
    }

    /**
     * Sets the statement and lock timeouts of the running transaction to {@code millis}, or to the session's own
     * limit where that is shorter.
     */
    static String timeouts(long millis, SessionTimeouts.Limits session) {
        return "SET LOCAL statement_timeout = " + shorter(millis, session.statementMillis())
                + "; SET LOCAL lock_timeout = " + shorter(millis, session.lockMillis()) + ";";
    }

    private static long shorter(long millis, long sessionLimit) {
        return sessionLimit == 0 ? millis : Math.min(millis, sessionLimit);
    }

    /**
     * The isolation and access mode the transaction on {@code connection} runs with: from its options where they
     * say, else as PostgreSQL reports them (one round trip).
     */
    static TransactionSettings actual(Connection connection, TransactionOptions options) {
        if (options.isolation().isPresent() && options.readOnlySetting().isPresent()) {
            return new TransactionSettings(options.isolation().get(), options.isReadOnly(), options.isDeferrable());
        }
        try (Statement statement = connection.createStatement();
             ResultSet row = statement.executeQuery("SELECT current_setting('transaction_isolation'),"
                     + " current_setting('transaction_read_only'), current_setting('transaction_deferrable')")) {
            row.next();
            return new TransactionSettings(options.isolation().orElse(Isolation.fromSetting(row.getString(1))),
                    options.readOnlySetting().orElse("on".equals(row.getString(2))), "on".equals(row.getString(3)));
        } catch (SQLException e) {
            throw new DataAccessException("Could not read the running transaction's isolation and access mode"
                    + " (SQLSTATE " + e.getSQLState() + "): " + e.getMessage(), e);
        }
    }
}
