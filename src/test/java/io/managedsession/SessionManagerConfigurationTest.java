package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;

import org.jooq.SQLDialect;
import org.jooq.conf.Settings;
import org.junit.jupiter.api.Test;

import io.managedsession.support.TestDatabase;
import io.managedsession.support.WithTestDatabase;

/** What a transaction's DSLContext is configured with. */
@WithTestDatabase
class SessionManagerConfigurationTest {

    @Test
    void transactionsUseThePostgresDialectAndACopyOfTheGivenSettings(TestDatabase db) {
        Settings settings = new Settings().withQueryTimeout(7);
        SessionManager.Builder builder = db.sessions().settings(settings);
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
        try (SessionManager sessions = db.sessions().name("named-pool").build()) {
            String applicationName = sessions.transactionResult(
                    ctx -> ctx.fetchValue("SELECT current_setting('application_name')").toString());

            assertThat(applicationName).isEqualTo("named-pool");
            assertThat(db.backends("named-pool")).isPositive();
        }
    }

    @Test
    void descriptionNamesTheManagerAndHidesThePassword(TestDatabase db) {
        try (SessionManager sessions = db.sessions().name("described").build()) {
            assertThat(sessions.toString()).contains("described").contains(db.name());
            if (db.password() != null) {
                assertThat(sessions.toString()).doesNotContain(db.password());
            }
        }
    }
}
