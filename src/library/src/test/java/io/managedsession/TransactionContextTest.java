package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.name;
import static org.jooq.impl.DSL.table;

import java.sql.Connection;
import java.sql.Statement;
import java.util.concurrent.atomic.AtomicReference;

import org.jooq.Configuration;
import org.jooq.DSLContext;
import org.jooq.SQLDialect;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.conf.Settings;
import org.jooq.impl.DefaultConnectionProvider;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The {@code DSLContext} a transaction hands out behaves as jOOQ's own copy of a configuration would, though it
 * shares the manager's: what a transaction changes stays with it, and whatever jOOQ derives from it runs on the
 * transaction's connection.
 */
@DatabaseTest(migrations = {})
class TransactionContextTest {

    private static long backend(DSLContext ctx) {
        return ctx.fetchOne("SELECT pg_backend_pid()").get(0, Long.class);
    }

    @Test
    void settingsChangedInOneTransactionStayInIt(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            var query = org.jooq.impl.DSL.select(field(name("t", "x"))).from(table(name("t")));
            String changed = sessions.transactionResult(ctx -> {
                ctx.configuration().set(new Settings().withRenderQuotedNames(RenderQuotedNames.NEVER));
                long before = backend(ctx);
                // still the transaction's connection after the change
                assertThat(backend(ctx)).isEqualTo(before);
                return ctx.render(query);
            });
            String next = sessions.transactionResult(ctx -> ctx.render(query));
            assertThat(changed).isEqualTo("select t.x from t");
            assertThat(next).isEqualTo("select \"t\".\"x\" from \"t\"");
        }
    }

    @Test
    void dataPutInOneTransactionIsNotSeenByTheNext(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).build()) {
            Object seenInside = sessions.transactionResult(ctx -> {
                ctx.data("tenant", "acme");
                ctx.configuration().data("flag", true);
                return ctx.data("tenant") + "/" + ctx.configuration().data("flag");
            });
            Object seenNext = sessions.transactionResult(ctx -> ctx.data("tenant") + "/" + ctx.configuration()
                    .data("flag"));
            assertThat(seenInside).isEqualTo("acme/true");
            assertThat(seenNext).isEqualTo("null/null");
        }
    }

    @Test
    void whatJooqDerivesFromTheTransactionRunsOnItsConnection(TestDatabase db) {
        execute(db, "DROP TABLE IF EXISTS gadgets", "CREATE TABLE gadgets (id int PRIMARY KEY)");
        try (SessionManager sessions = Managers.on(db).build()) {
            sessions.transaction(ctx -> {
                long own = backend(ctx);
                Configuration derived = ctx.configuration().derive(new Settings().withRenderFormatted(true));
                assertThat(backend(derived.dsl())).isEqualTo(own);
                assertThat(derived.settings().isRenderFormatted()).isTrue();
                assertThat(ctx.settings().isRenderFormatted()).as("the transaction's own").isFalse();
                assertThat(backend(ctx.configuration().derive().dsl())).isEqualTo(own);
                // jOOQ's meta data lookups take the transaction's connection too: they see its uncommitted table.
                ctx.execute("CREATE TABLE widgets (id int)");
                assertThat(ctx.meta().getTables("widgets")).hasSize(1);
                assertThat(ctx.meta().getTables("gadgets")).hasSize(1);
                ctx.execute("INSERT INTO gadgets VALUES (1), (2)");
                // records made by jOOQ's mappers are attached to the transaction: they can be stored in it
                var gadget = ctx.selectFrom(table(name("gadgets"))).where(field(name("id")).eq(1)).fetchOne();
                assertThat(gadget.configuration()).isNotNull();
                assertThat(backend(gadget.configuration().dsl())).isEqualTo(own);
            });
        }
    }

    @Test
    void jooqsParsingAndDiagnosticsConnectionsRunInTheTransactionUnderItsRules(TestDatabase db) throws Exception {
        execute(db, "DROP TABLE IF EXISTS gadgets", "CREATE TABLE gadgets (id int PRIMARY KEY)");
        AtomicReference<Connection> kept = new AtomicReference<>();
        try (SessionManager sessions = Managers.on(db).build()) {
            // SQL of another dialect, translated by jOOQ's parser, as a migration from MySQL runs its old queries.
            Throwable failed = catchThrowable(() -> sessions.transaction(ctx -> {
                Connection parsing = ctx.configuration().derive(new Settings().withParseDialect(SQLDialect.MYSQL))
                        .dsl().parsingConnection();
                kept.set(parsing);
                try (Statement statement = parsing.createStatement()) {
                    statement.executeUpdate("INSERT INTO `gadgets` (`id`) VALUES (1)");
                }
                assertThat(ctx.fetchCount(table(name("gadgets")))).as("the transaction sees it").isEqualTo(1);
                assertThatThrownBy(parsing::commit).isInstanceOf(UnsupportedOperationException.class)
                        .hasMessageStartingWith("Connection.commit() is not allowed on a connection managed by"
                                + " SessionManager");
                throw new IllegalStateException("the block gives up");
            }));
            int committed = sessions.transactionResult(ctx -> {
                try (Statement statement = ctx.diagnosticsConnection().createStatement()) {
                    statement.executeUpdate("INSERT INTO gadgets (id) VALUES (2)");
                }
                return ctx.fetchCount(table(name("gadgets")));
            });

            assertThat(failed).hasMessage("the block gives up");
            assertThat(committed).as("the first block's row rolled back with it").isEqualTo(1);
            assertThatThrownBy(() -> kept.get().createStatement().execute("SELECT 1"))
                    .as("a parsing connection kept beyond its transaction")
                    .isInstanceOf(IllegalStateException.class)
                    .hasMessageContaining("that has already ended (rolled back)");
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aConfigurationDerivedWithAnotherConnectionUsesItAndInheritsTheTransactionsData(TestDatabase db)
            throws Exception {
        try (SessionManager sessions = Managers.on(db).build();
             Connection other = db.connect()) {
            long otherBackend = backend(org.jooq.impl.DSL.using(other));
            sessions.transaction(ctx -> {
                ctx.configuration().data("tenant", "acme");
                Configuration elsewhere = ctx.configuration().derive(new DefaultConnectionProvider(other));
                assertThat(backend(elsewhere.dsl())).isEqualTo(otherBackend).isNotEqualTo(backend(ctx));
                assertThat(elsewhere.data("tenant")).isEqualTo("acme");
                elsewhere.data("tenant", "globex");
                assertThat(ctx.configuration().data("tenant")).isEqualTo("acme");
                // and the transaction's own configuration still runs on the transaction's connection
                assertThat(ctx.configuration().connectionProvider()).isNotInstanceOf(DefaultConnectionProvider.class);
            });
        }
    }
}
