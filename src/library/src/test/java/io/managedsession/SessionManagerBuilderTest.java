package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

/** The builder refuses bad settings at once, naming the setting, the value and the bound. */
class SessionManagerBuilderTest {

    @Test
    void refusesANonPostgresUrlWithoutShowingItsPassword() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:mysql://db/app?user=a&password=hunter2"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("jdbc:postgresql:")
                .hasMessageContaining("jdbc:mysql://db/app?user=a&password=***")
                .hasMessageNotContaining("hunter2");
    }

    @Test
    void refusesPoolSizesOutOfRange() {
        assertThatThrownBy(() -> SessionManager.builder().maximumPoolSize(0))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("maximumPoolSize must be between 1 and 1000, but was 0");
        assertThatThrownBy(() -> SessionManager.builder().maximumPoolSize(1001))
                .hasMessage("maximumPoolSize must be between 1 and 1000, but was 1001");
    }

    @Test
    void refusesConnectionTimeoutBelowHikarisMinimum() {
        assertThatThrownBy(() -> SessionManager.builder().connectionTimeout(Duration.ofMillis(100)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("connectionTimeout must be at least 250 ms, but was 100 ms");
    }

    @Test
    void refusesNegativeCloseTimeout() {
        assertThatThrownBy(() -> SessionManager.builder().closeTimeout(Duration.ofSeconds(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("closeTimeout must not be negative");
    }

    @Test
    void refusesAMigrationLockTimeoutPostgresqlCannotTake() {
        assertThatThrownBy(() -> SessionManager.builder().migrationLockTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessage("migrationLockTimeout must be between 0 and 2147483647 ms (PostgreSQL's lock_timeout), but"
                        + " was PT-0.001S");
        assertThatThrownBy(() -> SessionManager.builder().migrationLockTimeout(Duration.ofDays(30)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("but was PT720H");
    }

    @Test
    void refusesEmptyOrBlankMigrationLocations() {
        assertThatThrownBy(() -> SessionManager.builder().migrationLocations())
                .hasMessage("migrationLocations needs at least one location");
        assertThatThrownBy(() -> SessionManager.builder().migrationLocations("classpath:db/migration", " "))
                .hasMessage("migrationLocations[1] is blank");
    }

    @Test
    void refusesAMissingMigrationConfiguration() {
        assertThatThrownBy(() -> SessionManager.builder().migrationConfiguration(null))
                .isInstanceOf(NullPointerException.class).hasMessage("customizer");
    }

    @Test
    void buildNeedsExactlyOneSourceOfConnections() {
        DataSource dataSource = new PGSimpleDataSource();

        assertThatThrownBy(() -> SessionManager.builder().build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("set jdbcUrl(...) or dataSource(...)");
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://localhost/x")
                .dataSource(dataSource).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("either jdbcUrl(...) or dataSource(...), not both");
        assertThatThrownBy(() -> SessionManager.builder().dataSource(dataSource).password("secret").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("configure them on the DataSource");
    }

    @Test
    void refusesAPasswordGivenTwice() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://db/app?password=one")
                .password("two").build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("password is given twice")
                .hasMessageNotContaining("one")
                .hasMessageNotContaining("two");
    }

    @Test
    void builderDescriptionHidesThePassword() {
        SessionManager.Builder builder = SessionManager.builder()
                .jdbcUrl("jdbc:postgresql://db:5432/app?password=in-url-secret")
                .username("app")
                .password("builder-secret");

        assertThat(builder.toString())
                .contains("app")
                .doesNotContain("in-url-secret")
                .doesNotContain("builder-secret");
    }
}
