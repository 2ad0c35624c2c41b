package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.TestDatabase;
import io.managedsession.support.WithEmptyTestDatabase;

/** Flyway at startup: applied once, all or nothing, and safe when several managers start at once. */
@WithEmptyTestDatabase
class MigrateOnStartTest {

    private final TestDatabase shared;
    private TestDatabase empty;

    MigrateOnStartTest(TestDatabase shared) {
        this.shared = shared;
    }

    @BeforeEach
    void createEmptyDatabase() {
        empty = shared.emptySibling();
    }

    @AfterEach
    void dropIt() {
        empty.drop();
    }

    @Test
    void migratesBeforeTheFirstTransactionAndOnlyOnce() {
        try (SessionManager sessions = empty.sessions().migrateOnStart(true).build()) {
            long accounts = sessions.transactionResult(ctx -> ctx.fetchCount(ctx.meta().getTables("accounts").get(0)));
            assertThat(accounts).isZero();
        }
        try (SessionManager again = empty.sessions().migrateOnStart(true).build()) {
            assertThat(again.isClosed()).isFalse();
        }

        assertThat(empty.tableExists("accounts")).isTrue();
        assertThat(empty.tableExists("transfers")).isTrue();
        assertThat(empty.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '1' AND success"))
                .isEqualTo(1);
        assertThat(empty.queryLong("SELECT count(*) FROM branches")).as("V1's seed row, inserted once").isEqualTo(1);
    }

    @Test
    void failingMigrationStopsStartupWithFlywaysReasonAndLeavesTheSchemaAsItWas() {
        Throwable caught = catchThrowable(() -> empty.sessions()
                .name("failing-start")
                .migrateOnStart(true)
                .migrationLocations("classpath:db/failing")
                .build());

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("did not start")
                .hasMessageContaining("no_such_function_in_this_migration");
        // V1 ran in the same transaction as the failing V2, so it is gone too.
        assertThat(empty.tableExists("alpha")).isFalse();
        assertThat(empty.tableExists("beta")).isFalse();
        // Not even Flyway's history table, which this first start had created, is left behind.
        assertThat(empty.queryLong("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = 'public'")).isZero();
        assertThat(empty.backends("failing-start")).as("the pool was closed").isZero();
    }

    @Test
    void failingNewMigrationKeepsTheMigrationsAppliedBefore() {
        // db/failing-base holds the same V1 as db/failing, without the failing V2.
        try (SessionManager first = empty.sessions().migrateOnStart(true)
                .migrationLocations("classpath:db/failing-base").build()) {
            assertThat(first.isClosed()).isFalse();
        }
        long historyRows = empty.rowCount("flyway_schema_history");

        Throwable caught = catchThrowable(() -> empty.sessions().migrateOnStart(true)
                .migrationLocations("classpath:db/failing").build());

        assertThat(caught).isInstanceOf(SessionException.class);
        assertThat(empty.tableExists("alpha")).isTrue();
        assertThat(empty.tableExists("beta")).isFalse();
        assertThat(empty.rowCount("flyway_schema_history")).isEqualTo(historyRows);
    }

    @Test
    void ownMigrationsBesideTheLedgersInTheSameVersionGetAHintAndChangeNothing() {
        // A user's V1 seen together with the ledger's V1 that the library jar carries at classpath:db/migration.
        Throwable caught = catchThrowable(() -> empty.sessions()
                .migrateOnStart(true)
                .migrationLocations("classpath:db/migration", "classpath:db/failing-base")
                .build());

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("more than one migration with version 1")
                .hasMessageContaining("V1__ledger_schema.sql")
                .hasMessageContaining("keep your own migrations in a location of your own");
        assertThat(empty.queryLong("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = 'public'")).isZero();
    }

    @Test
    void missingMigrationLocationStopsStartupClearly() {
        Throwable caught = catchThrowable(() -> empty.sessions()
                .migrateOnStart(true)
                .migrationLocations("classpath:db/no-such-location")
                .build());

        assertThat(caught).isInstanceOf(SessionException.class).hasMessageContaining("db/no-such-location");
    }

    @Test
    void managersStartingAtOnceApplyEachMigrationExactlyOnce() throws Exception {
        int starters = 4;
        CyclicBarrier together = new CyclicBarrier(starters);
        ExecutorService threads = Executors.newFixedThreadPool(starters);
        List<Future<SessionManager>> started = new ArrayList<>();
        try {
            for (int i = 0; i < starters; i++) {
                started.add(threads.submit(() -> {
                    together.await(30, TimeUnit.SECONDS);
                    return empty.sessions().maximumPoolSize(1).migrateOnStart(true).build();
                }));
            }
            for (Future<SessionManager> manager : started) {
                manager.get(60, TimeUnit.SECONDS).close();
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(empty.queryLong("SELECT count(*) FROM flyway_schema_history WHERE version = '1'")).isEqualTo(1);
        assertThat(empty.queryLong("SELECT count(*) FROM branches")).isEqualTo(1);
    }
}
