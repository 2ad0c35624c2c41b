package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStreamReader;
import java.io.PrintWriter;
import java.nio.charset.StandardCharsets;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.Set;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;

import io.managedsession.SessionManager;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.Bank;

/**
 * A test run killed before its end (an IDE's stop button, a cancelled CI job) cannot drop its databases; on a server
 * of the developer's (an explicit URL) they would pile up run after run. Each run here is a JVM of its own running
 * JUnit on {@link DatabaseTest} classes, as a developer's runs are; the server is given to them as an explicit URL.
 */
class KilledTestRunTest {

    /** A database name of a run that marks itself: {@code ms_<owner>_<run id>_<random>}. */
    private static final Pattern RUN_DATABASE = Pattern.compile("ms_[a-z0-9]+_([0-9a-f]{8})_[0-9a-f]{10}");
    private static final String READY = "test run holds database ";

    private static PostgresDatabase server;

    @BeforeAll
    static void startServer() {
        server = DatabaseResolver.fromEnvironment().resolve();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    /** Stands for a test the developer's run was in when it was stopped: it holds its database until killed. */
    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class StoppedMidTestCase {

        @Test
        void waitsToBeKilled(SessionManager sessions, TestDatabase database) throws IOException {
            sessions.transaction(tx -> Bank.open(tx, "stopped", 10));
            System.out.println(READY + database.name());
            System.out.flush();
            // The parent never writes: this reads until the process is killed.
            while (System.in.read() >= 0) {
                continue;
            }
        }
    }

    /** The next run: an ordinary test class that passes. */
    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class NextRunCase {

        @Test
        void opensAnAccount(SessionManager sessions, DSLContext ctx) {
            sessions.transaction(tx -> Bank.open(tx, "next", 10));
            assertThat(ctx.fetchCount(DSL.table("accounts"))).isEqualTo(1);
        }
    }

    /** A test run's JVM: runs the test class named by its argument and exits 0 when every test passed. */
    public static void main(String[] args) throws ClassNotFoundException {
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        LauncherFactory.create().execute(LauncherDiscoveryRequestBuilder.request()
                .selectors(selectClass(Class.forName(args[0]))).build(), summary);
        summary.getSummary().printFailuresTo(new PrintWriter(System.out, true), 20);
        System.exit(summary.getSummary().getTotalFailureCount() == 0
                && summary.getSummary().getTestsSucceededCount() > 0 ? 0 : 1);
    }

    @Test
    void theNextRunDropsTheDatabasesOfARunKilledMidTestAndNoneOfALiveRunsOrAnyoneElses() throws Exception {
        String oldStyle = "ms_olderrelease_0123456789";
        server.createDatabase(oldStyle, null);
        // In a run's form, with a run id no run holds, but another role's (the tests' user, a superuser, could drop it).
        String othersDatabase = "ms_someoneelse_00000001_0123456789";
        execute("CREATE ROLE ms_someone_else NOLOGIN");
        execute("CREATE DATABASE " + othersDatabase + " OWNER ms_someone_else");
        Run killed = Run.of(StoppedMidTestCase.class);
        Run live = Run.of(StoppedMidTestCase.class);
        String liveRun;
        try {
            String killedRun = runIdOf(killed.heldDatabase());
            liveRun = runIdOf(live.heldDatabase());
            Set<String> killedDatabases = databasesOfRun(killedRun);
            Set<String> liveDatabases = databasesOfRun(liveRun);
            assertThat(killedDatabases).as("the class's database and the run's template").hasSize(2);
            assertThat(liveDatabases).hasSize(2);

            killed.kill();
            // The server ends the killed run's sessions, and with them its mark, once it reads their closed sockets.
            await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(killedRun));
            assertThat(databasesOfRun(killedRun)).as("a killed run cannot clean up").isEqualTo(killedDatabases);

            Run.of(NextRunCase.class).assertPassed();

            assertThat(databasesOfRun(killedRun)).as("the killed run's databases").isEmpty();
            assertThat(databasesOfRun(liveRun)).as("the live run's databases").isEqualTo(liveDatabases);
            assertThat(databaseExists(oldStyle)).as("a database not named by a marked run").isTrue();
            assertThat(databaseExists(othersDatabase)).as("another role's database").isTrue();
        } finally {
            killed.kill();
            live.kill();
            server.dropDatabase(oldStyle);
            server.dropDatabase(othersDatabase);
            execute("DROP ROLE ms_someone_else");
        }
        // The live run, killed in its turn, is an ended run now: the next run drops its databases too.
        await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(liveRun));
        Run.of(NextRunCase.class).assertPassed();
        assertThat(databasesOfRun(liveRun)).isEmpty();
    }

    @Test
    void aDatabaseOfAnEndedRunThatSomeoneIsConnectedToIsKeptUntilTheyLeave() throws Exception {
        Run killed = Run.of(StoppedMidTestCase.class);
        String classDatabase;
        try {
            classDatabase = killed.heldDatabase();
        } finally {
            killed.kill();
        }
        String killedRun = runIdOf(classDatabase);
        await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(killedRun));

        try (Connection looking = server.connect(classDatabase)) {
            Run.of(NextRunCase.class).assertPassed();
            assertThat(databasesOfRun(killedRun)).as("only the template, which nobody looks at, is dropped")
                    .containsExactly(classDatabase);
            assertThat(looking.isValid(5)).as("the session looking at it was left alone").isTrue();
        }
        Run.of(NextRunCase.class).assertPassed();
        assertThat(databasesOfRun(killedRun)).as("dropped once nobody is connected").isEmpty();
    }

    /** A test run of one class in a JVM of its own, given the server as an explicit URL; its output read as it comes. */
    private record Run(Process process, CompletableFuture<String> held, StringBuffer output) {

        static Run of(Class<?> testClass) throws IOException {
            ProcessBuilder builder = new ProcessBuilder(ProcessHandle.current().info().command().orElseThrow(),
                    "-cp", System.getProperty("java.class.path"), KilledTestRunTest.class.getName(),
                    testClass.getName());
            builder.environment().put(DatabaseResolver.URL_ENV, server.jdbcUrl());
            if (server.username() != null) {
                builder.environment().put(DatabaseResolver.USERNAME_ENV, server.username());
            }
            if (server.password() != null) {
                builder.environment().put(DatabaseResolver.PASSWORD_ENV, server.password());
            }
            Run run = new Run(builder.redirectErrorStream(true).start(), new CompletableFuture<>(), new StringBuffer());
            Thread.ofPlatform().daemon().name("output of " + testClass.getSimpleName()).start(run::readOutput);
            return run;
        }

        /** Reads the run's output to its end, so that it never waits on a full pipe. */
        private void readOutput() {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                for (String line = reader.readLine(); line != null; line = reader.readLine()) {
                    output.append(line).append('\n');
                    if (line.startsWith(READY)) {
                        held.complete(line.substring(READY.length()).strip());
                    }
                }
            } catch (IOException e) {
                output.append(e);
            }
            held.completeExceptionally(new IllegalStateException("The run ended before its test began:\n" + output));
        }

        /** The database its test holds, once the test has begun. */
        String heldDatabase() throws Exception {
            return held.get(3, TimeUnit.MINUTES);
        }

        void assertPassed() throws InterruptedException {
            assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("the run ended").isTrue();
            assertThat(process.exitValue()).as("the run's tests passed:%n%s", output).isZero();
        }

        /** Kills it as an IDE's stop button does, and waits for it to be gone. */
        void kill() throws InterruptedException {
            process.destroyForcibly();
            assertThat(process.waitFor(1, TimeUnit.MINUTES)).isTrue();
        }
    }

    private static String runIdOf(String database) {
        Matcher matcher = RUN_DATABASE.matcher(database);
        assertThat(matcher.matches()).as("%s names its run", database).isTrue();
        return matcher.group(1);
    }

    private static Set<String> databasesOfRun(String runId) throws SQLException {
        try (Connection connection = server.connect()) {
            return Set.copyOf(DSL.using(connection).fetch("SELECT datname FROM pg_database WHERE datname LIKE ?",
                    "ms\\_%\\_" + runId + "\\_%").getValues(0, String.class));
        }
    }

    private static void execute(String sql) throws SQLException {
        try (Connection connection = server.connect()) {
            DSL.using(connection).execute(sql);
        }
    }

    private static boolean databaseExists(String name) throws SQLException {
        try (Connection connection = server.connect()) {
            return DSL.using(connection).fetchExists(DSL.selectOne().from("pg_database").where("datname = ?", name));
        }
    }

    private static boolean runIsMarked(String runId) throws SQLException {
        try (Connection connection = server.connect()) {
            return DSL.using(connection).fetchExists(DSL.selectOne().from("pg_locks").where(
                    "locktype = 'advisory' AND objsubid = 2 AND classid = ?::bigint::oid AND objid = ?::bigint::oid",
                    (long) RunLease.LOCK_CLASS, Long.parseLong(runId, 16)));
        }
    }
}
