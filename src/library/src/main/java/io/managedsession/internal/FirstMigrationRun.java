package io.managedsession.internal;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;

import javax.sql.DataSource;

import org.flywaydb.core.api.CoreMigrationType;
import org.flywaydb.core.api.configuration.Configuration;

/**
 * The first migration of a database, which finds no history table: what Flyway may create outside the migrations'
 * transaction (the history table, its marker rows for a baseline or created schemas, and those schemas), so that a
 * failed run can take it away again.
 *
 * @param historySchema  the schema of the history table, or {@code null} for the connection's current schema
 * @param historyTable   the history table's name
 * @param absentSchemas  the configured schemas that did not exist before the run
 */
record FirstMigrationRun(String historySchema, String historyTable, List<String> absentSchemas) {

    /**
     * Looks at the database before Flyway runs with {@code configuration}.
     *
     * @return the first run, or {@code null} when the history table exists already (or the database cannot be asked,
     *         which Flyway will report in its own words)
     */
    static FirstMigrationRun lookAt(DataSource dataSource, Configuration configuration) {
        Set<String> schemas = schemas(configuration);
        String historySchema = historySchema(configuration);
        try (Connection connection = dataSource.getConnection()) {
            if (historyTableExists(connection, historySchema, configuration.getTable())) {
                return null;
            }
            List<String> absent = new ArrayList<>();
            for (String schema : schemas) {
                if (!schemaExists(connection, schema)) {
                    absent.add(schema);
                }
            }
            return new FirstMigrationRun(historySchema, configuration.getTable(), List.copyOf(absent));
        } catch (SQLException e) {
            return null;
        }
    }

    /** The schemas Flyway is configured with, its default schema among them. */
    private static Set<String> schemas(Configuration configuration) {
        Set<String> schemas = new LinkedHashSet<>(List.of(configuration.getSchemas()));
        if (configuration.getDefaultSchema() != null) {
            schemas.add(configuration.getDefaultSchema());
        }
        return schemas;
    }

    /** The schema of Flyway's history table, or {@code null} for the connection's current schema. */
    private static String historySchema(Configuration configuration) {
        String defaultSchema = configuration.getDefaultSchema();
        Set<String> schemas = schemas(configuration);
        return defaultSchema != null ? defaultSchema : schemas.isEmpty() ? null : schemas.iterator().next();
    }

    /**
     * How many migrations the history table records as applied (its own markers for a baseline or created schemas not
     * counted); 0 without a history table, -1 when the database cannot be asked.
     */
    static long appliedMigrations(DataSource dataSource, Configuration configuration) {
        String historySchema = historySchema(configuration);
        try (Connection connection = dataSource.getConnection()) {
            if (!historyTableExists(connection, historySchema, configuration.getTable())) {
                return 0;
            }
            String table = text(connection, "SELECT quote_ident(coalesce(?, current_schema())) || '.' ||"
                    + " quote_ident(?)", historySchema, configuration.getTable());
            try (Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("SELECT count(*) FROM " + table + " WHERE success AND type"
                         + " NOT IN ('" + CoreMigrationType.SCHEMA.name() + "', '" + CoreMigrationType.BASELINE.name()
                         + "')")) {
                rows.next();
                return rows.getLong(1);
            }
        } catch (SQLException e) {
            return -1;
        }
    }

    /**
     * After the run failed, drops the history table if it records no migration, only Flyway's markers, and then the
     * schemas the run created that are empty. The exclusive lock makes the check and the drop one step: a process
     * migrating concurrently that is recording a successful migration either finishes first (and the table is kept)
     * or waits.
     */
    void undo(DataSource dataSource) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("SET LOCAL lock_timeout = '5s'");
                if (historyTableExists(connection, historySchema, historyTable)) {
                    String table = qualifiedHistoryTable(connection);
                    statement.execute("LOCK TABLE " + table + " IN ACCESS EXCLUSIVE MODE");
                    try (ResultSet rows = statement.executeQuery("SELECT count(*) FROM " + table
                            + " WHERE type NOT IN ('" + CoreMigrationType.SCHEMA.name() + "', '"
                            + CoreMigrationType.BASELINE.name() + "')")) {
                        if (!rows.next() || rows.getLong(1) > 0) {
                            connection.rollback();
                            return; // a migration was recorded: not ours to take away
                        }
                    }
                    statement.execute("DROP TABLE " + table);
                }
                for (String schema : absentSchemas) {
                    dropIfEmpty(connection, statement, schema);
                }
                connection.commit();
            } catch (SQLException e) {
                connection.rollback();
                throw e;
            } finally {
                connection.setAutoCommit(autoCommit);
            }
        }
    }

    private String qualifiedHistoryTable(Connection connection) throws SQLException {
        return text(connection, "SELECT quote_ident(coalesce(?, current_schema())) || '.' || quote_ident(?)",
                historySchema, historyTable);
    }

    /** Drops {@code schema} unless something is in it, which PostgreSQL's {@code DROP SCHEMA ... RESTRICT} refuses. */
    private static void dropIfEmpty(Connection connection, Statement statement, String schema) throws SQLException {
        if (!schemaExists(connection, schema)) {
            return;
        }
        Savepoint beforeDrop = connection.setSavepoint();
        try {
            statement.execute("DROP SCHEMA " + text(connection, "SELECT quote_ident(?)", schema) + " RESTRICT");
        } catch (SQLException notEmpty) {
            connection.rollback(beforeDrop);
        }
    }

    private static boolean historyTableExists(Connection connection, String schema, String table) throws SQLException {
        return "true".equals(text(connection, "SELECT (to_regclass(quote_ident(coalesce(?, current_schema())) || '.'"
                + " || quote_ident(?)) IS NOT NULL)::text", schema, table));
    }

    private static boolean schemaExists(Connection connection, String schema) throws SQLException {
        return "true".equals(text(connection, "SELECT EXISTS (SELECT 1 FROM pg_namespace WHERE nspname = ?)::text",
                schema));
    }

    /** Runs a query of one text value, its parameters text too. */
    private static String text(Connection connection, String sql, String... parameters) throws SQLException {
        try (PreparedStatement query = connection.prepareStatement(sql)) {
            for (int i = 0; i < parameters.length; i++) {
                query.setString(i + 1, parameters[i]);
            }
            try (ResultSet row = query.executeQuery()) {
                row.next();
                return row.getString(1);
            }
        }
    }
}
