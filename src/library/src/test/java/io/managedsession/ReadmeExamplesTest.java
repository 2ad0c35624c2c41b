package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.File;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Objects;
import java.util.concurrent.Callable;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Collectors;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.testkit.engine.EngineTestKit;

import io.managedsession.database.PostgresCluster;
import io.managedsession.internal.JdbcUrls;
import io.managedsession.support.Checkout;
import io.managedsession.support.TestGroups;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The README's examples, built as the project of a user who depends on the library alone: its migration at
 * {@code db/migration}, its Java files compiled together against the library and its dependencies (not against this
 * repository's tests), then run against an empty database of their own.
 */
@DatabaseTest(migrations = {}, perTest = true)
class ReadmeExamplesTest {

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern MIGRATION_BLOCK = Pattern.compile("```sql\\n-- src/main/resources/(db/migration/"
            + "V[^\\n]+\\.sql)\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS_NAME = Pattern.compile("public (?:final )?class (\\w+)");

    @TempDir
    Path project;

    @Test
    void quickStartRunsInAProjectOfItsOwnAndPrintsWhatTheReadmeSays(TestDatabase db) throws Exception {
        String readme = readme();

        String printed = run(() -> runMain("QuickStart", db), readme);

        assertThat(printed).contains("refused: Account 2 has 2600 but the transfer needs 100000")
                .contains("alice 8000")
                .contains("bob 3000");
        assertThat(readme).contains("It prints `refused: Account 2 has 2600 but the transfer needs 100000`, then"
                + " `alice 8000` and `bob 3000`.");
    }

    @Test
    void optionsTourRunsEveryOptionAndPrintsWhatTheReadmeSays(TestDatabase db) throws Exception {
        String readme = readme();

        String printed = run(() -> runMain("OptionsTour", db), readme);

        // The test's console log appender writes to the same System.out: leave its lines out.
        assertThat(printed.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")))
                .containsExactly(
                        "notify: transfer committed",
                        "deposit undone, carol's account kept",
                        "savepoint rolled back: Account 1 has 9100 but the transfer needs 100000",
                        "alice + bob = 10101",
                        "read-only refused a write: SQLSTATE 25006",
                        "timed out after 200 ms");
        assertThat(readme.replaceAll("\\s+", " ")).contains("It prints `notify: transfer committed`,"
                + " `deposit undone, carol's account kept`, `savepoint rolled back: Account 1 has 9100 but the"
                + " transfer needs 100000`, `alice + bob = 10101`, `read-only refused a write: SQLSTATE 25006` and"
                + " `timed out after 200 ms`.");
    }

    @Test
    void hotPathsRunPreparedQueriesAndPrintWhatTheReadmeSays(TestDatabase db) throws Exception {
        String readme = readme();

        String printed = run(() -> runMain("HotPaths", db), readme);

        String refusal = "Prepared query [update accounts set balance = (balance + ?) where id = ?]: parameter"
                + " 'amount' takes java.lang.Long, but was given a java.lang.Integer";
        assertThat(printed.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")))
                .containsExactly("carol 1600", refusal);
        assertThat(readme).contains("It prints `carol 1600`, then\n`" + refusal + "`.");
    }

    @Test
    @Tag(TestGroups.OWN_SERVERS) // on a cluster of its own, whatever the test database is
    void readYourWritesRunsOnAPrimaryAndALaggingReplicaAndPrintsWhatTheReadmeSays() throws Exception {
        String readme = readme();
        String printed;
        try (PostgresCluster cluster = PostgresCluster.builder().standbyApplyDelay(Duration.ofMillis(100)).start()) {
            printed = run(() -> runMain("ReadYourWrites", cluster.primary().jdbcUrl("postgres"),
                    cluster.standbys().get(0).jdbcUrl("postgres"), cluster.username(), ""), readme);
        }

        assertThat(printed.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")))
                .containsExactly("on a replica: true, alice has 12000");
        assertThat(readme).contains("It prints `on a replica: true, alice has 12000`.");
    }

    @Test
    void testingExampleRunsGreenUnderJUnitWithTheProjectsOwnMigrations() throws Exception {
        run(() -> {
            Class<?> testClass = Thread.currentThread().getContextClassLoader().loadClass("AccountsTest");
            EngineTestKit.engine("junit-jupiter").selectors(DiscoverySelectors.selectClass(testClass)).execute()
                    .testEvents().assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
            return null;
        }, readme());
    }

    @Test
    void nothingOnTheLibrarysClassPathSitsAtFlywaysDefaultLocation() {
        // Otherwise the README's project, and every user's, would see migrations that are not theirs.
        assertThat(getClass().getClassLoader().getResource("db/migration")).isNull();
    }

    @Test
    void moduleDeclarationIsTheOneTheUserProjectRunsOnTheModulePath() throws Exception {
        // The user project compiles its code into a module with this file and runs it with java -m.
        String tested = Files.readString(Checkout.file("src/it/user-project/src/test/module-app/module-info.java"));

        assertThat(allJavaBlocks(readme()).stream().filter(block -> block.startsWith("module ")))
                .containsExactly(tested);
    }

    private static String readme() throws Exception {
        return Files.readString(Checkout.file("README.md"));
    }

    /**
     * Builds the README's project (its migration and all its Java files, compiled together) and runs {@code work}
     * with the project's class loader as the thread's context class loader, where Flyway looks for migrations.
     */
    private <T> T run(Callable<T> work, String readme) throws Exception {
        Matcher migration = MIGRATION_BLOCK.matcher(readme);
        assertThat(migration.find()).as("the README's migration, marked with its path").isTrue();
        Path classes = Files.createDirectories(project.resolve("classes"));
        Path migrationFile = classes.resolve(migration.group(1));
        Files.createDirectories(migrationFile.getParent());
        Files.writeString(migrationFile, migration.group(2));
        compile(javaBlocks(readme), classes);

        ClassLoader previous = Thread.currentThread().getContextClassLoader();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Thread.currentThread().setContextClassLoader(loader);
            return work.call();
        } finally {
            Thread.currentThread().setContextClassLoader(previous);
        }
    }

    /** The README's Java classes; its module declaration is not one (see the test above). */
    private static List<String> javaBlocks(String markdown) {
        List<String> blocks = allJavaBlocks(markdown).stream().filter(block -> !block.startsWith("module ")).toList();
        assertThat(blocks).as("Java examples in README.md").hasSizeGreaterThanOrEqualTo(4);
        return blocks;
    }

    private static List<String> allJavaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        Matcher matcher = JAVA_BLOCK.matcher(markdown);
        while (matcher.find()) {
            blocks.add(matcher.group(1));
        }
        return blocks;
    }

    /**
     * Compiles every block into {@code classes} in one go, as the files of one project, against the library and its
     * dependencies: the class path of these tests without the tests themselves.
     */
    private void compile(List<String> blocks, Path classes) throws Exception {
        Path sources = Files.createDirectories(project.resolve("src"));
        List<String> arguments = new ArrayList<>(List.of("-d", classes.toString(), "-classpath", userClassPath()));
        for (String block : blocks) {
            Matcher name = CLASS_NAME.matcher(block);
            assertThat(name.find()).as("a README example declares a public class:%n%s", block).isTrue();
            Path file = sources.resolve(name.group(1) + ".java");
            Files.writeString(file, block);
            arguments.add(file.toString());
        }
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = compiler.run(null, errors, errors, arguments.toArray(String[]::new));
        assertThat(status).as("compiling the README's examples:%n%s", errors).isZero();
    }

    private static String userClassPath() {
        return Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.endsWith("test-classes"))
                .collect(Collectors.joining(File.pathSeparator));
    }

    /**
     * Runs the README program {@code className} with the test database's URL, user and password, as its comment says
     * to call it: the user the URL names (the driver's default, the OS user's name, when it names none) where the
     * database has no user of its own to give.
     */
    private static String runMain(String className, TestDatabase db) throws Exception {
        String user = db.username() != null ? db.username()
                : Objects.requireNonNullElse(JdbcUrls.user(db.jdbcUrl()), System.getProperty("user.name"));
        return runMain(className, db.jdbcUrl(), user, db.password() == null ? "" : db.password());
    }

    /** Runs the README program {@code className} with {@code args}; returns what it printed. */
    private static String runMain(String className, String... args) throws Exception {
        Method main = Thread.currentThread().getContextClassLoader().loadClass(className)
                .getMethod("main", String[].class);
        PrintStream original = System.out;
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try {
            System.setOut(new PrintStream(output, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) args);
        } finally {
            System.setOut(original);
        }
        return output.toString(StandardCharsets.UTF_8);
    }
}
