package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.io.IOException;
import java.io.StringWriter;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import javax.tools.JavaCompiler;
import javax.tools.StandardJavaFileManager;
import javax.tools.ToolProvider;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

import db.welcome.V2__Welcome_todo;

/**
 * The project's application as a Java module: the project's {@code Todos}, its migrations and a main class compiled
 * into module {@code todo.app} against the jars this project's build resolves at runtime, then started with
 * {@code java --module-path ... -m}, as a modular application runs. With the README's module declaration it migrates
 * the database and commits; without it, it stops before touching the database and says which line is missing.
 * Tagged {@code module-path}: the module system does not depend on the server, so CI runs it on one source only.
 */
@Tag("module-path")
@DatabaseTest(migrations = {}, perTest = true)
class TodoAppOnTheModulePathTest {

    /** The README's declaration for an application module (the README's test checks that they are the same). */
    private static final Path READMES_DECLARATION = Path.of("src/test/module-app/module-info.java");

    /** The project's migration in Java, in package db.welcome. */
    private static final List<Path> JAVA_MIGRATION = List.of(Path.of("src/test/java/db/welcome/V2__Welcome_todo.java"));

    @Test
    void runsAsAModuleWithTheReadmesDeclaration(TestDatabase database, @TempDir Path work) throws Exception {
        Path module = compile(work, Files.readString(READMES_DECLARATION));

        Run run = start(module, database, "water the plants");

        assertEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("added todo 1: water the plants"), run.output());
        assertEquals(List.of("water the plants"), titles(database));
    }

    @Test
    void namesTheModulesToRequireWhenTheApplicationRequiresOnlyTheLibrary(TestDatabase database, @TempDir Path work)
            throws Exception {
        Path module = compile(work, readmesDeclarationWithout("requires com.zaxxer.hikari", "requires org.slf4j"));

        Run run = start(module, database, "water the plants");

        assertNotEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("Add requires com.zaxxer.hikari; requires org.slf4j; to your"
                + " module-info.java, or start java with --add-modules com.zaxxer.hikari,org.slf4j"), run.output());
        assertFalse(run.output().contains("NoClassDefFoundError"), run.output());
        assertFalse(hasTable(database, "flyway_schema_history"), "the database is untouched");
    }

    @Test
    void namesThePackageToOpenWhenTheMigrationsAreEncapsulated(TestDatabase database, @TempDir Path work)
            throws Exception {
        Path module = compile(work, readmesDeclarationWithout("opens db.migration"));

        Run run = start(module, database, "water the plants");

        assertNotEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("the migrations at classpath:db/migration are in module todo.app, which does"
                + " not open their package db.migration to everyone"), run.output());
        assertTrue(run.output().contains("Add \"opens db.migration;\" to the module-info.java of todo.app"),
                run.output());
        assertTrue(run.output().contains("or keep them in a folder whose name is no Java package name, such as"
                + " db/migration-sql (a hyphen)"), run.output());
        assertFalse(hasTable(database, "flyway_schema_history"), "a failed start leaves the schema as it was");
        assertFalse(hasTable(database, "todos"), "a failed start leaves the schema as it was");
    }

    @Test
    void readsMigrationsInAFolderThatIsNoPackageWithoutOpeningIt(TestDatabase database, @TempDir Path work)
            throws Exception {
        // The way the refusal above offers for migrations only the tests have: a hyphen makes the folder no package.
        Path module = compile(work, readmesDeclarationWithout("opens db.migration"), "db/todo-migrations");

        Run run = start(module, database, "water the plants", "classpath:db/todo-migrations");

        assertEquals(0, run.exitCode(), run.output());
        assertEquals(List.of("water the plants"), titles(database));
    }

    @Test
    void runsTheProjectsJavaMigrationsInAPackageTheModuleOpens(TestDatabase database, @TempDir Path work)
            throws Exception {
        Path module = compile(work, withJavaMigrations(Files.readString(READMES_DECLARATION), "opens db.welcome;"),
                "db/migration", JAVA_MIGRATION);

        Run run = start(module, database, "water the plants", "classpath:db/migration,classpath:db/welcome");

        assertEquals(0, run.exitCode(), run.output());
        assertEquals(List.of(V2__Welcome_todo.WELCOME, "water the plants"), titles(database));
    }

    @Test
    void namesThePackageToOpenWhenTheJavaMigrationsAreEncapsulated(TestDatabase database, @TempDir Path work)
            throws Exception {
        // Flyway finds the class, cannot make it, and would start without it, saying only "Skipping".
        Path module = compile(work, withJavaMigrations(Files.readString(READMES_DECLARATION), ""), "db/migration",
                JAVA_MIGRATION);

        Run run = start(module, database, "water the plants", "classpath:db/migration,classpath:db/welcome");

        assertNotEquals(0, run.exitCode(), run.output());
        assertTrue(run.output().contains("Flyway would skip the Java migration db.welcome.V2__Welcome_todo at"
                + " classpath:db/welcome and migrate without it: it is in module todo.app, which does not export its"
                + " package db.welcome to Flyway."), run.output());
        assertTrue(run.output().contains("Add \"opens db.welcome;\" (or \"exports db.welcome;\") to the"
                + " module-info.java of todo.app"), run.output());
        assertFalse(hasTable(database, "flyway_schema_history"), "a failed start leaves the schema as it was");
        assertFalse(hasTable(database, "todos"), "a failed start leaves the schema as it was");
    }

    /**
     * A declaration for an application with migrations in Java, which extend Flyway's class, and {@code opens} (a
     * directive, or nothing) for their package.
     */
    private static String withJavaMigrations(String declaration, String opens) {
        assertTrue(declaration.contains("requires org.slf4j;"), declaration);
        return declaration.replace("requires org.slf4j;", "requires org.slf4j;\n    requires flyway.core;\n    "
                + opens);
    }

    /** The README's declaration without the lines that hold any of {@code directives}, each of which must be there. */
    private static String readmesDeclarationWithout(String... directives) throws IOException {
        String declaration = Files.readString(READMES_DECLARATION);
        for (String directive : directives) {
            assertTrue(declaration.contains(directive), directive + " is in the README's declaration");
        }
        return declaration.lines().filter(line -> Stream.of(directives).noneMatch(line::contains))
                .collect(Collectors.joining("\n"));
    }

    private static Path compile(Path work, String declaration) throws IOException {
        return compile(work, declaration, "db/migration");
    }

    private static Path compile(Path work, String declaration, String migrationFolder) throws IOException {
        return compile(work, declaration, migrationFolder, List.of());
    }

    /**
     * Compiles module todo.app (the declaration, the project's Todos and the application), its migrations in
     * {@code migrationFolder}, and the Java migrations {@code javaMigrations} (in their packages).
     */
    private static Path compile(Path work, String declaration, String migrationFolder, List<Path> javaMigrations)
            throws IOException {
        Path sources = Files.createDirectories(work.resolve("src"));
        Files.writeString(sources.resolve("module-info.java"), declaration);
        Path module = Files.createDirectories(work.resolve("todo.app"));
        List<String> options = List.of("-d", module.toString(), "--module-path", runtimePath(), "-nowarn");
        List<Path> files = new ArrayList<>(List.of(sources.resolve("module-info.java"),
                Path.of("src/main/java/example/todo/Todos.java"),
                Path.of("src/test/module-app/example/todo/app/TodoApp.java")));
        files.addAll(javaMigrations);
        JavaCompiler javac = ToolProvider.getSystemJavaCompiler();
        StringWriter diagnostics = new StringWriter();
        try (StandardJavaFileManager fileManager = javac.getStandardFileManager(null, null, null)) {
            boolean compiled = javac.getTask(diagnostics, fileManager, null, options, null,
                    fileManager.getJavaFileObjectsFromPaths(files)).call();
            assertTrue(compiled, diagnostics.toString());
        }
        Path migrations = Path.of("src/main/resources/db/migration");
        Path target = Files.createDirectories(module.resolve(migrationFolder));
        try (Stream<Path> scripts = Files.list(migrations)) {
            for (Path file : scripts.toList()) {
                Files.copy(file, target.resolve(file.getFileName()));
            }
        }
        return module;
    }

    private static Run start(Path module, TestDatabase database, String todo) throws Exception {
        return start(module, database, todo, null);
    }

    /** Starts the application on the module path, the database (and the migrations' location) in its environment. */
    private static Run start(Path module, TestDatabase database, String todo, String migrations) throws Exception {
        Path output = module.resolveSibling("output.txt");
        // A short-lived JVM: the quick compiler alone and the simplest collector start it sooner.
        ProcessBuilder builder = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-XX:+UseSerialGC",
                "--module-path", module + File.pathSeparator + runtimePath(),
                "-m", "todo.app/example.todo.app.TodoApp", todo)
                .redirectErrorStream(true)
                .redirectOutput(output.toFile());
        builder.environment().put("TODO_DATABASE_URL", database.jdbcUrl());
        // A server given by a URL that names its user has no user apart from the URL's.
        if (database.username() != null) {
            builder.environment().put("TODO_DATABASE_USER", database.username());
        }
        if (database.password() != null) {
            builder.environment().put("TODO_DATABASE_PASSWORD", database.password());
        }
        if (migrations != null) {
            builder.environment().put("TODO_MIGRATIONS", migrations);
        }
        Process process = builder.start();
        if (!process.waitFor(2, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("the application did not end within 2 minutes: " + Files.readString(output));
        }
        return new Run(process.exitValue(), Files.readString(output));
    }

    /** The jars this project's build resolves for its runtime (the library and what it brings), as a path. */
    private static String runtimePath() throws IOException {
        return Files.readString(Path.of(System.getProperty("todo.runtimeClasspath"))).strip();
    }

    private static List<String> titles(TestDatabase database) throws Exception {
        List<String> titles = new ArrayList<>();
        try (Connection connection = database.connect();
             ResultSet rows = connection.createStatement().executeQuery("SELECT title FROM todos ORDER BY id")) {
            while (rows.next()) {
                titles.add(rows.getString(1));
            }
        }
        return titles;
    }

    private static boolean hasTable(TestDatabase database, String table) throws Exception {
        try (Connection connection = database.connect();
             ResultSet found = connection.createStatement().executeQuery(
                     "SELECT to_regclass('" + table + "') IS NOT NULL")) {
            found.next();
            return found.getBoolean(1);
        }
    }

    private record Run(int exitCode, String output) {
    }
}
