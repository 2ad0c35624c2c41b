package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.sql.Connection;
import java.sql.SQLException;
import java.time.Duration;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.Bank;
import io.managedsession.support.TestGroups;

/**
 * A test run killed before its end (an IDE's stop button, a cancelled CI job) cannot drop its databases; on a server
 * of the developer's (an explicit URL) they would pile up run after run. Each run here is a JVM of its own running
 * JUnit on {@link DatabaseTest} classes, as a developer's runs are; the server is given to them as an explicit URL.
 */
@Tag(TestGroups.SEPARATE_RUNS)
class KilledTestRunTest {

    /** A database name of a run that marks itself: {@code ms_<owner>_<run id>_<random>}. */
    private static final Pattern RUN_DATABASE = Pattern.compile("ms_[a-z0-9]+_([0-9a-f]{8})_[0-9a-f]{10}");

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
            SeparateTestRun.tell(database.name());
            // The parent never writes: this reads until the process is killed.
            while (System.in.read() >= 0) {
                continue;
            }
        }
    }

    /** The next run: an ordinary test class that passes (without migrations: what it checks happens at its start). */
    @DatabaseTest(migrations = {})
    static class NextRunCase {

        @Test
        void runsATransaction(SessionManager sessions) {
            Object one = sessions.transactionResult(tx -> tx.fetchValue("SELECT 1"));
            assertThat(one).isEqualTo(1);
        }
    }

    @Test
    void theNextRunDropsWhatARunKilledMidTestLeftThatNobodyUsesAndNothingOfALiveRunsOrAnyoneElses() throws Exception {
        String oldStyle = "ms_olderrelease_0123456789";
        String othersDatabase = "ms_someoneelse_00000001_0123456789";
        // Left by a run of this test stopped half-way, on a server of the developer's.
        server.dropDatabase(oldStyle);
        server.dropDatabase(othersDatabase);
        execute("DROP ROLE IF EXISTS ms_someone_else");
        server.createDatabase(oldStyle, null);
        // A run's form and a run id no run holds, but another role's (the tests' user, a superuser, could drop it).
        execute("CREATE ROLE ms_someone_else NOLOGIN");
        execute("CREATE DATABASE " + othersDatabase + " OWNER ms_someone_else");
        SeparateTestRun killed = run(StoppedMidTestCase.class);
        SeparateTestRun live = run(StoppedMidTestCase.class);
        String killedRun;
        String liveRun;
        String killedClassDatabase;
        try {
            killedClassDatabase = killed.told();
            killedRun = runIdOf(killedClassDatabase);
            liveRun = runIdOf(live.told());
            Set<String> killedDatabases = databasesOfRun(killedRun);
            Set<String> liveDatabases = databasesOfRun(liveRun);
            assertThat(killedDatabases).as("the class's database and the run's template").hasSize(2);
            assertThat(liveDatabases).hasSize(2);

            killed.kill();
            // The server ends the killed run's sessions, and with them its mark, once it reads their closed sockets.
            await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(killedRun));
            assertThat(databasesOfRun(killedRun)).as("a killed run cannot clean up").isEqualTo(killedDatabases);

            try (Connection looking = server.connect(killedClassDatabase)) {
                run(NextRunCase.class).assertPassed();

                assertThat(databasesOfRun(killedRun)).as("of the killed run's, only the database someone is"
                        + " connected to is kept").containsExactly(killedClassDatabase);
                assertThat(looking.isValid(5)).as("the session looking at it was left alone").isTrue();
            }
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
        // The live run, killed in its turn, is an ended run now: the last run drops its databases, and the one nobody
        // is connected to any more.
        await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(liveRun));
        run(NextRunCase.class).assertPassed();
        assertThat(databasesOfRun(liveRun)).isEmpty();
        assertThat(databasesOfRun(killedRun)).isEmpty();
    }

    @Test
    void aRunStaysMarkedOnAServerThatEndsIdleSessions() throws Exception {
        // Such a server (idle_session_timeout for a role or a database) would end the connection that holds the run's
        // lock, idle for the whole run, and the next run would take the live run's databases for a dead one's. Set
        // here on the database the URL names, which only that connection stays on: the test databases are copies,
        // which do not inherit it, so that nothing else of the run is cut off while it works.
        String urlDatabase = (String) queryValue("SELECT current_database()");
        execute("ALTER DATABASE \"" + urlDatabase + "\" SET idle_session_timeout = '500ms'");
        SeparateTestRun live = run(StoppedMidTestCase.class);
        String liveRun;
        try {
            try {
                liveRun = runIdOf(live.told());
            } finally {
                // The run's connections are open by now: the sessions the database's setting reaches have begun.
                execute("ALTER DATABASE \"" + urlDatabase + "\" RESET idle_session_timeout");
            }
            // Until the mark's session has been idle for four times the server's limit, or is gone.
            await().atMost(Duration.ofSeconds(60)).until(() -> {
                Double idleSeconds = markIdleSeconds(liveRun);
                return idleSeconds == null || idleSeconds > 2;
            });

            assertThat(runIsMarked(liveRun)).as("the run is still marked").isTrue();
        } finally {
            live.kill();
        }
        await().atMost(Duration.ofSeconds(30)).until(() -> !runIsMarked(liveRun));
        for (String database : databasesOfRun(liveRun)) {
            server.dropDatabase(database);
        }
    }

    /** How long the session holding the run's mark has been idle, or {@code null} when there is none. */
    private static Double markIdleSeconds(String runId) throws SQLException {
        try (Connection connection = server.connect()) {
            return DSL.using(connection).fetchOptional("SELECT extract(epoch FROM clock_timestamp() - state_change)"
                    + "::float8 FROM pg_stat_activity WHERE application_name = ?", "managed-session test run " + runId)
                    .map(row -> row.get(0, Double.class)).orElse(null);
        }
    }

    /** A run of {@code testClass} given the server as an explicit URL. */
    private static SeparateTestRun run(Class<?> testClass) throws IOException {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, server.jdbcUrl());
        environment.put(DatabaseResolver.USERNAME_ENV, server.username());
        environment.put(DatabaseResolver.PASSWORD_ENV, server.password());
        return SeparateTestRun.of(testClass, environment, List.of());
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

    private static Object queryValue(String sql) throws SQLException {
        try (Connection connection = server.connect()) {
            return DSL.using(connection).fetchValue(sql);
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
