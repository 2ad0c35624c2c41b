package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;

import org.jooq.Table;
import org.jooq.VisitContext;
import org.jooq.VisitListener;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.impl.DSL;
import org.jooq.impl.DefaultConfiguration;
import org.jooq.impl.DefaultVisitListenerProvider;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.SessionManager;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The service's own jOOQ configuration, given with jooqConfiguration as a Spring Boot service gives its
 * DefaultConfigurationCustomizer: an access log of the tables each statement names reaches every transaction, the
 * service's prepared statements ask for the DSL on such a manager instead of running SQL the log did not see, and a
 * customizer that points jOOQ at connections of its own stops the start before the schema is touched.
 */
@DatabaseTest(migrations = {}, perTest = true)
class TodoJooqSettingsTest {

    /** The service's access log: the tables its statements name. */
    static final class TablesTouched implements VisitListener {
        final Set<String> tables = Collections.synchronizedSet(new TreeSet<>());

        @Override
        public void visitEnd(VisitContext context) {
            if (context.queryPart() instanceof Table<?> table && context.renderContext() != null) {
                tables.add(table.getName());
            }
        }
    }

    /** How the service configures jOOQ: its access log, and names quoted only where they must be. */
    static void serviceJooq(DefaultConfiguration jooq, TablesTouched log) {
        jooq.set(new DefaultVisitListenerProvider(log));
        jooq.settings().setRenderQuotedNames(RenderQuotedNames.EXPLICIT_DEFAULT_UNQUOTED);
    }

    @Test
    void theServicesVisitListenerSeesEveryTransactionAndItsPreparedStatementsAskForTheDsl(TestDatabase database) {
        TablesTouched log = new TablesTouched();
        try (SessionManager sessions = database.sessionManagerBuilder().migrateOnStart(true)
                .jooqConfiguration(jooq -> serviceJooq(jooq, log)).build()) {
            long id = sessions.transactionResult(tx -> Todos.add(tx, "water the plants"));
            sessions.transaction(tx -> Todos.complete(tx, id));
            assertEquals(List.of(), sessions.transactionResult(Todos::open));
            assertEquals(Set.of("todos"), log.tables);

            IllegalStateException refused = assertThrows(IllegalStateException.class,
                    () -> sessions.transactionResult(tx -> Todos.title(tx, id)));
            assertTrue(refused.getMessage().contains("cannot run on a DSLContext with VisitListeners"),
                    refused.getMessage());
            assertEquals(Optional.of("water the plants"), sessions.transactionResult(
                    tx -> tx.select(Todos.TITLE).from(Todos.TODOS).where(Todos.ID.eq(id)).fetchOptional(Todos.TITLE)));
            String sql = sessions.transactionResult(tx -> tx.render(tx.selectFrom(DSL.table(DSL.name("todos")))));
            assertEquals("select * from todos", sql, "the service's settings: names unquoted");
            database.assertNothingLeaked(sessions);
        }
    }

    @Test
    void aCustomizerThatGivesJooqConnectionsOfItsOwnStopsTheStartAndLeavesTheSchemaAlone(TestDatabase database)
            throws Exception {
        PGSimpleDataSource elsewhere = new PGSimpleDataSource();
        elsewhere.setURL(database.jdbcUrl());
        IllegalStateException refused = assertThrows(IllegalStateException.class, () -> database
                .sessionManagerBuilder().migrateOnStart(true)
                .jooqConfiguration(jooq -> {
                    serviceJooq(jooq, new TablesTouched());
                    jooq.set(elsewhere);
                }).build());

        assertTrue(refused.getMessage().contains("set a connection provider, which the manager owns: each"
                + " transaction's DSLContext runs on that transaction's connection"), refused.getMessage());
        assertEquals(0, TodoPoolSettingsTest.publicTables(database), "no migration ran, not even Flyway's history"
                + " table");
    }
}
