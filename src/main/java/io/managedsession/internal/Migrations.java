package io.managedsession.internal;

import java.util.List;

import javax.sql.DataSource;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.FlywayException;
import org.flywaydb.core.api.output.MigrateResult;

import io.managedsession.SessionException;

/** Runs Flyway at startup. */
public final class Migrations {

    private Migrations() {
    }

    /**
     * Applies the pending migrations found at {@code locations}, all in one transaction.
     *
     * <p>Grouping makes a failing migration take the ones before it in the same run back with it (PostgreSQL's DDL is
     * transactional), so a failed startup leaves the schema as it was. Several processes starting at once are
     * serialised by Flyway's lock on PostgreSQL, so each migration is applied once.
     *
     * @return how many migrations were applied
     * @throws SessionException with Flyway's reason when a migration fails or the locations hold none
     */
    public static int migrate(DataSource dataSource, List<String> locations, String managerName) {
        try {
            MigrateResult result = Flyway.configure()
                    .dataSource(dataSource)
                    .locations(locations.toArray(String[]::new))
                    .group(true)
                    .failOnMissingLocations(true)
                    .validateMigrationNaming(true)
                    .load()
                    .migrate();
            return result.migrationsExecuted;
        } catch (FlywayException e) {
            throw new SessionException("SessionManager '" + managerName + "' did not start: migrating the database"
                    + " from " + locations + " failed and no migration of this run was applied. Flyway said: "
                    + e.getMessage(), e);
        }
    }
}
