package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

import io.managedsession.SessionException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

import db.welcome.V2__Welcome_todo;

/**
 * The application's own start: migrateOnStart(true) finds the user's migrations, and only them, at the default, its
 * migrations in Java among them, and stops on one that Flyway would skip; and the next release, started while the
 * running one has a todo open for editing, gives up on its migration after migrationLockTimeout instead of stalling
 * every query on todos, and says who held the table; one whose migration changes the type of a column the running
 * release reads costs that release no request that may run again.
 */
@DatabaseTest(migrations = {}, perTest = true)
class MigrateOnStartTest {

    @Test
    void migratesTheProjectsOwnSchemaAtStart(TestDatabase database) throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true).build()) {
            sessions.transaction(tx -> Todos.add(tx, "migrated at start"));

            assertEquals(List.of("migrated at start"), sessions.transactionResult(Todos::open));
        }
        try (Connection connection = database.connect();
             ResultSet applied = connection.createStatement().executeQuery(
                     "SELECT string_agg(script, ',' ORDER BY installed_rank) FROM flyway_schema_history")) {
            applied.next();
            assertEquals("V1__todos.sql", applied.getString(1));
        }
    }

    @Test
    void theServiceMigratesWithItsOwnFlywayConfiguration(TestDatabase database) throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true)
                .migrationLocations("classpath:db/migration", "classpath:db/lists")
                .migrationConfiguration(new TodoMigrations()).build()) {
            sessions.transaction(tx -> Todos.add(tx, "file the receipts"));
        }
        try (Connection connection = database.connect();
             ResultSet list = connection.createStatement().executeQuery("SELECT list FROM todos")) {
            list.next();
            assertEquals(TodoMigrations.DEFAULT_LIST, list.getString(1));
        }
    }

    @Test
    void runsTheProjectsJavaMigrationsWithItsSqlOnes(TestDatabase database) throws Exception {
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true)
                .migrationLocations("classpath:db/migration", "classpath:db/welcome").build()) {
            assertEquals(List.of(V2__Welcome_todo.WELCOME), sessions.transactionResult(Todos::open));
        }
    }

    @Test
    void runsAJavaMigrationThatTakesParametersWhenFlywayIsGivenItMade(TestDatabase database) throws Exception {
        // What a dependency-injection container does: Flyway gets the instance, and skips the class it finds.
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true)
                .migrationLocations("classpath:db/migration", "classpath:db/injected")
                .migrationConfiguration(flyway -> flyway.javaMigrations(
                        new db.injected.V2__Welcome_todo("made by the container")))
                .build()) {
            assertEquals(List.of("made by the container"), sessions.transactionResult(Todos::open));
        }
    }

    @ParameterizedTest(name = "{0}")
    @CsvSource(delimiter = '|', textBlock = """
            db/notpublic | the class is not public. Make it public
            db/injected  | it has no constructor without parameters, which is how Flyway makes it. Give it one, or \
            give Flyway the migration made, with javaMigrations(...) in migrationConfiguration
            db/unconfigured | its constructor threw java.lang.IllegalStateException: Set TODO_WELCOME_TITLE_NEVER_SET \
            to the title of the welcome todo""")
    void aJavaMigrationFlywayWouldSkipStopsTheStartAndLeavesTheDatabaseAsItWas(String folder, String why,
            TestDatabase database) throws Exception {
        // Flyway itself finds such a class, logs "Skipping" and starts without it, on a schema that lacks it.
        SessionException refused = assertThrows(SessionException.class, () -> database.sessionManagerBuilder()
                .migrateOnStart(true).migrationLocations("classpath:db/migration", "classpath:" + folder).build());

        String migration = folder.replace('/', '.') + ".V2__Welcome_todo";
        assertTrue(refused.getMessage().contains("Flyway would skip the Java migration " + migration + " at classpath:"
                + folder + " and migrate without it: " + why), refused.getMessage());
        try (Connection connection = database.connect();
             ResultSet tables = connection.createStatement().executeQuery(
                     "SELECT count(*) FROM pg_tables WHERE schemaname = 'public'")) {
            tables.next();
            assertEquals(0, tables.getInt(1), "no table made: not the history, not todos");
        }
    }

    @Test
    void theNextReleaseStartedWhileATodoIsBeingEditedGivesUpItsMigrationAndNamesTheEditor(TestDatabase database)
            throws Exception {
        ExecutorService users = Executors.newSingleThreadExecutor();
        try (SessionManager running = database.sessionManagerBuilder().name("todos").labelInApplicationName(true)
                .migrateOnStart(true).build()) {
            long id = running.transactionResult(tx -> Todos.add(tx, "draft"));
            CountDownLatch editing = new CountDownLatch(1);
            CountDownLatch saved = new CountDownLatch(1);
            Future<?> editor = users.submit(() -> running.transactionResult(
                    TransactionOptions.builder().label("editor").build(), tx -> {
                        Todos.rename(tx, id, "edited");
                        editing.countDown();
                        return saved.await(30, TimeUnit.SECONDS);
                    }));
            assertTrue(editing.await(30, TimeUnit.SECONDS), "the editor holds the todo");

            // On a thread of its own: without the timeout, this start would wait for the editor, which waits for us.
            CompletableFuture<SessionManager> nextRelease = CompletableFuture.supplyAsync(() ->
                    database.sessionManagerBuilder().name("todos-next").migrateOnStart(true)
                            .migrationLocations("classpath:db/migration", "classpath:db/release-2")
                            .migrationLockTimeout(Duration.ofMillis(500)).build());
            ExecutionException refused = assertThrows(ExecutionException.class,
                    () -> nextRelease.get(30, TimeUnit.SECONDS));
            saved.countDown();
            editor.get(30, TimeUnit.SECONDS);

            SessionException failure = assertInstanceOf(SessionException.class, refused.getCause());
            String message = failure.getMessage();
            assertTrue(message.contains("A migration waited longer than migrationLockTimeout (500 ms)"), message);
            assertTrue(message.contains("(application_name 'todos/editor', idle in transaction"), message);
            assertEquals(List.of("edited"), running.transactionResult(Todos::open), "the edit was saved");
        }
        try (SessionManager nextRelease = database.sessionManagerBuilder().migrateOnStart(true)
                .migrationLocations("classpath:db/migration", "classpath:db/release-2").build();
             Connection connection = database.connect();
             ResultSet applied = connection.createStatement().executeQuery(
                     "SELECT string_agg(script, ',' ORDER BY installed_rank) FROM flyway_schema_history")) {
            applied.next();
            assertEquals("V1__todos.sql,V2__todo_due_date.sql", applied.getString(1), "applied once the edit ended");
        } finally {
            users.shutdownNow();
        }
    }

    @Test
    void theNextReleaseWideningAColumnTheRunningOneReadsCostsItNoRequest(TestDatabase database) {
        TransactionOptions request = TransactionOptions.builder().maxAttempts(3).label("show-todo").build();
        List<String> failedAttempts = new ArrayList<>();
        // One connection, so that every request meets the statements the driver prepared on it.
        try (SessionManager running = database.sessionManagerBuilder().name("todos").maximumPoolSize(1)
                .migrateOnStart(true).build()) {
            running.addObserver(new TransactionObserver() {
                @Override
                public void attemptFailed(String managerName, TransactionOptions options, int attempt,
                        Throwable failure, boolean retrying) {
                    failedAttempts.add(failure.getMessage());
                }
            });
            long id = running.transactionResult(tx -> Todos.add(tx, "draft"));
            for (int served = 0; served < 6; served++) { // the driver prepares the read on the server from the 5th
                running.transactionResult(request, tx -> Todos.title(tx, id));
            }

            try (SessionManager nextRelease = database.sessionManagerBuilder().name("todos-next").migrateOnStart(true)
                    .migrationLocations("classpath:db/migration", "classpath:db/longer-titles").build()) {
                nextRelease.transaction(tx -> Todos.add(tx, "a title longer than two hundred ".repeat(10)));
            }
            AtomicInteger attempts = new AtomicInteger();
            Optional<String> title = running.transactionResult(request, tx -> {
                attempts.incrementAndGet();
                return Todos.title(tx, id);
            });

            assertEquals(Optional.of("draft"), title);
            assertEquals(2, attempts.get(), "the first attempt met the plan prepared before the migration");
            assertEquals(1, failedAttempts.size(), failedAttempts.toString());
            assertTrue(failedAttempts.get(0).contains("cached plan must not change result type"),
                    failedAttempts.get(0));
        }
    }
}
