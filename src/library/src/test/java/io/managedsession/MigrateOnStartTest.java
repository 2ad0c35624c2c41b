package io.managedsession;

import static io.managedsession.support.SecondConnection.backends;
import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static io.managedsession.support.SecondConnection.tableExists;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.jar.JarEntry;
import java.util.jar.JarOutputStream;
import java.util.stream.Stream;

import javax.tools.ToolProvider;

import org.flywaydb.core.api.callback.Callback;
import org.flywaydb.core.api.callback.Context;
import org.flywaydb.core.api.callback.Event;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.support.Bank;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * Flyway at startup: the application's own migrations at Flyway's default location, applied once, all or nothing,
 * and safe when several managers start at once. Every test starts from an empty database of its own.
 */
@DatabaseTest(migrations = {}, perTest = true)
class MigrateOnStartTest {

    @Test
    void theDefaultLocationHoldsTheApplicationsOwnMigrationsAndNothingElse(TestDatabase db, @TempDir Path project)
            throws Exception {
        assertThat(getClass().getClassLoader().getResource("db/migration"))
                .as("the library (and these tests) carry nothing at classpath:db/migration").isNull();
        // An application's own V1, where Flyway looks by default, as src/main/resources/db/migration would put it.
        Path migrations = Files.createDirectories(project.resolve("db/migration"));
        Files.writeString(migrations.resolve("V1__notes.sql"), "CREATE TABLE notes (id bigint PRIMARY KEY, text"
                + " text NOT NULL);");

        try (URLClassLoader application = new URLClassLoader(new URL[] {project.toUri().toURL()},
                getClass().getClassLoader())) {
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(application);
            try (SessionManager sessions = Managers.on(db).migrateOnStart(true).build()) {
                sessions.transaction(ctx -> ctx.execute("INSERT INTO notes VALUES (1, 'first')"));
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
        }

        assertThat(rowCount(db, "notes")).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE success")).as("V1, and only it")
                .isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE script = 'V1__notes.sql'"))
                .isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = 'public' AND c.relkind = 'r'")).as("notes and Flyway's history, nothing more")
                .isEqualTo(2);
    }

    @Test
    void migrateOnStartWithNothingAtTheDefaultLocationStopsStartupAndSaysWhere(TestDatabase db) {
        Throwable caught = catchThrowable(() -> Managers.on(db).name("no-migrations").migrateOnStart(true).build());

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("did not start")
                .hasMessageContaining("classpath:db/migration");
        assertThat(tableExists(db, "flyway_schema_history")).isFalse();
        assertThat(backends(db, "no-migrations")).as("the pool was closed").isZero();
    }

    @Test
    void migratesBeforeTheFirstTransactionAndOnlyOnce(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).migrateOnStart(true).migrationLocations(Bank.MIGRATIONS)
                .build()) {
            long accounts = sessions.transactionResult(ctx -> ctx.fetchCount(ctx.meta().getTables("accounts").get(0)));
            assertThat(accounts).isZero();
        }
        try (SessionManager again = Managers.on(db).migrateOnStart(true).migrationLocations(Bank.MIGRATIONS)
                .build()) {
            assertThat(again.isClosed()).isFalse();
        }

        assertThat(tableExists(db, "accounts")).isTrue();
        assertThat(tableExists(db, "transfers")).isTrue();
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE version = '1' AND success"))
                .isEqualTo(1);
    }

    @Test
    void failingMigrationStopsStartupWithFlywaysReasonAndLeavesTheSchemaAsItWas(TestDatabase db) {
        Throwable caught = catchThrowable(() -> Managers.on(db)
                .name("failing-start")
                .migrateOnStart(true)
                .migrationLocations("classpath:db/failing")
                .build());

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("did not start")
                .hasMessageContaining("no_such_function_in_this_migration");
        // V1 ran in the same transaction as the failing V2, so it is gone too.
        assertThat(tableExists(db, "alpha")).isFalse();
        assertThat(tableExists(db, "beta")).isFalse();
        // Not even Flyway's history table, which this first start had created, is left behind.
        assertThat(queryLong(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = 'public'")).isZero();
        assertThat(backends(db, "failing-start")).as("the pool was closed").isZero();
    }

    @Test
    void failingNewMigrationKeepsTheMigrationsAppliedBefore(TestDatabase db) {
        // db/failing-base holds the same V1 as db/failing, without the failing V2.
        try (SessionManager first = Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/failing-base").build()) {
            assertThat(first.isClosed()).isFalse();
        }
        long historyRows = rowCount(db, "flyway_schema_history");

        Throwable caught = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/failing").build());

        assertThat(caught).isInstanceOf(SessionException.class);
        assertThat(tableExists(db, "alpha")).isTrue();
        assertThat(tableExists(db, "beta")).isFalse();
        assertThat(rowCount(db, "flyway_schema_history")).isEqualTo(historyRows);
    }

    @Test
    void aMigrationKeptWaitingForATableGivesUpAfterMigrationLockTimeoutNamingTheHolderAndAppliesNothing(
            TestDatabase db) throws Exception {
        try (SessionManager release1 = Managers.on(db).migrateOnStart(true).migrationLocations(Bank.MIGRATIONS)
                .build()) {
            assertThat(release1.isClosed()).isFalse();
        }
        String nextRelease = "classpath:db/bank-next"; // V2 adds a column to accounts
        try (Connection report = db.connect(); Statement reading = report.createStatement()) {
            // The running release's long report: a transaction that has read accounts and goes on for minutes.
            reading.execute("SET application_name = 'nightly-report'");
            report.setAutoCommit(false);
            reading.execute("SELECT count(*) FROM accounts");
            long reportPid = queryLong(db,
                    "SELECT pid FROM pg_stat_activity WHERE application_name = 'nightly-report'");

            // On a thread of its own, so that without the timeout this test fails instead of waiting for itself.
            CompletableFuture<SessionManager> starting = CompletableFuture.supplyAsync(() -> Managers.on(db)
                    .name("release-2").migrateOnStart(true).migrationLocations(Bank.MIGRATIONS, nextRelease)
                    .migrationLockTimeout(Duration.ofMillis(300)).build());
            Throwable caught = catchThrowable(() -> starting.get(30, TimeUnit.SECONDS));

            assertThat(caught).isInstanceOf(ExecutionException.class).cause().isInstanceOf(SessionException.class)
                    .hasMessageContaining("SessionManager 'release-2' did not start")
                    .hasMessageContaining("A migration waited longer than migrationLockTimeout (300 ms) for a lock")
                    .hasMessageContaining("pid " + reportPid + " (application_name 'nightly-report', idle in"
                            + " transaction, transaction running ")
                    .hasMessageContaining("query 'SELECT count(*) FROM accounts'");
            assertThat(queryLong(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts'"
                    + " AND column_name = 'nickname'")).as("V2 was not applied").isZero();
            assertThat(rowCount(db, "flyway_schema_history")).isEqualTo(1);
            reading.execute("SELECT count(*) FROM accounts"); // the report goes on, untouched
            report.commit();
        }

        try (SessionManager release2 = Managers.on(db).migrateOnStart(true)
                .migrationLocations(Bank.MIGRATIONS, nextRelease).migrationLockTimeout(Duration.ofMillis(300))
                .build()) {
            assertThat(queryLong(db, "SELECT count(*) FROM information_schema.columns WHERE table_name = 'accounts'"
                    + " AND column_name = 'nickname'")).as("applied once the report ended").isOne();
        }
    }

    @Test
    void theMigrationLockTimeoutEndsWithTheMigrationsTransactionAndStaysOutOfTheUsersPool(TestDatabase db)
            throws Exception {
        HikariConfig config = new HikariConfig();
        config.setJdbcUrl(db.jdbcUrl());
        config.setUsername(db.username());
        config.setPassword(db.password());
        config.setMaximumPoolSize(2); // Flyway takes two connections at once; the pool has no other
        try (HikariDataSource usersPool = new HikariDataSource(config)) {
            try (SessionManager sessions = SessionManager.builder().dataSource(usersPool).migrateOnStart(true)
                    .migrationLocations(Bank.MIGRATIONS, "classpath:db/bank-next")
                    .migrationLockTimeout(Duration.ofSeconds(3)).build()) {
                assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history")).isEqualTo(2);
            }
            try (Connection first = usersPool.getConnection(); Connection second = usersPool.getConnection()) {
                for (Connection pooled : List.of(first, second)) {
                    try (Statement show = pooled.createStatement();
                         ResultSet setting = show.executeQuery("SHOW lock_timeout")) {
                        assertThat(setting.next()).isTrue();
                        assertThat(setting.getString(1)).as("the server's default, as before the migration")
                                .isEqualTo("0");
                    }
                }
            }
        }
    }

    // --- the application's own Flyway configuration ---------------------------------------------------------------

    @Test
    void theApplicationsFlywayConfigurationGivesPlaceholdersASchemaAndAHistoryTableOfItsOwn(TestDatabase db) {
        Throwable unconfigured = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/configured").build());
        assertThat(unconfigured).isInstanceOf(SessionException.class).hasMessageContaining("region");
        assertThat(objectsIn(db, "public")).as("the failed start left nothing").isZero();

        try (SessionManager sessions = Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/configured")
                .migrationConfiguration(flyway -> flyway.placeholders(Map.of("region", "eu-west")).schemas("shop")
                        .table("shop_migrations"))
                .build()) {
            sessions.transaction(ctx -> ctx.execute("INSERT INTO shop.items (id) VALUES (1)"));
        }

        assertThat(queryLong(db, "SELECT count(*) FROM shop.items WHERE region = 'eu-west'")).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM shop.shop_migrations WHERE script = 'V1__shop_items.sql'"
                + " AND success")).isEqualTo(1);
        assertThat(objectsIn(db, "public")).as("nothing in the connection's own schema").isZero();
    }

    @Test
    void aFailedFirstStartLeavesNoSchemaAndNoBaselineBehind(TestDatabase db) {
        Throwable inItsOwnSchema = catchThrowable(() -> Managers.on(db).name("failing-in-shop").migrateOnStart(true)
                .migrationLocations("classpath:db/failing")
                .migrationConfiguration(flyway -> flyway.schemas("shop"))
                .build());

        assertThat(inItsOwnSchema).isInstanceOf(SessionException.class)
                .hasMessageContaining("no_such_function_in_this_migration");
        assertThat(queryLong(db, "SELECT count(*) FROM pg_namespace WHERE nspname = 'shop'"))
                .as("Flyway created the schema and its history table in it; both are gone").isZero();

        // A database that predates Flyway: baselineOnMigrate records a baseline before the failing V2.
        execute(db, "CREATE TABLE legacy (id integer PRIMARY KEY)", "INSERT INTO legacy VALUES (1)");
        Throwable afterABaseline = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/failing")
                .migrationConfiguration(flyway -> flyway.baselineOnMigrate(true))
                .build());

        assertThat(afterABaseline).isInstanceOf(SessionException.class)
                .hasMessageContaining("no_such_function_in_this_migration");
        assertThat(tableExists(db, "flyway_schema_history")).as("the baseline went with the failed start").isFalse();
        assertThat(rowCount(db, "legacy")).as("what was there before stays").isEqualTo(1);
        assertThat(objectsIn(db, "public")).isEqualTo(1);
    }

    @Test
    void theApplicationsCallbacksRunBesideTheMigrationLockTimeout(TestDatabase db) {
        List<String> seen = new CopyOnWriteArrayList<>();
        Callback recordLockTimeout = new Callback() {
            @Override
            public boolean supports(Event event, Context context) {
                return event == Event.AFTER_EACH_MIGRATE;
            }

            @Override
            public boolean canHandleInTransaction(Event event, Context context) {
                return true;
            }

            @Override
            public void handle(Event event, Context context) {
                try (Statement show = context.getConnection().createStatement();
                     ResultSet setting = show.executeQuery("SHOW lock_timeout")) {
                    setting.next();
                    seen.add(context.getMigrationInfo().getScript() + ": " + setting.getString(1));
                } catch (SQLException e) {
                    throw new IllegalStateException(e);
                }
            }

            @Override
            public String getCallbackName() {
                return "the application's";
            }
        };

        try (SessionManager sessions = Managers.on(db).migrateOnStart(true).migrationLocations(Bank.MIGRATIONS)
                .migrationLockTimeout(Duration.ofMillis(1500))
                .migrationConfiguration(flyway -> flyway.callbacks(recordLockTimeout))
                .build()) {
            assertThat(sessions.isClosed()).isFalse();
        }
        // With group off, each migration's own transaction gets the timeout.
        try (SessionManager sessions = Managers.on(db).migrateOnStart(true)
                .migrationLocations(Bank.MIGRATIONS, "classpath:db/bank-next")
                .migrationLockTimeout(Duration.ofMillis(2500))
                .migrationConfiguration(flyway -> flyway.callbacks(recordLockTimeout).group(false))
                .build()) {
            assertThat(sessions.isClosed()).isFalse();
        }

        assertThat(seen).containsExactly("V1__bank.sql: 1500ms", "V2__account_nickname.sql: 2500ms");
    }

    @Test
    void theApplicationsFlywayConfigurationMayNotMoveTheMigrationsElsewhere(TestDatabase db) {
        Throwable elsewhere = catchThrowable(() -> Managers.on(db).name("moved").migrateOnStart(true)
                .migrationLocations(Bank.MIGRATIONS)
                .migrationConfiguration(flyway -> flyway.dataSource(db.jdbcUrl(), db.username(), db.password()))
                .build());

        assertThat(elsewhere).isInstanceOf(SessionException.class).hasMessageContaining("SessionManager 'moved'")
                .hasMessageContaining("migrationConfiguration set Flyway's DataSource");
        assertThat(objectsIn(db, "public")).as("nothing was migrated").isZero();
        assertThat(backends(db, "moved")).as("the pool was closed").isZero();
    }

    @Test
    void aHistoryWithACreateIndexConcurrentlyStartsWithGroupAndFlywaysTransactionalLockOff(TestDatabase db) {
        Throwable inOneTransaction = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/concurrent-index").build());
        assertThat(inOneTransaction).isInstanceOf(SessionException.class)
                .hasMessageContaining("no migration of this run was applied")
                .hasMessageContaining("non-transactional");
        // What Flyway's message suggests would hang: CREATE INDEX CONCURRENTLY waits for the group's transaction.
        Throwable mixed = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/concurrent-index")
                .migrationConfiguration(flyway -> flyway.mixed(true)).build());
        assertThat(mixed).isInstanceOf(SessionException.class)
                .hasMessageContaining("migrationConfiguration asked for mixed(true)")
                .hasMessageContaining("turn group off instead");
        assertThat(objectsIn(db, "public")).as("neither start left anything").isZero();
        // Group off alone: V1 commits, then V2 would wait forever for Flyway's lock, held in a transaction.
        Throwable groupOff = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/concurrent-index")
                .migrationConfiguration(flyway -> flyway.group(false)).build());
        assertThat(groupOff).isInstanceOf(SessionException.class)
                .hasMessageContaining("the migrations of this run before the failing one stay applied")
                .hasMessageContaining("V2__orders_by_customer.sql runs outside a transaction")
                .hasMessageContaining("flyway.postgresql.transactional.lock");
        assertThat(tableExists(db, "orders")).isTrue();

        try (SessionManager sessions = Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/concurrent-index")
                .migrationConfiguration(flyway -> flyway.group(false)
                        .getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false))
                .build()) {
            sessions.transaction(ctx -> ctx.execute("INSERT INTO orders VALUES (1, 7)"));
        }

        assertThat(queryLong(db, "SELECT count(*) FROM pg_index i JOIN pg_class c ON c.oid = i.indexrelid"
                + " WHERE c.relname = 'orders_by_customer' AND i.indisvalid")).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(2);
    }

    @Test
    void withGroupOffAFailedStartKeepsTheMigrationsBeforeTheFailingOneAndSaysSo(TestDatabase db) {
        Throwable caught = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/failing")
                .migrationConfiguration(flyway -> flyway.group(false)).build());

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("the migrations of this run before the failing one stay applied (group is off)")
                .hasMessageContaining("no_such_function_in_this_migration");
        assertThat(tableExists(db, "alpha")).isTrue();
        assertThat(tableExists(db, "beta")).as("the failing migration's own transaction was rolled back").isFalse();
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE success")).isEqualTo(1);
    }

    private static long objectsIn(TestDatabase db, String schema) {
        return queryLong(db, "SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
                + " WHERE n.nspname = ? AND c.relkind IN ('r', 'p', 'v', 'm', 'S')", schema);
    }

    /**
     * Java migrations packed in the application's jar, where Flyway lists them from the jar's entries (all of them when
     * the jar has none for its folders): one it can make runs at the start; one it would skip (here: not public) stops
     * the start before Flyway touches the database.
     */
    @ParameterizedTest(name = "entries for the folders: {0}")
    @ValueSource(booleans = {true, false})
    void javaMigrationsInTheApplicationsJarRunAndOneFlywayWouldSkipStopsTheStart(boolean folderEntries,
            TestDatabase db, @TempDir Path project) throws Exception {
        String migration = """
                package shop.%s;

                import java.sql.Statement;

                import org.flywaydb.core.api.migration.BaseJavaMigration;
                import org.flywaydb.core.api.migration.Context;

                %sclass V1__Orders extends BaseJavaMigration {
                    @Override
                    public void migrate(Context context) throws Exception {
                        try (Statement statement = context.getConnection().createStatement()) {
                            statement.execute("CREATE TABLE orders (id bigint PRIMARY KEY)");
                        }
                    }
                }
                """;
        Path runs = Files.writeString(Files.createDirectories(project.resolve("src/shop/migration"))
                .resolve("V1__Orders.java"), migration.formatted("migration", "public "));
        Path skipped = Files.writeString(Files.createDirectories(project.resolve("src/shop/hidden"))
                .resolve("V1__Orders.java"), migration.formatted("hidden", ""));
        Path classes = Files.createDirectories(project.resolve("classes"));
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int compiled = ToolProvider.getSystemJavaCompiler().run(null, errors, errors, "-d", classes.toString(),
                "-classpath", System.getProperty("java.class.path"), runs.toString(), skipped.toString());
        assertThat(compiled).as("compiling the migrations:%n%s", errors).isZero();
        Path jar = project.resolve("shop.jar");
        try (JarOutputStream out = new JarOutputStream(Files.newOutputStream(jar));
             Stream<Path> files = Files.walk(classes)) {
            // As Maven packs a jar, with an entry for each folder; some tools leave those out.
            for (Path file : files.filter(file -> !file.equals(classes)).sorted().toList()) {
                String name = classes.relativize(file).toString().replace(File.separatorChar, '/');
                if (Files.isRegularFile(file)) {
                    out.putNextEntry(new JarEntry(name));
                    out.write(Files.readAllBytes(file));
                    out.closeEntry();
                } else if (folderEntries) {
                    out.putNextEntry(new JarEntry(name + "/"));
                    out.closeEntry();
                }
            }
        }

        try (URLClassLoader application = new URLClassLoader(new URL[] {jar.toUri().toURL()},
                getClass().getClassLoader())) {
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(application);
            try {
                Managers.on(db).migrateOnStart(true).migrationLocations("classpath:shop/migration").build().close();
                assertThat(tableExists(db, "orders")).as("the public migration ran").isTrue();

                execute(db, "DROP TABLE orders");
                execute(db, "DROP TABLE flyway_schema_history");
                Throwable refused = catchThrowable(() -> Managers.on(db).migrateOnStart(true)
                        .migrationLocations("classpath:shop/hidden").build());
                assertThat(refused).isInstanceOf(SessionException.class).hasMessageContaining("Flyway would skip the"
                        + " Java migration shop.hidden.V1__Orders at classpath:shop/hidden and migrate without it: the"
                        + " class is not public");
                assertThat(tableExists(db, "flyway_schema_history")).as("Flyway did not start").isFalse();
                assertThat(tableExists(db, "orders")).isFalse();
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
        }
    }

    /**
     * Flyway runs an {@code afterMigrate.sql} callback after the migrations' transaction has committed: when it fails,
     * the migrations stay applied, and the failed start says so rather than that none was.
     */
    @Test
    void aCallbackFailingAfterTheMigrationsCommittedSaysTheyStayApplied(TestDatabase db, @TempDir Path project)
            throws Exception {
        Path migrations = Files.createDirectories(project.resolve("shop/migration"));
        Files.writeString(migrations.resolve("V1__notes.sql"), "CREATE TABLE notes (id bigint PRIMARY KEY);");
        Files.writeString(migrations.resolve("V2__tags.sql"), "CREATE TABLE tags (id bigint PRIMARY KEY);");
        Files.writeString(migrations.resolve("afterMigrate.sql"), "INSERT INTO audit_log VALUES ('migrated');");

        Throwable caught;
        try (URLClassLoader application = new URLClassLoader(new URL[] {project.toUri().toURL()},
                getClass().getClassLoader())) {
            ClassLoader previous = Thread.currentThread().getContextClassLoader();
            Thread.currentThread().setContextClassLoader(application);
            try {
                caught = catchThrowable(() -> Managers.on(db).name("after-migrate").migrateOnStart(true)
                        .migrationLocations("classpath:shop/migration").build());
            } finally {
                Thread.currentThread().setContextClassLoader(previous);
            }
        }

        assertThat(caught).isInstanceOf(SessionException.class)
                .hasMessageContaining("SessionManager 'after-migrate' did not start: migrating the database from"
                        + " [classpath:shop/migration] failed after 2 migration(s) of this run had been applied,"
                        + " which stay applied")
                .hasMessageContaining("afterMigrate.sql")
                .hasMessageNotContaining("no migration of this run was applied");
        assertThat(tableExists(db, "notes")).isTrue();
        assertThat(tableExists(db, "tags")).isTrue();
    }

    @Test
    void missingMigrationLocationStopsStartupClearly(TestDatabase db) {
        Throwable caught = catchThrowable(() -> Managers.on(db)
                .migrateOnStart(true)
                .migrationLocations("classpath:db/no-such-location")
                .build());

        assertThat(caught).isInstanceOf(SessionException.class).hasMessageContaining("db/no-such-location");
    }

    @Test
    void managersStartingAtOnceApplyEachMigrationExactlyOnce(TestDatabase db) throws Exception {
        int starters = 4;
        CyclicBarrier together = new CyclicBarrier(starters);
        ExecutorService threads = Executors.newFixedThreadPool(starters);
        List<Future<SessionManager>> started = new ArrayList<>();
        try {
            for (int i = 0; i < starters; i++) {
                started.add(threads.submit(() -> {
                    together.await(30, TimeUnit.SECONDS);
                    return Managers.on(db).maximumPoolSize(1).migrateOnStart(true)
                            .migrationLocations(Bank.MIGRATIONS).build();
                }));
            }
            for (Future<SessionManager> manager : started) {
                manager.get(60, TimeUnit.SECONDS).close();
            }
        } finally {
            threads.shutdownNow();
        }

        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history WHERE version = '1'")).isEqualTo(1);
        assertThat(queryLong(db, "SELECT count(*) FROM flyway_schema_history")).as("no migration applied twice")
                .isEqualTo(1);
    }
}
