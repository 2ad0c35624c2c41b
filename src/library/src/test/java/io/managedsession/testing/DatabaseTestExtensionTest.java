package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.jooq.impl.DSL.table;
import static org.junit.platform.engine.discovery.DiscoverySelectors.selectClass;
import static org.junit.platform.testkit.engine.EventConditions.container;
import static org.junit.platform.testkit.engine.EventConditions.event;
import static org.junit.platform.testkit.engine.EventConditions.finishedSuccessfully;
import static org.junit.platform.testkit.engine.EventConditions.finishedWithFailure;
import static org.junit.platform.testkit.engine.EventConditions.test;
import static org.junit.platform.testkit.engine.TestExecutionResultConditions.message;

import java.sql.Connection;
import java.sql.SQLException;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.CyclicBarrier;
import java.util.concurrent.TimeUnit;
import java.util.function.Consumer;
import java.util.function.Supplier;
import java.util.stream.Stream;

import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.flywaydb.database.postgresql.PostgreSQLConfigurationExtension;
import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.DynamicTest;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Nested;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestFactory;
import org.junit.jupiter.api.TestInstance;
import org.junit.jupiter.api.TestMethodOrder;
import org.junit.jupiter.api.condition.EnabledIf;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ExtendWith;
import org.junit.platform.launcher.EngineFilter;
import org.junit.platform.launcher.LauncherSession;
import org.junit.platform.launcher.core.LauncherConfig;
import org.junit.platform.launcher.core.LauncherDiscoveryRequestBuilder;
import org.junit.platform.launcher.core.LauncherFactory;
import org.junit.platform.launcher.listeners.SummaryGeneratingListener;
import org.junit.platform.testkit.engine.EngineExecutionResults;
import org.junit.platform.testkit.engine.EngineTestKit;
import org.junit.platform.testkit.engine.Events;
import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.SessionManager;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.Bank;

/**
 * The {@link DatabaseTest} extension tested from outside, through JUnit's EngineTestKit: the nested classes below are
 * test classes of a user, run by a separate engine, and these tests check what the engine reported.
 */
class DatabaseTestExtensionTest {

    /**
     * The server the engine runs below use, given to them as an explicit URL: a user's run starts one server, and each
     * engine run here, a run of its own, would otherwise start another (a container, or an embedded server).
     */
    private static PostgresDatabase server;

    @BeforeAll
    static void startServer() {
        server = DatabaseResolver.fromEnvironment().resolve();
    }

    @AfterAll
    static void stopServer() {
        server.close();
    }

    private static Events run(Class<?> testClass) {
        return onTheServer(EngineTestKit.engine("junit-jupiter").selectors(selectClass(testClass)));
    }

    private static Events onTheServer(EngineTestKit.Builder engine) {
        return onTheServerAs(engine, server.username(), server.password()).testEvents();
    }

    /** Runs the engine on the server, given as an explicit URL, with another user's credentials. */
    private static EngineExecutionResults onTheServerAs(EngineTestKit.Builder engine, String user, String password) {
        return onTheServerAs(user, password, engine::execute);
    }

    /** Runs {@code run} with the server given as an explicit URL with these credentials, as a user's build gives it. */
    private static <T> T onTheServerAs(String user, String password, Supplier<T> run) {
        Map<String, String> given = new HashMap<>();
        given.put(DatabaseResolver.URL_PROPERTY, server.jdbcUrl());
        given.put(DatabaseResolver.USERNAME_PROPERTY, user);
        given.put(DatabaseResolver.PASSWORD_PROPERTY, password);
        Map<String, String> before = new HashMap<>();
        given.forEach((key, value) -> before.put(key, value == null ? System.clearProperty(key)
                : System.setProperty(key, value)));
        try {
            return run.get();
        } finally {
            before.forEach((key, value) -> {
                if (value == null) {
                    System.clearProperty(key);
                } else {
                    System.setProperty(key, value);
                }
            });
        }
    }

    // --- perTest: writes of one test are invisible to the next -------------------------------------------------------

    @DatabaseTest(migrations = Bank.MIGRATIONS, perTest = true)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class FreshDatabasePerTestCase {

        @Test
        @Order(1)
        void writes(SessionManager sessions, DSLContext ctx) {
            sessions.transaction(tx -> Bank.open(tx, "first test", 100));
            assertThat(ctx.fetchCount(table("accounts"))).isEqualTo(1);
        }

        @Test
        @Order(2)
        void seesNothingOfTheFirstTest(DSLContext ctx, TestDatabase database) {
            assertThat(ctx.fetchCount(table("accounts"))).isZero();
            assertThat(database.name()).as("named after the class and test").contains("freshdatabasepertestcaseseesnothing");
        }
    }

    @Test
    void writesInOneTestAreInvisibleToTheNextWithADatabasePerTest() {
        Events events = run(FreshDatabasePerTestCase.class);

        events.assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class SharedDatabasePerClassCase {

        @Test
        @Order(1)
        void writes(SessionManager sessions) {
            sessions.transaction(tx -> Bank.open(tx, "first test", 100));
        }

        @Test
        @Order(2)
        void seesTheFirstTestsWrite(DSLContext ctx) {
            assertThat(ctx.fetchCount(table("accounts"))).isEqualTo(1);
        }
    }

    @Test
    void testsOfAClassShareItsDatabaseByDefault() {
        run(SharedDatabasePerClassCase.class).assertStatistics(stats -> stats.started(2).succeeded(2));
    }

    // --- one server for a build's run, however it hands JUnit the classes --------------------------------------------

    /** The databases the two classes below were given, in the order they ran. */
    private static final List<TestDatabase> databasesGiven = new CopyOnWriteArrayList<>();

    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class FirstClassOfASessionCase {

        @Test
        void notesItsDatabase(TestDatabase database) {
            databasesGiven.add(database);
        }
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class SecondClassOfASessionCase {

        @Test
        void notesItsDatabase(TestDatabase database) {
            databasesGiven.add(database);
        }
    }

    /**
     * Surefire with more than one fork ({@code forkCount=2}, as many builds run) hands JUnit one class at a time: one
     * launcher session per JVM, one execution per class, each execution with a root store of its own. The run's server
     * (and its migrated templates, and on a container the container) must last the session, not one class: started
     * again for each class, a build of forty classes would start forty containers.
     */
    @Test
    void classesExecutedOneByOneInOneLauncherSessionShareOneServerAsUnderSurefireForks() throws Exception {
        databasesGiven.clear();
        LauncherConfig config = LauncherConfig.builder().enableLauncherSessionListenerAutoRegistration(false)
                .enableTestExecutionListenerAutoRegistration(false).build();

        Set<String> betweenTheClasses = onTheServerAs(server.username(), server.password(), () -> {
            try (LauncherSession session = LauncherFactory.openSession(config)) {
                executeAlone(session, FirstClassOfASessionCase.class);
                Set<String> templates = uncheckedTemplateDatabases();
                executeAlone(session, SecondClassOfASessionCase.class);
                return templates;
            }
        });

        assertThat(databasesGiven).hasSize(2);
        assertThat(databasesGiven.get(1).server()).as("the second class's server")
                .isSameAs(databasesGiven.get(0).server());
        // On a server given by URL the run's databases carry its id (ms_<owner>_<run id>_<random>): its templates are
        // told apart from other runs' on the same server (the other Surefire fork's, when the suite runs on a URL).
        String runId = databasesGiven.get(0).name().split("_")[2];
        assertThat(databasesGiven.get(1).name()).as("the second class's database, of the same run").contains(runId);
        assertThat(betweenTheClasses).as("the run's template, kept between the classes")
                .filteredOn(name -> name.startsWith("ms_template_" + runId + "_")).hasSize(1);
        assertThat(templateDatabases()).as("the run's templates once the session closed")
                .noneMatch(name -> name.startsWith("ms_template_" + runId + "_"));
    }

    /** Executes one class in the session, as Surefire's forks do, and checks that its test passed. */
    private static void executeAlone(LauncherSession session, Class<?> testClass) {
        SummaryGeneratingListener summary = new SummaryGeneratingListener();
        session.getLauncher().execute(LauncherDiscoveryRequestBuilder.request().selectors(selectClass(testClass))
                .filters(EngineFilter.includeEngines("junit-jupiter")).build(), summary);
        assertThat(summary.getSummary().getFailures()).as(testClass.getSimpleName() + "'s failures").isEmpty();
        assertThat(summary.getSummary().getTestsSucceededCount()).as(testClass.getSimpleName()).isEqualTo(1);
    }

    private static Set<String> uncheckedTemplateDatabases() {
        try {
            return templateDatabases();
        } catch (SQLException e) {
            throw new IllegalStateException(e);
        }
    }

    /** Notes what it sees of its run: the run's id, from its database's name, and the run's templates meanwhile. */
    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class NotesItsRunsTemplatesCase {

        static volatile String runId;
        static volatile List<String> templatesWhileRunning = List.of();

        @Test
        void notesItsRunsTemplates(TestDatabase database, DSLContext ctx) {
            runId = database.name().split("_")[2];
            templatesWhileRunning = ctx.fetchValues(DSL.select(DATNAME).from(table("pg_database"))
                    .where(DATNAME.startsWith("ms_template_" + runId + "_")));
        }
    }

    /**
     * A project may tell Jupiter not to close the {@code AutoCloseable}s of its stores (JUnit 5.12, which Spring Boot
     * 3.5 manages, closes only its {@code CloseableResource}s). On a server of the developer's (an explicit URL, as
     * here) the run's template databases must still be gone at its end, not pile up run after run. Only this run's
     * templates are looked at: on a server given by URL another run (the other Surefire fork's) may make or drop its
     * own at the same moment.
     */
    @Test
    void theRunsTemplateDatabasesAreDroppedAtItsEndWhenJupiterIsToldNotToCloseAutoCloseables() throws Exception {
        NotesItsRunsTemplatesCase.templatesWhileRunning = List.of();

        onTheServer(EngineTestKit.engine("junit-jupiter").selectors(selectClass(NotesItsRunsTemplatesCase.class))
                .configurationParameter("junit.jupiter.extensions.store.close.autocloseable.enabled", "false"))
                .assertStatistics(stats -> stats.started(1).succeeded(1));

        String runsTemplates = "ms_template_" + NotesItsRunsTemplatesCase.runId + "_";
        assertThat(NotesItsRunsTemplatesCase.templatesWhileRunning).as("the run's template while the class ran")
                .hasSize(1);
        assertThat(templateDatabases()).as("the run's templates once it ended")
                .noneMatch(name -> name.startsWith(runsTemplates));
    }

    private static final Field<String> DATNAME = DSL.field("datname", String.class);

    private static Set<String> templateDatabases() throws SQLException {
        try (Connection connection = server.connect()) {
            return Set.copyOf(DSL.using(connection).fetchValues(DSL.select(DATNAME).from(table("pg_database"))
                    .where(DATNAME.startsWith("ms_template_"))));
        }
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class NestedCase {

        static final Map<String, String> databases = new ConcurrentHashMap<>();

        @Test
        void outer(TestDatabase database, DSLContext ctx) {
            databases.put("outer", database.name());
            assertThat(ctx.fetchCount(table("accounts"))).isZero();
        }

        @Nested
        class SharingTheOuterDatabase {

            @Test
            void inner(TestDatabase database) {
                databases.put("sharing", database.name());
            }
        }

        @Nested
        @DatabaseTest(migrations = {})
        class WithADatabaseTestOfItsOwn {

            @Test
            void inner(TestDatabase database, DSLContext ctx) {
                databases.put("own", database.name());
                assertThat(ctx.fetchValue("SELECT to_regclass('accounts') IS NULL"))
                        .as("its own, empty database: no migrations").isEqualTo(true);
            }
        }
    }

    @Test
    void aNestedClassSharesTheOuterDatabaseUnlessItHasADatabaseTestOfItsOwn() {
        run(NestedCase.class).assertStatistics(stats -> stats.started(3).succeeded(3));

        assertThat(NestedCase.databases.get("sharing")).isEqualTo(NestedCase.databases.get("outer"));
        assertThat(NestedCase.databases.get("own")).isNotNull().isNotEqualTo(NestedCase.databases.get("outer"));
    }

    // --- one test instance per class --------------------------------------------------------------------------------

    /**
     * A class whose tests share one instance (what Kotlin projects, and Java ones that want a non-static
     * {@code @BeforeAll}, write): JUnit makes the instance before any {@code @BeforeAll} callback, and its constructor
     * takes the manager.
     */
    @DatabaseTest(migrations = Bank.MIGRATIONS)
    @TestInstance(TestInstance.Lifecycle.PER_CLASS)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class OneInstancePerClassCase {

        static final Map<String, String> databases = new ConcurrentHashMap<>();

        private final SessionManager sessions;
        private long account;

        OneInstancePerClassCase(SessionManager sessions, TestDatabase database) {
            this.sessions = sessions;
            databases.put("constructor", database.name());
        }

        @BeforeAll
        void openTheSharedAccount(TestDatabase database) {
            databases.put("beforeAll", database.name());
            account = sessions.transactionResult(tx -> Bank.open(tx, "shared", 100));
        }

        @Test
        @Order(1)
        void depositsOnTheAccountTheBeforeAllOpened() {
            long balance = sessions.transactionResult(tx -> Bank.deposit(tx, account, 50));

            assertThat(balance).isEqualTo(150L);
        }

        @Test
        @Order(2)
        void seesTheFirstTestsDeposit(DSLContext ctx, TestDatabase database) {
            databases.put("test", database.name());
            assertThat(Bank.balance(ctx, account)).isEqualTo(150L);
        }
    }

    @Test
    void aClassWithOneInstanceForAllItsTestsTakesTheDatabaseInItsConstructor() throws Exception {
        run(OneInstancePerClassCase.class).assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));

        assertThat(OneInstancePerClassCase.databases).hasSize(3);
        assertThat(Set.copyOf(OneInstancePerClassCase.databases.values())).as("one database for the class")
                .hasSize(1);
        try (Connection connection = server.connect()) {
            assertThat(DSL.using(connection).fetchExists(DSL.selectOne().from(table("pg_database"))
                    .where(DSL.field("datname").eq(OneInstancePerClassCase.databases.get("test")))))
                    .as("dropped after the class").isFalse();
        }
    }

    // --- rollback mode ---------------------------------------------------------------------------------------------

    @DatabaseTest(migrations = Bank.MIGRATIONS, rollback = true)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class RollbackCase {

        @Test
        @Order(1)
        void writesThroughNestedTransactions(SessionManager sessions, DSLContext ctx) {
            long id = sessions.transactionResult(outer -> {
                long opened = Bank.open(outer, "rolled back", 500);
                sessions.transaction(inner -> Bank.deposit(inner, opened, 250));
                return opened;
            });
            sessions.transaction(again -> Bank.deposit(again, id, 250));

            // The code under test committed as far as it can tell; the test sees its work ...
            assertThat(ctx.fetchValue("SELECT balance FROM accounts WHERE id = ?", id)).isEqualTo(1000L);
            assertThat(sessions.current()).isPresent();
        }

        @Test
        @Order(2)
        void seesNothingOfIt(DSLContext ctx) {
            // ... and it was rolled back when the test ended.
            assertThat(ctx.fetchCount(table("accounts"))).isZero();
        }
    }

    @Test
    void rollbackModeUndoesWorkDoneThroughNestedTransactions() {
        run(RollbackCase.class).assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS, rollback = true)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class RollbackWithSetUpCase {

        @BeforeEach
        void openTheSetUpsAccount(SessionManager sessions) {
            sessions.transaction(tx -> Bank.open(tx, "set up", 100));
        }

        @Test
        @Order(1)
        void failsAfterWriting(SessionManager sessions) {
            sessions.transaction(tx -> Bank.open(tx, "failing", 1));
            throw new AssertionError("the test's own failure");
        }

        @Test
        @Order(2)
        void seesOnlyItsOwnSetUp(DSLContext ctx) {
            assertThat(ctx.fetchCount(table("accounts"))).isEqualTo(1);
        }
    }

    @Test
    void rollbackModeRollsBackTheSetUpWithTheTestAndKeepsAFailingTestsOwnFailure() {
        Events events = run(RollbackWithSetUpCase.class);

        events.assertStatistics(stats -> stats.started(2).succeeded(1).failed(1));
        events.assertThatEvents().haveExactly(1, event(test("failsAfterWriting"),
                finishedWithFailure(message("the test's own failure"))));
    }

    /**
     * JUnit runs a {@code @TestFactory}'s {@code @BeforeEach} and {@code @AfterEach} once, around all its dynamic
     * tests, so in rollback mode they share one transaction, as with Spring's test transactions.
     */
    @DatabaseTest(migrations = Bank.MIGRATIONS, rollback = true)
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class RollbackDynamicTestsCase {

        @TestFactory
        @Order(1)
        Stream<DynamicTest> eachOpensAnAccount(SessionManager sessions, DSLContext ctx) {
            return Stream.of(1, 2).map(number -> DynamicTest.dynamicTest("account " + number, () -> {
                sessions.transaction(tx -> Bank.open(tx, "dynamic " + number, 1));

                assertThat(ctx.fetchCount(table("accounts"))).as("the factory's transaction").isEqualTo(number);
            }));
        }

        @Test
        @Order(2)
        void seesNoneOfThem(DSLContext ctx) {
            assertThat(ctx.fetchCount(table("accounts"))).isZero();
        }
    }

    @Test
    void dynamicTestsShareTheirFactorysTransactionInRollbackMode() {
        run(RollbackDynamicTestsCase.class).assertStatistics(stats -> stats.started(3).succeeded(3).failed(0));
    }

    // --- leaks are reported --------------------------------------------------------------------------------------

    @DatabaseTest(migrations = {})
    @TestMethodOrder(MethodOrderer.OrderAnnotation.class)
    static class LeakingCase {

        private static Connection leaked;

        @Test
        @Order(1)
        void leaksAConnection(SessionManager sessions) throws Exception {
            leaked = sessions.dataSource().getConnection();
        }

        @Test
        @Order(2)
        void leavesATransactionOpen(TestDatabase database) throws Exception {
            CountDownLatch inside = new CountDownLatch(1);
            Thread stuck = Thread.ofPlatform().daemon().start(() -> {
                try (SessionManager own = database.sessionManagerBuilder().name("stuck-worker").build()) {
                    own.transaction(tx -> {
                        tx.execute("SELECT 1");
                        inside.countDown();
                        // Stands for work that never ends; let go well after the test has been judged.
                        new CountDownLatch(1).await(8, TimeUnit.SECONDS);
                    });
                } catch (InterruptedException | RuntimeException ended) {
                    // The worker's fate does not matter here.
                }
            });
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();
            assertThat(stuck.isAlive()).isTrue();
        }

        /** Runs while both leaks above are still there: they were reported, and are not blamed on it. */
        @Test
        @Order(3)
        void cleanTest(DSLContext ctx) {
            assertThat(ctx.fetchValue("SELECT 1")).isNotNull();
        }

        @AfterAll
        static void closeLeakedConnection() throws Exception {
            if (leaked != null) {
                leaked.close();
            }
        }
    }

    @Test
    void testsThatLeakAreReportedFailedWithWhatLeakedAndTheTestsAfterThemAreNot() {
        Events events = run(LeakingCase.class);

        events.assertStatistics(stats -> stats.started(3).succeeded(1).failed(2));
        events.assertThatEvents()
                .haveExactly(1, event(test("leaksAConnection"), finishedWithFailure(message(m -> m.contains(
                        "1 connection(s) of SessionManager 'ms_leakingcase_") && m.contains("were not returned to its pool")))))
                .haveExactly(1, event(test("leavesATransactionOpen"), finishedWithFailure(message(m -> m.contains(
                        "a transaction left open on the server") && m.contains("application 'stuck-worker'")
                        && m.contains("last statement: SELECT 1") && !m.contains("not returned to its pool")))))
                .haveExactly(1, event(test("cleanTest"), finishedSuccessfully()));
    }

    // --- JUnit's parallel execution -------------------------------------------------------------------------------

    /** Runs test classes as a user who turned on JUnit's parallel execution would: classes and methods concurrently. */
    private static Events runInParallel(Class<?> testClass) {
        return onTheServer(EngineTestKit.engine("junit-jupiter")
                .configurationParameter("junit.jupiter.execution.parallel.enabled", "true")
                .configurationParameter("junit.jupiter.execution.parallel.mode.default", "concurrent")
                .configurationParameter("junit.jupiter.execution.parallel.mode.classes.default", "concurrent")
                .configurationParameter("junit.jupiter.execution.parallel.config.strategy", "fixed")
                // More workers than any case below has tests, so that all of its tests can wait for one another.
                .configurationParameter("junit.jupiter.execution.parallel.config.fixed.parallelism", "6")
                .selectors(selectClass(testClass)));
    }

    private static void await(CountDownLatch latch) throws InterruptedException {
        assertThat(latch.await(30, TimeUnit.SECONDS)).as("the other test got there").isTrue();
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS, perTest = true)
    static class ParallelDatabasePerTestCase {

        /** All four tests meet here, each with its database made, before any of them ends. */
        private static final CyclicBarrier ALL_RUNNING = new CyclicBarrier(4);

        private static void opensOnlyItsOwnAccount(SessionManager sessions, DSLContext ctx, String owner)
                throws Exception {
            sessions.transaction(tx -> Bank.open(tx, owner, 100));
            ALL_RUNNING.await(30, TimeUnit.SECONDS);
            assertThat(ctx.fetch("SELECT owner FROM accounts").getValues(0, String.class)).containsExactly(owner);
        }

        @Test
        void first(SessionManager sessions, DSLContext ctx) throws Exception {
            opensOnlyItsOwnAccount(sessions, ctx, "first");
        }

        @Test
        void second(SessionManager sessions, DSLContext ctx) throws Exception {
            opensOnlyItsOwnAccount(sessions, ctx, "second");
        }

        @Test
        void third(SessionManager sessions, DSLContext ctx) throws Exception {
            opensOnlyItsOwnAccount(sessions, ctx, "third");
        }

        @Test
        void fourth(SessionManager sessions, DSLContext ctx) throws Exception {
            opensOnlyItsOwnAccount(sessions, ctx, "fourth");
        }
    }

    @Test
    void testsRunInParallelEachGetADatabaseOfTheirOwnMadeAtTheSameTime() {
        runInParallel(ParallelDatabasePerTestCase.class)
                .assertStatistics(stats -> stats.started(4).succeeded(4).failed(0));
    }

    /**
     * Tells a test that the extension's checks after another test of its class have run: declared on a class before
     * {@code @DatabaseTest}, it is registered first, so its afterEach runs after the extension's.
     */
    static final class SignalsAfterTheLeakCheck implements AfterEachCallback {

        private static final Map<String, CountDownLatch> CHECKED = new ConcurrentHashMap<>();

        static CountDownLatch checked(Class<?> testClass, String test) {
            return CHECKED.computeIfAbsent(testClass.getName() + "#" + test, key -> new CountDownLatch(1));
        }

        @Override
        public void afterEach(ExtensionContext context) {
            checked(context.getRequiredTestClass(), context.getRequiredTestMethod().getName()).countDown();
        }
    }

    @ExtendWith(SignalsAfterTheLeakCheck.class)
    @DatabaseTest(migrations = Bank.MIGRATIONS)
    static class ConcurrentTestsOnTheClassDatabaseCase {

        private static final CountDownLatch HOLDING = new CountDownLatch(1);
        private static final CountDownLatch OTHER_CHECKED = SignalsAfterTheLeakCheck.checked(
                ConcurrentTestsOnTheClassDatabaseCase.class, "endsWhileTheOtherHoldsATransaction");

        @Test
        void holdsATransactionWhileTheOtherEnds(SessionManager sessions) throws InterruptedException {
            sessions.transaction(tx -> {
                Bank.open(tx, "held", 100);
                HOLDING.countDown();
                await(OTHER_CHECKED);
            });
        }

        @Test
        void endsWhileTheOtherHoldsATransaction(SessionManager sessions) throws Exception {
            await(HOLDING);
            sessions.transaction(tx -> Bank.open(tx, "quick", 100));
        }
    }

    @Test
    void aTestEndingWhileAnotherOfItsClassHoldsATransactionIsNotBlamedForIt() {
        runInParallel(ConcurrentTestsOnTheClassDatabaseCase.class)
                .assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
    }

    @ExtendWith(SignalsAfterTheLeakCheck.class)
    @DatabaseTest(migrations = {})
    static class LeakAmongConcurrentTestsCase {

        private static final CountDownLatch OTHER_STARTED = new CountDownLatch(1);
        private static final CountDownLatch LEAKER_CHECKED = SignalsAfterTheLeakCheck.checked(
                LeakAmongConcurrentTestsCase.class, "leaksAConnection");
        private static Connection leaked;

        @Test
        void leaksAConnection(SessionManager sessions) throws Exception {
            leaked = sessions.dataSource().getConnection();
            await(OTHER_STARTED);
        }

        @Test
        void runsAtTheSameTime(SessionManager sessions) throws Exception {
            OTHER_STARTED.countDown();
            await(LEAKER_CHECKED);
            sessions.transaction(tx -> tx.execute("SELECT 1"));
        }

        @AfterAll
        static void closeLeakedConnection() throws Exception {
            if (leaked != null) {
                leaked.close();
            }
        }
    }

    @Test
    void aLeakAmongTestsThatRanAtTheSameTimeIsReportedOnceTheDatabaseIsQuietNamingThemAll() {
        Events events = runInParallel(LeakAmongConcurrentTestsCase.class);

        events.assertStatistics(stats -> stats.started(2).succeeded(1).failed(1));
        events.assertThatEvents().haveExactly(1, event(test("runsAtTheSameTime"), finishedWithFailure(message(m ->
                m.contains("1 connection(s) of SessionManager 'ms_leakamongconcurrenttestscase_")
                && m.contains("may have been left by any one of the tests that ran at the same time on this database:")
                && m.contains("leaksAConnection(SessionManager)")
                && m.contains("runsAtTheSameTime(SessionManager)")))));
    }

    // --- the same check for a manager of the test's own -----------------------------------------------------------

    @Test
    void aTestCanCheckAManagerOfItsOwnTheSameWay() {
        run(OwnManagerCase.class).assertStatistics(stats -> stats.started(1).succeeded(1).failed(0));
    }

    @DatabaseTest(migrations = {})
    static class OwnManagerCase {

        @Test
        void reportsWhatItsOwnManagerLeftAndPassesOnceItIsReturned(TestDatabase database) throws Exception {
            try (SessionManager own = database.sessionManagerBuilder().name("own-manager").build()) {
                Connection leaked = own.dataSource().getConnection();

                assertThatThrownBy(() -> database.assertNothingLeaked(own))
                        .isInstanceOf(AssertionError.class)
                        .hasMessageContaining("The test left something open on database " + database.name())
                        .hasMessageContaining("1 connection(s) of SessionManager 'own-manager' were not returned");

                leaked.close();
                database.assertNothingLeaked(own);
            }
        }
    }

    // --- the application's Flyway configuration ----------------------------------------------------------------------

    /** What an application gives its builder's migrationConfiguration, and its tests' @DatabaseTest. */
    public static class EuropeanShop implements Consumer<FluentConfiguration> {
        @Override
        public void accept(FluentConfiguration flyway) {
            flyway.placeholders(Map.of("region", "eu-west")).schemas("shop");
        }
    }

    /** The same migrations with another value for the placeholder: a template of its own. */
    public static class AmericanShop implements Consumer<FluentConfiguration> {
        @Override
        public void accept(FluentConfiguration flyway) {
            flyway.placeholders(Map.of("region", "us-east")).schemas("shop");
        }
    }

    @DatabaseTest(migrations = "classpath:db/configured", migrationConfiguration = EuropeanShop.class)
    static class EuropeanShopCase {

        @Test
        void itemsAreMadeWithTheConfiguredRegion(DSLContext ctx) {
            ctx.execute("INSERT INTO shop.items (id) VALUES (1)");
            assertThat(ctx.fetchValue("SELECT region FROM shop.items")).isEqualTo("eu-west");
        }
    }

    @DatabaseTest(migrations = "classpath:db/configured", migrationConfiguration = AmericanShop.class)
    static class AmericanShopCase {

        @Test
        void itemsAreMadeWithTheConfiguredRegion(DSLContext ctx) {
            ctx.execute("INSERT INTO shop.items (id) VALUES (1)");
            assertThat(ctx.fetchValue("SELECT region FROM shop.items")).isEqualTo("us-east");
        }
    }

    @Test
    void testsMigrateWithTheApplicationsFlywayConfigurationOneTemplateForEach() {
        Events events = onTheServer(EngineTestKit.engine("junit-jupiter")
                .selectors(selectClass(EuropeanShopCase.class), selectClass(AmericanShopCase.class)));

        events.assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
    }

    // --- the application's jOOQ configuration -------------------------------------------------------------------------

    /** What an application gives its builder's jooqConfiguration, and its tests' @DatabaseTest: names unquoted. */
    public static class UnquotedNames implements Consumer<DefaultConfiguration> {
        @Override
        public void accept(DefaultConfiguration jooq) {
            jooq.settings().setRenderQuotedNames(RenderQuotedNames.EXPLICIT_DEFAULT_UNQUOTED);
        }
    }

    @DatabaseTest(migrations = Bank.MIGRATIONS, jooqConfiguration = UnquotedNames.class)
    static class ApplicationsJooqConfigurationCase {

        @Test
        void theInjectedManagerAndContextRenderAsTheApplicationDoes(SessionManager sessions, DSLContext ctx) {
            var accounts = DSL.selectCount().from(DSL.table(DSL.name("accounts")));
            sessions.transaction(tx -> Bank.open(tx, "alice", 100));

            String inATransaction = sessions.transactionResult(tx -> tx.render(accounts));

            assertThat(inATransaction).isEqualTo("select count(*) from accounts");
            assertThat(ctx.render(accounts)).isEqualTo("select count(*) from accounts");
            assertThat(ctx.fetchValue(accounts)).isEqualTo(1);
        }
    }

    /** Gives jOOQ connections of its own, which the builder refuses. */
    public static class ConnectionsOfItsOwn implements Consumer<DefaultConfiguration> {
        @Override
        public void accept(DefaultConfiguration jooq) {
            jooq.set(new PGSimpleDataSource());
        }
    }

    @DatabaseTest(migrations = {}, jooqConfiguration = ConnectionsOfItsOwn.class, perTest = true)
    static class ConnectionsOfItsOwnCase {

        @Test
        void neverRuns() {
        }
    }

    @Test
    void theInjectedManagerAndContextReadTheApplicationsJooqConfigurationAndWhatTheBuilderRefusesFailsTheTest() {
        run(ApplicationsJooqConfigurationCase.class).assertStatistics(stats -> stats.started(1).succeeded(1));

        run(ConnectionsOfItsOwnCase.class).assertThatEvents().haveExactly(1, event(test("neverRuns"),
                finishedWithFailure(message(m -> m.startsWith("jooqConfiguration of SessionManager '")
                        && m.contains("set a connection provider, which the manager owns")))));
    }

    /** Asks for what would hang: CREATE INDEX CONCURRENTLY in a migration run inside the group's transaction. */
    public static class MixedInOneTransaction implements Consumer<FluentConfiguration> {
        @Override
        public void accept(FluentConfiguration flyway) {
            flyway.group(true).mixed(true);
        }
    }

    @DatabaseTest(migrations = "classpath:db/concurrent-index", migrationConfiguration = MixedInOneTransaction.class,
            perTest = true)
    static class MixedInOneTransactionCase {

        @Test
        void neverRuns() {
        }
    }

    @Test
    void aConfigurationThatWouldHangTheApplicationsStartIsRefusedForTheTestsToo() {
        Events events = run(MixedInOneTransactionCase.class);

        events.assertThatEvents().haveExactly(1, event(test("neverRuns"), finishedWithFailure(message(m ->
                m.contains("Could not migrate a template database from [classpath:db/concurrent-index] with "
                        + MixedInOneTransaction.class.getName())
                && m.contains("migrationConfiguration asked for mixed(true)")))));
    }

    /** What a history with CREATE INDEX CONCURRENTLY needs: Flyway's lock outside a transaction. */
    public static class ConcurrentIndexes implements Consumer<FluentConfiguration> {
        @Override
        public void accept(FluentConfiguration flyway) {
            flyway.getConfigurationExtension(PostgreSQLConfigurationExtension.class).setTransactionalLock(false);
        }
    }

    @DatabaseTest(migrations = "classpath:db/concurrent-index", migrationConfiguration = ConcurrentIndexes.class)
    static class ConcurrentIndexCase {

        @Test
        void theIndexMadeOutsideATransactionIsThere(DSLContext ctx) {
            assertThat(ctx.fetchValue("SELECT count(*) FROM pg_indexes WHERE indexname = 'orders_by_customer'"))
                    .isEqualTo(1L);
        }
    }

    @DatabaseTest(migrations = "classpath:db/concurrent-index", perTest = true)
    static class ConcurrentIndexUnderFlywaysTransactionalLockCase {

        @Test
        void neverRuns() {
        }
    }

    @Test
    void aMigrationThatCannotRunInATransactionMigratesWithFlywaysLockOffAndIsStoppedWithItOn() {
        run(ConcurrentIndexCase.class).assertStatistics(stats -> stats.started(1).succeeded(1).failed(0));
        // Before: this test waited forever, as Flyway alone does (flyway/flyway#3682).
        run(ConcurrentIndexUnderFlywaysTransactionalLockCase.class).assertThatEvents().haveExactly(1,
                event(test("neverRuns"), finishedWithFailure(message(m ->
                        m.contains("V2__orders_by_customer.sql runs outside a transaction")
                        && m.contains("flyway.postgresql.transactional.lock")))));
    }

    // --- the container's image ---------------------------------------------------------------------------------------

    @DatabaseTest(migrations = {}, image = "managed-session/no-such-image:0")
    static class OwnImageCase {

        @Test
        void neverRuns() {
        }
    }

    @Test
    @EnabledIf("io.managedsession.database.DatabaseResolverTest#dockerAvailable")
    void imageAttributeNamesTheContainerTheClassGets() {
        // Required, so that the missing image shows in the failure instead of a fallback to the embedded server.
        String before = System.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, "true");
        try {
            Events classes = EngineTestKit.engine("junit-jupiter").selectors(selectClass(OwnImageCase.class)).execute()
                    .containerEvents();

            classes.assertThatEvents().haveExactly(1, event(container(OwnImageCase.class), finishedWithFailure(
                    message(m -> m.contains("managed-session/no-such-image:0") && m.contains("could not be started")))));
        } finally {
            if (before == null) {
                System.clearProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY);
            } else {
                System.setProperty(DatabaseResolver.TESTCONTAINERS_PROPERTY, before);
            }
        }
    }

    // --- misuse ------------------------------------------------------------------------------------------------------

    @DatabaseTest(migrations = {})
    static class EmptyDatabaseCase {

        @Test
        void neverRuns() {
        }
    }

    @Test
    void aUserWhoMayNotCreateDatabasesIsToldWhatItLacks() throws SQLException {
        // A developer's server often gives the application's role, which has no CREATEDB, to everything.
        try (Connection connection = server.connect()) {
            DSL.using(connection).execute("DROP ROLE IF EXISTS ms_no_createdb");
            DSL.using(connection).execute("CREATE ROLE ms_no_createdb LOGIN PASSWORD 'no-createdb-secret'");
        }
        try {
            Events classes = onTheServerAs(EngineTestKit.engine("junit-jupiter")
                    .selectors(selectClass(EmptyDatabaseCase.class)), "ms_no_createdb", "no-createdb-secret")
                    .containerEvents();

            classes.assertThatEvents().haveExactly(1, event(container(EmptyDatabaseCase.class), finishedWithFailure(
                    message(m -> m.contains("Could not create database ms_emptydatabasecase_")
                            && m.contains("as user 'ms_no_createdb': ERROR: permission denied to create database")
                            && m.contains("needs the CREATEDB attribute (ALTER ROLE ms_no_createdb CREATEDB)")
                            && !m.contains("no-createdb-secret")))));
        } finally {
            try (Connection connection = server.connect()) {
                DSL.using(connection).execute("DROP ROLE ms_no_createdb");
            }
        }
    }

    @DatabaseTest(migrations = {}, perTest = true)
    static class PerTestConstructorCase {

        PerTestConstructorCase(SessionManager sessions) {
            assertThat(sessions).isNotNull();
        }

        @Test
        void neverRuns() {
        }
    }

    @Test
    void perTestDatabaseCannotBeInjectedIntoAConstructorAndSaysWhy() {
        Events events = run(PerTestConstructorCase.class);

        events.assertThatEvents().haveExactly(1, event(test("neverRuns"), finishedWithFailure(message(m -> m.contains(
                "perTest = true) gives each test its own database, so it cannot be injected into a constructor")))));
    }
}
