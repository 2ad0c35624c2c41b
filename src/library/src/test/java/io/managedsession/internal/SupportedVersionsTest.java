package io.managedsession.internal;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatCode;

import org.junit.jupiter.api.Test;

/**
 * The releases of jOOQ and Flyway an application brings, checked before a manager starts. What the check reads is
 * the loaded library's own release; what it refuses is shown with the releases Spring Boot 4.0 and 3.5 manage.
 */
class SupportedVersionsTest {

    @Test
    void readsTheReleasesLoadedAndAcceptsThoseOfThisBuild() {
        assertThat(SupportedVersions.jooqVersion()).matches("3\\.2[1-9]\\.\\d+.*");
        assertThat(SupportedVersions.flywayVersion()).matches("\\d+\\.\\d+\\.\\d+.*");
        assertThat(SupportedVersions.builtWith("jooq", "unknown")).as("the build's own, filled in by Maven")
                .isEqualTo(SupportedVersions.jooqVersion());
        assertThat(SupportedVersions.builtWith("flyway", "unknown")).isEqualTo(SupportedVersions.flywayVersion());
        assertThatCode(SupportedVersions::checkJooq).doesNotThrowAnyException();
        assertThatCode(() -> SupportedVersions.checkFlyway("test")).doesNotThrowAnyException();
    }

    @Test
    void refusesAnOlderReleaseNamingBothAndTheWayToChooseTheOther() {
        String refusal = SupportedVersions.refusal("jOOQ", "3.19.35", "3.21", "3.21.9", "org.jooq:jooq",
                "jooq.version");

        assertThat(refusal).isEqualTo("it needs jOOQ 3.21 or newer (it is built with 3.21.9), but the class path has"
                + " jOOQ 3.19.35, which lacks methods it calls. A dependency management chose that release, as Spring"
                + " Boot's does for the whole application: declare org.jooq:jooq at 3.21.9 in your"
                + " <dependencyManagement> (entries of your own win over an imported spring-boot-dependencies), or set"
                + " the property jooq.version to 3.21.9 where spring-boot-starter-parent is the parent");
        assertThat(SupportedVersions.refusal("Flyway", "11.7.2", "11.14", "13.12.0", "flyway-core", "flyway.version"))
                .startsWith("it needs Flyway 11.14 or newer (it is built with 13.12.0), but the class path has Flyway"
                        + " 11.7.2");
    }

    @Test
    void acceptsTheOldestReleaseAndNewerOnesAndGoesAheadWhenTheReleaseIsUnknown() {
        for (String release : new String[] {"3.21", "3.21.0", "3.21.9", "3.22.0-SNAPSHOT", "3.100.1", "4.0"}) {
            assertThat(SupportedVersions.refusal("jOOQ", release, "3.21", "3.21.9", "a", "p")).as(release).isNull();
        }
        assertThat(SupportedVersions.refusal("Flyway", "11.14.1", "11.14", "13.12.0", "a", "p")).isNull();
        assertThat(SupportedVersions.refusal("jOOQ", null, "3.21", "3.21.9", "a", "p")).isNull();
        assertThat(SupportedVersions.compare("3.9.0", "3.21")).isNegative();
        assertThat(SupportedVersions.compare("3.20.99", "3.21")).isNegative();
    }
}
