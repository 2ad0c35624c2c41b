package io.managedsession.internal;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;

import org.junit.jupiter.api.Test;

import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The session's limits are read as the server prints them, in every unit it picks. */
@DatabaseTest(migrations = {})
class SessionTimeoutsTest {

    @Test
    void everyFormShowPrintsReadsAsTheMillisecondsTheServerHas(TestDatabase db) throws Exception {
        // Milliseconds that SHOW prints as 0, ms, s, min, h and d.
        long[] values = {0, 1, 1_500, 2_000, 90_000, 120_000, 7_200_000, 5_400_000, 172_800_000, 2_147_483_647};
        try (Connection connection = db.connect(); Statement statement = connection.createStatement()) {
            for (long value : values) {
                statement.execute("SET lock_timeout = " + value);
                String shown;
                long setting;
                try (ResultSet row = statement.executeQuery("SELECT current_setting('lock_timeout'), setting::bigint"
                        + " FROM pg_settings WHERE name = 'lock_timeout'")) {
                    row.next();
                    shown = row.getString(1);
                    setting = row.getLong(2);
                }
                assertThat(setting).isEqualTo(value);
                assertThat(SessionTimeouts.millis(shown)).as(shown).isEqualTo(value);
            }
        }
    }

    @Test
    void aConnectionIsAskedOnceAndItsLimitsAreBoth(TestDatabase db) throws Exception {
        try (Connection connection = db.connect(); Statement statement = connection.createStatement()) {
            statement.execute("SET statement_timeout = '3s'; SET lock_timeout = '250ms'");

            assertThat(SessionTimeouts.of(connection)).isEqualTo(new SessionTimeouts.Limits(3_000, 250));
            assertThat(SessionTimeouts.of(connection).loosest()).isEqualTo(3_000);

            // What the session sets later with a plain SET is not seen: the limits were read once.
            statement.execute("SET statement_timeout = 0");
            assertThat(SessionTimeouts.of(connection).statementMillis()).isEqualTo(3_000);
        }
        try (Connection connection = db.connect()) {
            assertThat(SessionTimeouts.of(connection)).isEqualTo(new SessionTimeouts.Limits(0, 0));
            assertThat(SessionTimeouts.of(connection).loosest()).isEqualTo(Long.MAX_VALUE);
        }
    }
}
