package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

/**
 * The packaged library, as a user's build receives it: only the library's own packages, nothing of the example, the
 * benchmarks, no migrations and no logging configuration; a stable module name; and, besides optional ones, no
 * dependencies but jOOQ, HikariCP, the driver, Flyway and SLF4J.
 */
class LibraryJarIT {

    /** The library's packages, as folders in the jar. */
    private static final Pattern LIBRARY_CLASS = Pattern.compile(
            "io/managedsession/(internal/|database/|testing/|micrometer/)?([A-Za-z0-9_$]+|package-info)\\.class");

    private static Path jar;

    @BeforeAll
    static void findTheJar() {
        String property = System.getProperty("library.jar");
        assertThat(property).as("the build passes the packaged jar's path in library.jar").isNotNull();
        jar = Path.of(property);
        assertThat(jar).exists();
    }

    @Test
    void holdsTheLibrarysPackagesAndNothingElse() throws IOException {
        List<String> strangers = new ArrayList<>();
        int classes = 0;
        try (JarFile file = new JarFile(jar.toFile())) {
            for (JarEntry entry : file.stream().toList()) {
                String name = entry.getName();
                if (entry.isDirectory() || name.startsWith("META-INF/")) {
                    continue;
                }
                if (LIBRARY_CLASS.matcher(name).matches()) {
                    classes++;
                } else {
                    strangers.add(name);
                }
            }
        }

        assertThat(strangers).as("entries of %s outside the library's packages (an example, a benchmark, migrations,"
                + " a logging configuration?)", jar.getFileName()).isEmpty();
        assertThat(classes).as("library classes").isGreaterThan(40);
    }

    @Test
    void carriesNoMigrationsNoLoggingConfigurationAndNoExample() throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.stream().map(JarEntry::getName))
                    .noneMatch(name -> name.startsWith("db/"))
                    .noneMatch(name -> name.matches("(.*/)?logback[^/]*\\.xml|(.*/)?log4j2?[^/]*\\.(xml|properties)"))
                    .noneMatch(name -> name.startsWith("io/managedsession/ledger/"))
                    .noneMatch(name -> name.startsWith("io/managedsession/bench/"))
                    .noneMatch(name -> name.startsWith("io/managedsession/support/"));
        }
    }

    @Test
    void namesItselfOnTheModulePath() throws IOException {
        try (JarFile file = new JarFile(jar.toFile())) {
            assertThat(file.getManifest().getMainAttributes().getValue("Automatic-Module-Name"))
                    .isEqualTo("io.managedsession");
        }
    }

    @Test
    void bringsOnlyJooqHikariTheDriverFlywayAndSlf4jToAUsersBuild() throws IOException {
        String pom;
        try (JarFile file = new JarFile(jar.toFile());
             InputStream in = file.getInputStream(
                     file.getEntry("META-INF/maven/io.managedsession/managed-session/pom.xml"))) {
            pom = new String(in.readAllBytes());
        }
        List<String> required = new ArrayList<>();
        Matcher dependency = Pattern.compile("<dependency>(.*?)</dependency>", Pattern.DOTALL).matcher(pom);
        while (dependency.find()) {
            String declaration = dependency.group(1);
            if (!declaration.contains("<optional>true</optional>") && !declaration.contains("<scope>test</scope>")) {
                Matcher artifact = Pattern.compile("<artifactId>([^<]+)</artifactId>").matcher(declaration);
                assertThat(artifact.find()).isTrue();
                required.add(artifact.group(1));
            }
        }

        assertThat(required).containsExactlyInAnyOrder("jooq", "HikariCP", "postgresql", "flyway-core",
                "flyway-database-postgresql", "slf4j-api");
    }
}
