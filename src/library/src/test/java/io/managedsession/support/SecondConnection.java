package io.managedsession.support;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import io.managedsession.testing.TestDatabase;

/**
 * Checks a test makes on its database from a connection of its own, outside any managed transaction and any pool: what
 * another client sees, which is the point of a transaction test.
 */
public final class SecondConnection {

    private SecondConnection() {
    }

    /** Runs a query that returns one number. */
    public static long queryLong(TestDatabase db, String sql, Object... parameters) {
        try (Connection connection = db.connect(); PreparedStatement statement = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                statement.setObject(i + 1, parameters[i]);
            }
            try (ResultSet rows = statement.executeQuery()) {
                if (!rows.next()) {
                    throw new AssertionError("No row from: " + sql);
                }
                return rows.getLong(1);
            }
        } catch (SQLException e) {
            throw new AssertionError("Query from a second connection failed: " + sql, e);
        }
    }

    /** Runs statements in auto-commit mode, for setting up what a test needs. */
    public static void execute(TestDatabase db, String... statements) {
        try (Connection connection = db.connect(); Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        } catch (SQLException e) {
            throw new AssertionError("Statement from a second connection failed: " + String.join("; ", statements), e);
        }
    }

    /** How many rows a table has. */
    public static long rowCount(TestDatabase db, String table) {
        return queryLong(db, "SELECT count(*) FROM " + table);
    }

    /** Whether a table exists in the public schema. */
    public static boolean tableExists(TestDatabase db, String table) {
        return queryLong(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                + " AND table_name = ?", table) > 0;
    }

    /** Backends connected to the database under an application name. */
    public static long backends(TestDatabase db, String applicationName) {
        return queryLong(db, "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                + " AND application_name = ?", applicationName);
    }
}
