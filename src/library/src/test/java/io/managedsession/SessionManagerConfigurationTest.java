package io.managedsession;

import static io.managedsession.support.SecondConnection.backends;
import static org.assertj.core.api.Assertions.assertThat;

import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** What a transaction's DSLContext is configured with. */
@DatabaseTest(migrations = {})
class SessionManagerConfigurationTest {

    @Test
    void transactionsUseThePostgresDialectAndACopyOfTheGivenSettings(TestDatabase db) {
        Settings settings = new Settings().withQueryTimeout(7);
        SessionManager.Builder builder = Managers.on(db).settings(settings);
        settings.setQueryTimeout(99); // too late: the builder copied the settings

        try (SessionManager sessions = builder.build()) {
            sessions.transaction(ctx -> {
                assertThat(ctx.dialect()).isEqualTo(SQLDialect.POSTGRES);
                assertThat(ctx.settings().getQueryTimeout()).isEqualTo(7);
            });
        }
    }

    @Test
    void ownedPoolNamesItsConnectionsInPgStatActivity(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).name("named-pool").build()) {
            String applicationName = sessions.transactionResult(
                    ctx -> ctx.fetchValue("SELECT current_setting('application_name')").toString());

            assertThat(applicationName).isEqualTo("named-pool");
            assertThat(backends(db, "named-pool")).isPositive();
        }
    }

    @Test
    void descriptionNamesTheManagerAndHidesThePassword(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).name("described").build()) {
            assertThat(sessions.toString()).contains("described").contains(db.name());
            if (db.password() != null) {
                assertThat(sessions.toString()).doesNotContain(db.password());
            }
        }
    }
}
