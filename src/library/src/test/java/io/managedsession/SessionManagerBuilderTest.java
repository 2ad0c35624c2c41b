package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import com.zaxxer.hikari.HikariConfig;

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

    /** A URL no server answers: a customizer that gets past the checks makes build() try it and fail to connect. */
    private static final String NOBODY = "jdbc:postgresql://127.0.0.1:1/none";

    @Test
    void poolConfigurationMayNotChangeWhatTheManagerOwnsAndSaysWhatToUseInstead() {
        record Change(String name, Consumer<HikariConfig> change, String message) {
        }
        List<Change> changes = List.of(
                new Change("size", pool -> pool.setMaximumPoolSize(20), "poolConfiguration of the HikariCP pool"
                        + " 'owned' set maximumPoolSize (from 10 to 20), which the manager owns: use"
                        + " maximumPoolSize(...): each connection is one place in the manager's connection queue"),
                new Change("wait", pool -> pool.setConnectionTimeout(5_000), "connectionTimeout (from 30000 to 5000),"
                        + " which the manager owns: use connectionTimeout(...)"),
                new Change("name", pool -> pool.setPoolName("other"), "poolName (from owned to other), which the"
                        + " manager owns: use name(...)"),
                new Change("auto-commit", pool -> pool.setAutoCommit(false), "autoCommit (from true to false)"),
                new Change("read-only", pool -> pool.setReadOnly(true), "use TransactionOptions.readOnly(true)"),
                new Change("isolation", pool -> pool.setTransactionIsolation("TRANSACTION_SERIALIZABLE"),
                        "transactionIsolation (from null to TRANSACTION_SERIALIZABLE), which the manager owns: use"
                                + " TransactionOptions.isolation(...)"),
                new Change("start", pool -> pool.setInitializationFailTimeout(-1), "initializationFailTimeout (from 1"
                        + " to -1)"),
                new Change("user", pool -> pool.setUsername("admin"), "username (from app to admin), which the"
                        + " manager owns: use jdbcUrl(...), username(...) and password(...)"));
        for (Change change : changes) {
            assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).username("app").name("owned")
                    .poolConfiguration(change.change()).build())
                    .as(change.name())
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining(change.message());
        }
    }

    @Test
    void poolConfigurationNamesAChangedPasswordOrUrlWithoutTheirValues() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).username("app").password("builder-secret")
                .poolConfiguration(pool -> {
                    pool.setPassword("customizer-secret");
                    pool.setJdbcUrl("jdbc:postgresql://elsewhere/db?password=url-secret");
                }).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("set jdbcUrl, which the manager owns")
                .hasMessageContaining("; password, which the manager owns")
                .hasMessageNotContaining("secret")
                .hasMessageNotContaining("elsewhere");
    }

    @Test
    void poolConfigurationMayNotChangeTheDriverPropertiesTheManagerSetsFromItsTimeoutsAndCredentials() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).name("owned").username("app")
                .password("builder-secret").connectionTimeout(Duration.ofSeconds(2))
                .socketTimeout(Duration.ofSeconds(5))
                .poolConfiguration(pool -> {
                    pool.addDataSourceProperty("socketTimeout", "0");
                    pool.getDataSourceProperties().remove("loginTimeout");
                    pool.addDataSourceProperty("connectTimeout", 30);
                    pool.addDataSourceProperty("user", "admin");
                    pool.addDataSourceProperty("password", "customizer-secret");
                }).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("poolConfiguration of the HikariCP pool 'owned' set the data source property"
                        + " socketTimeout (from 5 to 0), which the manager owns: use socketTimeout(...)")
                .hasMessageContaining("; the data source property loginTimeout (from 2.0 to unset), which the manager"
                        + " owns: use connectionTimeout(...)")
                .hasMessageContaining("; the data source property connectTimeout (from 2 to 30)")
                .hasMessageContaining("; the data source property user (from unset to admin), which the manager owns:"
                        + " use jdbcUrl(...), username(...) and password(...)")
                .hasMessageContaining("; the data source property password, which the manager owns")
                .hasMessageNotContaining("secret");
        // A timeout the URL sets is the URL's: the customizer may not set it a second time, which the URL would win.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY + "?socketTimeout=60")
                .poolConfiguration(pool -> pool.addDataSourceProperty("socketTimeout", "5")).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("socketTimeout (from unset to 5)");
        // Properties the manager leaves alone are the customizer's, ApplicationName's default included.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).connectionTimeout(Duration.ofMillis(250))
                .poolConfiguration(pool -> {
                    pool.addDataSourceProperty("ApplicationName", "todo-service");
                    pool.addDataSourceProperty("tcpKeepAlive", "true");
                }).build())
                .isInstanceOf(ConnectionUnavailableException.class);
    }

    @Test
    void poolConfigurationBehindATransactionPoolerRefusesWhatASessionWouldKeep() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).transactionPooler(true)
                .poolConfiguration(pool -> {
                    pool.setConnectionInitSql("SET search_path = shop");
                    pool.setSchema("shop");
                    pool.addDataSourceProperty("prepareThreshold", "5");
                }).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("set connectionInitSql (behind a pooler in transaction mode,"
                        + " transactionPooler(true), the next transaction may run on another server connection, which"
                        + " does not have it): give the role or the database the settings instead")
                .hasMessageContaining("; schema (behind a pooler")
                .hasMessageContaining("; prepareThreshold=5 (behind a pooler");
        // Without a pooler, or with what a pooler can take, the customizer passes and build() goes on to connect.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).connectionTimeout(Duration.ofMillis(250))
                .poolConfiguration(pool -> pool.setConnectionInitSql("SET search_path = shop")).build())
                .isInstanceOf(ConnectionUnavailableException.class);
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(NOBODY).connectionTimeout(Duration.ofMillis(250))
                .transactionPooler(true).poolConfiguration(pool -> pool.setMaxLifetime(60_000)).build())
                .isInstanceOf(ConnectionUnavailableException.class);
    }

    @Test
    void poolConfigurationGoesWithAnOwnedPoolOnly() {
        assertThatThrownBy(() -> SessionManager.builder().poolConfiguration(null))
                .isInstanceOf(NullPointerException.class).hasMessage("customizer");
        assertThatThrownBy(() -> SessionManager.builder().dataSource(new PGSimpleDataSource())
                .poolConfiguration(pool -> pool.setMaxLifetime(60_000)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("configure the DataSource passed to dataSource(...) yourself");
    }

    @Test
    void poolSizeSocketTimeoutAndQueueOrderGoWithAnOwnedPoolOnlyNamingEachOneSet() {
        // With a DataSource of the user's, none of these would reach a pool: refused rather than silently dropped.
        assertThatThrownBy(() -> SessionManager.builder().dataSource(new PGSimpleDataSource()).maximumPoolSize(20)
                .socketTimeout(Duration.ofSeconds(30)).fairConnectionQueue(false).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("maximumPoolSize(...), socketTimeout(...) and fairConnectionQueue(...) apply to"
                        + " the pool built from jdbcUrl(...)")
                .hasMessageContaining("configure the DataSource passed to dataSource(...) yourself");
        assertThatThrownBy(() -> SessionManager.builder().dataSource(new PGSimpleDataSource())
                .socketTimeout(Duration.ofSeconds(30)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("socketTimeout(...) applies to the pool built from jdbcUrl(...)");
    }

    @Test
    void refusesASocketTimeoutInTheUrlThatDiffersFromTheBuildersNamingBoth() {
        // The driver lets the URL's parameter win, so the builder's value would silently not apply; nothing can connect
        // on this port, so only a refusal before connecting passes.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app?socketTimeout=60")
                .socketTimeout(Duration.ofSeconds(30)).connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("The socket timeout is given twice, as 60 s in jdbcUrl(...) and as 30 s by"
                        + " socketTimeout(...)");
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app")
                .replicaUrls("jdbc:postgresql://127.0.0.1:2/app?socketTimeout=5")
                .socketTimeout(Duration.ofMillis(1_500)).connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("as 5 s in replicaUrls(...) and as 2 s by socketTimeout(...)");
        // The same value in both places (the builder's whole seconds, rounded up), or in one only, goes on to connect.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app?socketTimeout=30")
                .socketTimeout(Duration.ofMillis(29_500)).connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(ConnectionUnavailableException.class);
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app?socketTimeout=30")
                .connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(ConnectionUnavailableException.class);
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
    void refusesAUserInTheUrlThatDiffersFromTheUsernameNamingBoth() {
        // The pool would connect as the URL's user (the driver lets a URL parameter win over a property), the
        // migrations and the side connections as the other; nothing can connect on this port, so only a refusal
        // before connecting passes.
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app?user=app_rw")
                .username("app_owner").connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("user is given twice")
                .hasMessageContaining("'app_rw' in jdbcUrl(...)")
                .hasMessageContaining("'app_owner' by username(...)");
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/app")
                .replicaUrls("jdbc:postgresql://127.0.0.1:2/app?user=reader").username("app_owner")
                .connectionTimeout(Duration.ofMillis(250)).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("'reader' in replicaUrls(...)");
    }

    @Test
    void refusesABlankUsername() {
        assertThatThrownBy(() -> SessionManager.builder().username(" "))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("username must not be blank");
        assertThatThrownBy(() -> SessionManager.builder().migrationCredentials("", "secret"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("username must not be blank")
                .hasMessageNotContaining("secret");
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
