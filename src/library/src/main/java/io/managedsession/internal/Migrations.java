package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.Location;
import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionException;
import io.managedsession.SessionManager;

/**
 * Runs Flyway: at a manager's start, and into the templates of {@code @DatabaseTest}, with the same configuration.
 * Not an API: public only for the test support.
 */
public final class Migrations {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private Migrations() {
    }

    /**
     * Flyway's configuration for {@code locations} on {@code dataSource}: the library's defaults (the locations, an
     * error for a location that holds nothing or a misnamed file, and at a manager's start all pending migrations in
     * one transaction), then the user's {@code customizer}, which may change any of them but the DataSource.
     *
     * @param oneTransaction whether the pending migrations run in one transaction unless the customizer says not
     *                       ({@code group}): at a manager's start, so that a failed start leaves the database as it
     *                       was; not for a template database, which a failure throws away, so that a history with a
     *                       migration PostgreSQL cannot run in a transaction migrates there as Flyway does by default
     * @param owner          who migrates, for messages: a manager or a test database
     * @throws SessionException when the customizer set a DataSource, or asked for {@code mixed(true)} in one
     *                          transaction, or a location's migrations sit in a package its module does not open, or
     *                          a location holds a Java migration Flyway would skip; a migration that would wait
     *                          forever fails when its turn comes
     */
    public static FluentConfiguration configuration(DataSource dataSource, List<String> locations,
            Consumer<? super FluentConfiguration> customizer, boolean oneTransaction, String owner) {
        SupportedVersions.checkFlyway(owner);
        FluentConfiguration configuration = Flyway.configure()
                .dataSource(dataSource)
                .locations(locations.toArray(String[]::new))
                .group(oneTransaction)
                .failOnMissingLocations(true)
                .validateMigrationNaming(true);
        customizer.accept(configuration);
        if (configuration.getDataSource() != dataSource) {
            throw new SessionException(owner + ": migrationConfiguration set Flyway's DataSource (or URL), but the"
                    + " migrations run on the database they are for. Give the database to the builder (jdbcUrl or"
                    + " dataSource) and another role to migrationCredentials instead.");
        }
        if (configuration.isGroup() && configuration.isMixed()) {
            // Flyway then runs a statement such as CREATE INDEX CONCURRENTLY on a connection of its own while the
            // group's transaction stays open, and PostgreSQL makes that statement wait for every open transaction.
            throw new SessionException(owner + ": migrationConfiguration asked for mixed(true) while the pending"
                    + " migrations run in one transaction (group), where a statement PostgreSQL cannot run in a"
                    + " transaction (CREATE INDEX CONCURRENTLY) waits forever for that transaction to end once the"
                    + " group has touched its table. For such migrations turn group off instead: each migration then"
                    + " commits by itself.");
        }
        ClosedMigrationPackages.refuse(configuration.getLocations(), owner);
        UnusableJavaMigrations.refuse(configuration.getLocations(), configuration.getClassLoader(),
                configuration.getJavaMigrations(), owner);
        addCallback(configuration, new NoEndlessWait(
                configuration.getConfigurationExtension(PostgreSQLConfigurationExtension.class).isTransactionalLock()));
        return configuration;
    }

    /** Adds {@code callback} to those the configuration has, the user's among them ({@code callbacks} replaces). */
    private static void addCallback(FluentConfiguration configuration, Callback callback) {
        List<Callback> callbacks = new ArrayList<>(Arrays.asList(configuration.getCallbacks()));
        callbacks.add(callback);
        configuration.callbacks(callbacks.toArray(Callback[]::new));
    }

    /**
     * Applies the pending migrations found at {@code locations}, all in one transaction unless the user's
     * configuration turns Flyway's {@code group} off.
     *
     * <p>Grouping makes a failing migration take the ones before it in the same run back with it (PostgreSQL's DDL is
     * transactional). Flyway creates its history table (and the schemas it was told to create) before that
     * transaction and keeps them; when this run created the table and recorded no migration in it, the table and the
     * schemas this run created, left empty, are dropped again, so a failed first start leaves the database exactly as
     * it was. Several processes starting at once are serialised by Flyway's lock, so each migration is applied once.
     *
     * <p>The transaction's statements wait at most {@code lockTimeout} for a lock ({@code SET LOCAL}, so that the
     * setting ends with it, also on a pooled connection of the user's or behind a transaction pooler): DDL waiting for
     * a table makes every later query on that table queue behind it.
     *
     * @param customizer  the user's adjustments of Flyway's configuration
     * @param lockTimeout the longest wait for one lock; zero for as long as it takes
     * @throws SessionException with Flyway's reason when a migration fails or the locations hold none, naming the
     *                          transactions that held the tables when a lock was not granted in time
     */
    static void migrate(DataSource dataSource, List<String> locations, Consumer<? super FluentConfiguration> customizer,
            Duration lockTimeout, String managerName) {
        String owner = "SessionManager '" + managerName + "' did not start";
        FluentConfiguration configuration = configuration(dataSource, locations, customizer, true, owner);
        addCallback(configuration, new LockTimeout(lockTimeout));
        List<String> from = Arrays.stream(configuration.getLocations()).map(Location::getDescriptor).toList();
        FirstMigrationRun firstRun = FirstMigrationRun.lookAt(dataSource, configuration);
        // A first run found no history table, so nothing was applied before it; otherwise the table says how much.
        long appliedBefore = firstRun != null ? 0 : FirstMigrationRun.appliedMigrations(dataSource, configuration);
        try {
            int applied = configuration.load().migrate().migrationsExecuted;
            log.info("SessionManager '{}' applied {} migration(s) from {}", managerName, applied, from);
        } catch (FlywayException e) {
            SessionException failure = new SessionException(owner + ": migrating the database from " + from
                    + " failed " + whatStays(e, appliedBefore, dataSource, configuration)
                    + lockWait(e, dataSource, lockTimeout) + "Flyway said: " + e.getMessage(), e);
            if (firstRun != null) {
                try {
                    firstRun.undo(dataSource);
                } catch (SQLException | RuntimeException cleanupFailure) {
                    failure.addSuppressed(cleanupFailure);
                }
            }
            throw failure;
        }
    }

    /**
     * What of this run stays applied after {@code failure}, from the history table before and after: with the
     * migrations in one transaction, none, unless the failure came after that transaction committed (Flyway runs
     * {@code afterMigrate} callbacks then); with {@code group} off, those before the failing one.
     */
    private static String whatStays(FlywayException failure, long appliedBefore, DataSource dataSource,
            FluentConfiguration configuration) {
        long appliedAfter = appliedBefore < 0 ? -1 : FirstMigrationRun.appliedMigrations(dataSource, configuration);
        long stay = appliedAfter - appliedBefore;
        if (configuration.isGroup()) {
            if (appliedAfter < 0 || stay <= 0) {
                return "and no migration of this run was applied. ";
            }
            return "after " + stay + " migration(s) of this run had been applied, which stay applied: the failure came"
                    + " after their transaction committed (in a callback such as afterMigrate). ";
        }
        return "and the migrations of this run before the failing one stay applied (group is off)"
                + (appliedAfter < 0 ? "" : ", " + stay + " of them") + ". ";
    }

    /**
     * Stops a migration that runs outside a transaction while Flyway holds its PostgreSQL lock in a transaction
     * ({@code flyway.postgresql.transactional.lock}, on by default): a {@code CREATE INDEX CONCURRENTLY} there waits
     * for that transaction, which waits for the migration, forever (flyway/flyway#3682).
     */
    private record NoEndlessWait(boolean transactionalLock) implements Callback {

        @Override
        public boolean supports(Event event, Context context) {
            return transactionalLock && event == Event.BEFORE_EACH_MIGRATE;
        }

        @Override
        public boolean canHandleInTransaction(Event event, Context context) {
            return true;
        }

        @Override
        public void handle(Event event, Context context) {
            boolean outsideATransaction;
            try {
                outsideATransaction = context.getConnection().getAutoCommit();
            } catch (SQLException e) {
                throw new FlywayException("Could not tell whether the migration runs in a transaction: "
                        + e.getMessage(), e);
            }
            if (outsideATransaction) {
                throw new FlywayException(context.getMigrationInfo().getScript() + " runs outside a"
                        + " transaction (a statement such as CREATE INDEX CONCURRENTLY), which would wait forever for"
                        + " the transaction that holds Flyway's lock (flyway.postgresql.transactional.lock, on by"
                        + " default). Turn that lock off in migrationConfiguration, flyway.getConfigurationExtension("
                        + "PostgreSQLConfigurationExtension.class).setTransactionalLock(false), unless the migrations"
                        + " go through a transaction pooler, where such a migration has to run by other means.");
            }
        }

        @Override
        public String getCallbackName() {
            return "managed-session no endless wait";
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
                if (!context.getConnection().getAutoCommit()) { // outside a transaction SET LOCAL only warns
                    statement.execute("SET LOCAL lock_timeout = " + timeout.toMillis());
                }
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
}
