package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;

import org.junit.jupiter.api.Test;

import io.managedsession.support.StartsAManager;

/**
 * A class path without a library the manager needs, as a build that left out a dependency makes it: build() says
 * which one is missing, instead of a NoClassDefFoundError from inside the start. (On the module path the same check
 * names the requires lines; the user project's TodoAppOnTheModulePathTest runs that case.)
 */
class MissingLibraryTest {

    @Test
    void aClassPathWithoutSlf4jIsNamedBeforeAnythingStarts() throws Exception {
        String withoutSlf4j = Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(entry -> !entry.contains("slf4j") && !entry.contains("logback"))
                .collect(Collectors.joining(File.pathSeparator));
        Process process = new ProcessBuilder(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-XX:TieredStopAtLevel=1", "-cp", withoutSlf4j, StartsAManager.class.getName(),
                "jdbc:postgresql://127.0.0.1:1/none")
                .redirectErrorStream(true).start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(60, TimeUnit.SECONDS)).isTrue();

        assertThat(process.exitValue()).as(output).isEqualTo(3);
        assertThat(output).contains("java.lang.IllegalStateException: SessionManager cannot start: the class path lacks"
                + " slf4j-api (org.slf4j.LoggerFactory); add that dependency")
                .doesNotContain("NoClassDefFoundError");
    }
}
