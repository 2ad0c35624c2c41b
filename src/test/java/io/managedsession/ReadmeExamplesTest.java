package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.lang.reflect.Method;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.tools.JavaCompiler;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.platform.engine.discovery.DiscoverySelectors;
import org.junit.platform.testkit.engine.EngineTestKit;

import io.managedsession.support.TestDatabase;
import io.managedsession.support.WithEmptyTestDatabase;

/** The README's Java examples are compiled against the project and run against a real PostgreSQL. */
@WithEmptyTestDatabase
class ReadmeExamplesTest {

    private static final Pattern JAVA_BLOCK = Pattern.compile("```java\\n(.*?)```", Pattern.DOTALL);
    private static final Pattern CLASS_NAME = Pattern.compile("public class (\\w+)");

    @TempDir
    Path work;

    @Test
    void quickStartCompilesRunsAndPrintsWhatTheReadmeSays(TestDatabase db) throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        List<String> blocks = javaBlocks(readme);
        assertThat(blocks).as("Java examples in README.md").isNotEmpty();
        String quickStart = blocks.stream().filter(b -> b.contains("public class QuickStart")).findFirst().orElseThrow();

        String printed = compileAndRunMain(quickStart,
                db.jdbcUrl(), db.username() == null ? "" : db.username(), db.password() == null ? "" : db.password());

        assertThat(printed).contains("refused: Account 2 has 2600 but the transfer needs 100000")
                .contains("alice 8000")
                .contains("bob 3000");
        assertThat(readme).contains("It prints `refused: Account 2 has 2600 but the transfer needs 100000`, then"
                + " `alice 8000` and `bob 3000`.");
    }

    @Test
    void optionsTourRunsEveryOptionAndPrintsWhatTheReadmeSays(TestDatabase shared) throws Exception {
        TestDatabase db = shared.emptySibling();
        try {
            String readme = Files.readString(Path.of("README.md"));
            String tour = javaBlocks(readme).stream().filter(b -> b.contains("public class OptionsTour")).findFirst()
                    .orElseThrow();

            String printed = compileAndRunMain(tour, db.jdbcUrl(), db.username() == null ? "" : db.username(),
                    db.password() == null ? "" : db.password());

            // The test's console log appender writes to the same System.out: leave its lines out.
            assertThat(printed.lines().filter(line -> !line.matches("\\d\\d:\\d\\d:\\d\\d\\.\\d{3} .*")))
                    .containsExactly(
                    "notify: transfer committed",
                    "deposit undone, carol's account kept",
                    "savepoint rolled back: Account 1 has 9100 but the transfer needs 100000",
                    "alice + bob = 10101",
                    "audit holds: true",
                    "timed out after 200 ms");
            assertThat(readme.replaceAll("\\s+", " ")).contains("It prints `notify: transfer committed`,"
                    + " `deposit undone, carol's account kept`, `savepoint rolled back: Account 1 has 9100 but the"
                    + " transfer needs 100000`, `alice + bob = 10101`, `audit holds: true` and `timed out after 200 ms`.");
            assertThat(db.queryLong("SELECT count(*) FROM accounts WHERE owner = 'carol'")).isEqualTo(1);
        } finally {
            db.drop();
        }
    }

    @Test
    void testingExampleRunsGreenUnderJUnit() throws Exception {
        String readme = Files.readString(Path.of("README.md"));
        String example = javaBlocks(readme).stream().filter(b -> b.contains("public class AccountsTest")).findFirst()
                .orElseThrow();
        Path classes = compile(example);

        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Class<?> testClass = loader.loadClass("AccountsTest");
            EngineTestKit.engine("junit-jupiter").selectors(DiscoverySelectors.selectClass(testClass)).execute()
                    .testEvents().assertStatistics(stats -> stats.started(2).succeeded(2).failed(0));
        }
    }

    @Test
    void everyJavaExampleInTheReadmeCompiles() throws Exception {
        for (String block : javaBlocks(Files.readString(Path.of("README.md")))) {
            compile(block);
        }
    }

    private static List<String> javaBlocks(String markdown) {
        List<String> blocks = new ArrayList<>();
        Matcher matcher = JAVA_BLOCK.matcher(markdown);
        while (matcher.find()) {
            blocks.add(matcher.group(1));
        }
        return blocks;
    }

    private Path compile(String source) throws Exception {
        Matcher name = CLASS_NAME.matcher(source);
        assertThat(name.find()).as("a README example declares a public class").isTrue();
        Path dir = Files.createTempDirectory(work, name.group(1));
        Path file = dir.resolve(name.group(1) + ".java");
        Files.writeString(file, source);
        JavaCompiler compiler = ToolProvider.getSystemJavaCompiler();
        ByteArrayOutputStream errors = new ByteArrayOutputStream();
        int status = compiler.run(null, errors, errors, "-d", dir.toString(),
                "-classpath", System.getProperty("java.class.path"), file.toString());
        assertThat(status).as("compiling README example %s:%n%s", name.group(1), errors).isZero();
        return dir;
    }

    private String compileAndRunMain(String source, String... args) throws Exception {
        Path classes = compile(source);
        Matcher name = CLASS_NAME.matcher(source);
        assertThat(name.find()).isTrue();
        PrintStream original = System.out;
        ByteArrayOutputStream output = new ByteArrayOutputStream();
        try (URLClassLoader loader = new URLClassLoader(new URL[] {classes.toUri().toURL()},
                getClass().getClassLoader())) {
            Method main = loader.loadClass(name.group(1)).getMethod("main", String[].class);
            System.setOut(new PrintStream(output, true, StandardCharsets.UTF_8));
            main.invoke(null, (Object) args);
        } finally {
            System.setOut(original);
        }
        return output.toString(StandardCharsets.UTF_8);
    }
}
