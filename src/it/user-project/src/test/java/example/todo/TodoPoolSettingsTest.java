package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.time.Duration;
import java.util.List;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The service's own HikariCP settings, given with poolConfiguration as the service would: they reach its connections,
 * a transaction's deadline does not lengthen the statement_timeout they set, and a setting the manager owns stops the
 * start, naming the setter to use, before the schema is touched; beside a pool of the service's own, the manager's pool
 * settings stop it too.
 */
@DatabaseTest(migrations = {}, perTest = true)
class TodoPoolSettingsTest {

    /** The service's pool: renewed before its proxy's ten-minute limit, a cap on every statement, its own name. */
    static void servicePool(HikariConfig pool) {
        pool.setMaxLifetime(Duration.ofMinutes(9).toMillis());
        pool.setConnectionInitSql("SET statement_timeout = '400ms'");
        pool.addDataSourceProperty("ApplicationName", "todo-service");
    }

    @Test
    void theServicesStatementTimeoutCutsARunawayStatementThatALongerDeadlineWouldHaveLetRun(TestDatabase database)
            throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true)
                .poolConfiguration(TodoPoolSettingsTest::servicePool).build()) {
            TransactionOptions generous = TransactionOptions.builder().deadline(Duration.ofSeconds(20)).build();

            // The statement's own failure, as the block threw it: a deadline overrun would be a
            // TransactionTimeoutException instead.
            DataAccessException cut = assertThrows(DataAccessException.class, () -> sessions.transaction(generous,
                    tx -> {
                        Todos.add(tx, "never kept");
                        tx.execute("SELECT pg_sleep(30)");
                    }));

            assertEquals("57014", cut.sqlState(), cut.getMessage());
            assertEquals(List.of(), sessions.transactionResult(Todos::open));
            assertEquals("todo-service 400ms", sessions.transactionResult(generous, tx -> tx.fetchValue(
                    "SELECT current_setting('application_name') || ' ' || current_setting('statement_timeout')")));
        }
    }

    @Test
    void aSettingTheManagerOwnsStopsTheStartNamingTheSetterAndLeavesTheSchemaAlone(TestDatabase database)
            throws Exception {
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> database
                .sessionManagerBuilder().migrateOnStart(true).maximumPoolSize(8)
                .poolConfiguration(pool -> {
                    servicePool(pool);
                    pool.setMaximumPoolSize(50);
                }).build());

        assertTrue(refused.getMessage().contains("maximumPoolSize (from 8 to 50), which the manager owns: use"
                + " maximumPoolSize(...)"), refused.getMessage());
        assertEquals(0, publicTables(database), "no migration ran, not even Flyway's history table");
    }

    @Test
    void aPoolSettingBesideTheServicesOwnDataSourceStopsTheStartRatherThanBeingDropped(TestDatabase database)
            throws Exception {
        // The service's framework made its pool; a pool size given to the manager as well would never reach it.
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(database.jdbcUrl());
        config.setUsername(database.username());
        config.setPassword(database.password());
        config.setMaximumPoolSize(4);
        try (HikariDataSource frameworksPool = new HikariDataSource(config)) {
            IllegalStateException refused = assertThrows(IllegalStateException.class, () -> SessionManager.builder()
                    .dataSource(frameworksPool).migrateOnStart(true).maximumPoolSize(8).build());

            assertTrue(refused.getMessage().startsWith("maximumPoolSize(...) applies to the pool built from"
                    + " jdbcUrl(...); configure the DataSource passed to dataSource(...) yourself"),
                    refused.getMessage());
            assertEquals(0, publicTables(database), "no migration ran");
            try (SessionManager sessions = SessionManager.builder().dataSource(frameworksPool).migrateOnStart(true)
                    .build()) {
                assertEquals(List.of(), sessions.transactionResult(Todos::open), "without it, the service starts");
            }
        }
    }

    /** How many tables the database's public schema has. */
    static long publicTables(TestDatabase database) throws SQLException {
        try (Connection connection = database.connect();
             PreparedStatement query = connection.prepareStatement("SELECT count(*) FROM pg_tables"
                     + " WHERE schemaname = 'public'");
             ResultSet tables = query.executeQuery()) {
            tables.next();
            return tables.getLong(1);
        }
    }
}
