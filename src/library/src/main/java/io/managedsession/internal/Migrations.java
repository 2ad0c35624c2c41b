package io.managedsession.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.List;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.output.MigrateResult;

import io.managedsession.SessionException;

/** Runs Flyway at startup. */
final class Migrations {

    /** Flyway's default history table, created in the connection's current schema. */
    private static final String HISTORY_TABLE = "flyway_schema_history";

    private Migrations() {
    }

    /**
     * Applies the pending migrations found at {@code locations}, all in one transaction.
     *
     * <p>Grouping makes a failing migration take the ones before it in the same run back with it (PostgreSQL's DDL is
     * transactional). Flyway creates its history table before that transaction and keeps it; when this run created
     * it and nothing was recorded in it, it is dropped again, so a failed first start leaves the schema exactly as it
     * was. Several processes starting at once are serialised by Flyway's lock, so each migration is applied once.
     *
     * <p>The transaction's statements wait at most {@code lockTimeout} for a lock ({@code SET LOCAL}, so that the
     * setting ends with it, also on a pooled connection of the user's or behind a transaction pooler): DDL waiting for
     * a table makes every later query on that table queue behind it.
     *
     * @param lockTimeout the longest wait for one lock; zero for as long as it takes
     * @return how many migrations were applied
     * @throws SessionException with Flyway's reason when a migration fails or the locations hold none, naming the
     *                          transactions that held the tables when a lock was not granted in time
     */
    static int migrate(DataSource dataSource, List<String> locations, Duration lockTimeout, String managerName) {
        boolean historyExisted = historyTableExists(dataSource);
        try {
            MigrateResult result = Flyway.configure()
                    .dataSource(dataSource)
                    .locations(locations.toArray(String[]::new))
                    .group(true)
                    .failOnMissingLocations(true)
                    .validateMigrationNaming(true)
                    .callbacks(new LockTimeout(lockTimeout))
                    .load()
                    .migrate();
            return result.migrationsExecuted;
        } catch (FlywayException e) {
            SessionException failure = new SessionException("SessionManager '" + managerName + "' did not start:"
                    + " migrating the database from " + locations + " failed and no migration of this run was"
                    + " applied. " + lockWait(e, dataSource, lockTimeout) + "Flyway said: " + e.getMessage(), e);
            if (!historyExisted) {
                try {
                    dropEmptyHistoryTable(dataSource);
                } catch (SQLException | RuntimeException cleanupFailure) {
                    failure.addSuppressed(cleanupFailure);
                }
            }
            throw failure;
        }
    }

    /** Sets the lock timeout before each migration, inside the migrations' transaction. */
    private record LockTimeout(Duration timeout) implements Callback {

        @Override
        public boolean supports(Event event, Context context) {
            return event == Event.BEFORE_EACH_MIGRATE;
        }

        @Override
        public boolean canHandleInTransaction(Event event, Context context) {
            return true;
        }

        @Override
        public void handle(Event event, Context context) {
            try (Statement statement = context.getConnection().createStatement()) {
                statement.execute("SET LOCAL lock_timeout = " + timeout.toMillis());
            } catch (SQLException e) {
                throw new FlywayException("Could not set the migrations' lock_timeout: " + e.getMessage(), e);
            }
        }

        @Override
        public String getCallbackName() {
            return "managed-session lock_timeout";
        }
    }

    /**
     * When a migration's statement was not granted a lock within {@code lockTimeout}, what happened, what to do, and
     * the transactions that held tables all along (each open for at least that long); otherwise nothing.
     */
    private static String lockWait(FlywayException failure, DataSource dataSource, Duration lockTimeout) {
        if (lockTimeout.isZero() || !SqlStates.isLockNotAvailable(failure)) {
            return ""; // no limit of ours ran out: a migration's own lock_timeout or NOWAIT, which Flyway reports
        }
        String holders;
        try (Connection connection = dataSource.getConnection()) {
            holders = LockDiagnostics.tableLockHolders(connection, lockTimeout);
        } catch (SQLException | RuntimeException e) {
            holders = "";
            failure.addSuppressed(e);
        }
        return "A migration waited longer than migrationLockTimeout (" + lockTimeout.toMillis() + " ms) for a lock"
                + " that running transactions hold (while DDL waits for a table, every later query on that table"
                + " queues behind it). Start again once they have ended, or give the migration a longer"
                + " migrationLockTimeout."
                + (holders.isEmpty() ? "" : " Transactions holding tables for that long: " + holders + ".") + " ";
    }

    private static boolean historyTableExists(DataSource dataSource) {
        try (Connection connection = dataSource.getConnection();
             Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery("SELECT to_regclass(quote_ident(current_schema()) || '."
                     + HISTORY_TABLE + "') IS NOT NULL")) {
            return rows.next() && rows.getBoolean(1);
        } catch (SQLException e) {
            // Flyway will report the same problem with its own words.
            return true;
        }
    }

    /**
     * Drops the history table if it holds no row. The exclusive lock makes the check and the drop one step: a
     * manager starting concurrently that is recording a successful migration either finishes first (and the table
     * is kept) or waits.
     */
    private static void dropEmptyHistoryTable(DataSource dataSource) throws SQLException {
        try (Connection connection = dataSource.getConnection()) {
            boolean autoCommit = connection.getAutoCommit();
            connection.setAutoCommit(false);
            try (Statement statement = connection.createStatement()) {
                statement.execute("SET LOCAL lock_timeout = '5s'");
                try (ResultSet rows = statement.executeQuery("SELECT to_regclass(quote_ident(current_schema()) || '."
                        + HISTORY_TABLE + "') IS NOT NULL")) {
                    if (!rows.next() || !rows.getBoolean(1)) {
                        connection.rollback();
                        return;
                    }
                }
                statement.execute("LOCK TABLE " + HISTORY_TABLE + " IN ACCESS EXCLUSIVE MODE");
                try (ResultSet rows = statement.executeQuery("SELECT count(*) FROM " + HISTORY_TABLE)) {
                    if (rows.next() && rows.getLong(1) == 0) {
                        statement.execute("DROP TABLE " + HISTORY_TABLE);
                    }
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
}
