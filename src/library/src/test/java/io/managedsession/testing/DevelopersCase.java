package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.support.Bank;

/**
 * An ordinary test class of a developer's, run in a JVM of its own by {@link SeparateTestRun}: it writes through its
 * manager, reads back through its context, and tells the parent its server's URL, its database's name, where the
 * server came from, the database's collation and the server's version number, separated by spaces.
 */
@DatabaseTest(migrations = Bank.MIGRATIONS)
class DevelopersCase {

    @Test
    void opensAnAccount(SessionManager sessions, DSLContext ctx, TestDatabase database) {
        sessions.transaction(tx -> Bank.open(tx, "developer", 10));
        assertThat(ctx.fetchCount(DSL.table("accounts"))).isEqualTo(1);
        String collation = ctx.fetchValue(DSL.field("(SELECT datcollate FROM pg_database"
                + " WHERE datname = current_database())", String.class));
        String version = ctx.fetchValue(DSL.field("current_setting('server_version_num')", String.class));
        SeparateTestRun.tell(database.server().jdbcUrl() + " " + database.name() + " " + database.server().origin()
                + " " + collation + " " + version);
    }
}
