package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.util.HashMap;
import java.util.List;
import java.util.Map;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.support.TestGroups;

/**
 * A developer whose environment names a locale the machine does not have: {@code LANG=en_US.UTF-8} in a container
 * image without locales, or the {@code LC_CTYPE=UTF-8} that SSH from a Mac brings to a Linux box. initdb takes the
 * embedded server's locale from the environment and refuses one it cannot load; the run still gets its server, in the
 * C locale, and is told so once. A locale the machine has is kept. The runs are JVMs of their own, with the
 * environment under test.
 */
@Tag(TestGroups.OWN_SERVERS)
class EmbeddedLocaleTest {

    /** A locale no machine has. */
    private static final String MISSING_LOCALE = "xx_NO.UTF-8";

    @Test
    void aLocaleTheMachineLacksGivesAServerInTheCLocaleAndOneWarningThatNamesIt() throws Exception {
        SeparateTestRun run = run(MISSING_LOCALE);

        run.assertPassed();
        String[] said = run.told().split(" ");
        assertThat(said[2]).isEqualTo(PostgresDatabase.Origin.EMBEDDED.name());
        assertThat(said[3]).as("the database's collation").isEqualTo("C");
        assertThat(run.output().toString().lines().filter(line -> line.contains("WARN") && line.contains("locale")))
                .singleElement().asString()
                .contains("LC_ALL=" + MISSING_LOCALE)
                .contains("--locale=C");
    }

    @Test
    void aLocaleTheMachineHasIsKept() throws Exception {
        // Built into glibc since 2.35, and in Debian's and Ubuntu's for longer; initdb takes POSIX for C.
        SeparateTestRun run = run("C.UTF-8");

        run.assertPassed();
        assertThat(run.told().split(" ")[3]).as("the database's collation").isEqualTo("C.UTF-8");
        assertThat(run.output().toString()).doesNotContain("--locale=C");
    }

    /** A developer's run on an embedded server, with {@code LC_ALL} set to {@code locale}. */
    private static SeparateTestRun run(String locale) throws Exception {
        Map<String, String> environment = new HashMap<>();
        environment.put(DatabaseResolver.URL_ENV, null);
        environment.put(DatabaseResolver.TESTCONTAINERS_ENV, "false");
        environment.put("LC_ALL", locale);
        return SeparateTestRun.of(DevelopersCase.class, environment, List.of());
    }
}
