package io.managedsession;

import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Bank;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * Hostile values where the library takes them: a manager's name, a transaction's label, a URL, migration locations.
 * Each is refused at once with a message that names it (control characters shown as {@code ?}), or, where it reaches
 * the server, quoted; none is executed as SQL.
 */
@DatabaseTest(migrations = Bank.MIGRATIONS)
class HostileSettingsTest {

    private static final String INJECTION = "x'; DROP TABLE accounts; --";

    private final TestDatabase db;

    HostileSettingsTest(TestDatabase db) {
        this.db = db;
    }

    @AfterEach
    void schemaIsIntact() {
        assertThat(queryLong(db, "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'"
                + " AND table_name IN ('accounts', 'transfers', 'entries')")).as("no hostile value ran as SQL")
                .isEqualTo(3);
    }

    @Test
    void hostileLabelIsQuotedNotExecutedWhenItBecomesTheApplicationName() {
        try (SessionManager labelled = Managers.on(db).name("hostile").labelInApplicationName(true).build()) {
            String applicationName = labelled.transactionResult(TransactionOptions.builder().label(INJECTION).build(),
                    ctx -> String.valueOf(ctx.fetchValue("SELECT current_setting('application_name')")));

            assertThat(applicationName).isEqualTo("hostile/" + INJECTION);
        }
    }

    @Test
    void namesAndLabelsMustBePrintableAsciiAndShortAndSaySo() {
        assertThatThrownBy(() -> SessionManager.builder().name("pool\u0000name"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("printable ASCII")
                .hasMessageContaining("'pool?name'");
        assertThatThrownBy(() -> SessionManager.builder().name("n".repeat(64)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("(64 characters)");
        assertThatThrownBy(() -> TransactionOptions.builder().label("漢字"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("printable ASCII");
        assertThatThrownBy(() -> TransactionOptions.builder().label("line\nbreak"))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("'line?break'");
    }

    @Test
    void hostileUrlAndMigrationLocationAreRefusedClearly() {
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl(INJECTION))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("jdbc:postgresql:");
        assertThatThrownBy(() -> Managers.on(db).migrateOnStart(true)
                .migrationLocations("classpath:db/migration" + INJECTION).build())
                .isInstanceOf(SessionException.class).hasMessageContaining("did not start");
    }
}
