package io.managedsession.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.nio.file.Path;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.managedsession.SessionManager;
import io.managedsession.support.Bank;
import io.managedsession.support.OwnPostgres;
import io.managedsession.support.TestGroups;

/**
 * Migrations run as a schema-owner role; the application runs as a role that may only read and write rows. Roles are
 * server-wide, so this test creates them on a server of its own.
 */
@Tag(TestGroups.OWN_SERVERS)
class LeastPrivilegeTest {

    @TempDir
    static Path dataDirectory;
    private static OwnPostgres server;

    @BeforeAll
    static void createRolesAndDatabase() throws Exception {
        server = OwnPostgres.start(dataDirectory);
        server.execute("postgres",
                "CREATE ROLE bank_owner LOGIN",
                "CREATE ROLE bank_app LOGIN",
                "CREATE DATABASE bank OWNER bank_owner");
        server.execute("bank",
                // The owner of the database owns its schema: so from PostgreSQL 15 on (pg_database_owner), said for
                // the older servers a project's binaries may be (zonky's default is 14).
                "ALTER SCHEMA public OWNER TO bank_owner",
                "REVOKE ALL ON SCHEMA public FROM PUBLIC",
                "GRANT USAGE ON SCHEMA public TO bank_app",
                "ALTER DEFAULT PRIVILEGES FOR ROLE bank_owner IN SCHEMA public"
                        + " GRANT SELECT, INSERT, UPDATE, DELETE ON TABLES TO bank_app",
                "ALTER DEFAULT PRIVILEGES FOR ROLE bank_owner IN SCHEMA public"
                        + " GRANT USAGE, SELECT ON SEQUENCES TO bank_app");
    }

    @AfterAll
    static void stop() throws Exception {
        server.close();
    }

    @Test
    void applicationRoleWorksWithRowsButCannotChangeTheSchema() {
        try (SessionManager sessions = SessionManager.builder()
                .jdbcUrl(server.jdbcUrl("bank"))
                .username("bank_app")
                .migrationCredentials("bank_owner", null)
                .migrateOnStart(true)
                .migrationLocations(Bank.MIGRATIONS)
                .build()) {
            long alice = sessions.transactionResult(ctx -> Bank.open(ctx, "alice", 100_00));
            long bob = sessions.transactionResult(ctx -> Bank.open(ctx, "bob", 0));
            sessions.transaction(ctx -> Bank.transfer(ctx, alice, bob, 10_00, "least-privilege"));
            long bobsBalance = sessions.transactionResult(ctx -> Bank.balance(ctx, bob));
            assertThat(bobsBalance).isEqualTo(10_00L);
            String tableOwner = sessions.transactionResult(ctx -> String.valueOf(ctx.fetchValue(
                    "SELECT tableowner FROM pg_tables WHERE tablename = 'accounts'")));
            assertThat(tableOwner).isEqualTo("bank_owner");

            for (String ddl : new String[] {"CREATE TABLE intruder (id int)", "DROP TABLE accounts",
                    "ALTER TABLE accounts ADD COLUMN extra int", "TRUNCATE entries"}) {
                assertThatThrownBy(() -> sessions.transaction(ctx -> ctx.execute(ddl)))
                        .as(ddl)
                        .isInstanceOf(DataAccessException.class)
                        .satisfies(e -> assertThat(((DataAccessException) e).sqlState()).isEqualTo("42501"));
            }
        }
    }

    @Test
    void migrationCredentialsWithoutMigrationsAreRefused() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(server.jdbcUrl("bank")).username("bank_app")
                .migrationCredentials("bank_owner", "secret").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("migrationCredentials(...) applies to migrations run by migrateOnStart(true)");
    }
}
