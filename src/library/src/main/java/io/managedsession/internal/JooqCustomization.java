package io.managedsession.internal;

import java.sql.Connection;
import java.util.ArrayList;
import java.util.List;

import org.jooq.Configuration;
import org.jooq.ConnectionProvider;
import org.jooq.ExecuteListenerProvider;
import org.jooq.SQLDialect;
import org.jooq.TransactionContext;
import org.jooq.TransactionProvider;
import org.jooq.conf.Settings;
import org.jooq.impl.DefaultConfiguration;

/**
 * Makes the manager's jOOQ configuration, which every transaction's {@code DSLContext} reads: the PostgreSQL dialect,
 * a copy of the builder's settings, its execute listeners, and then whatever the user's {@code jooqConfiguration}
 * adds, except changes to what the manager owns: where connections come from (each transaction's own, through its
 * gate), who runs transactions (the manager, with savepoints for jOOQ's nested ones), and the dialect.
 *
 * <p>While the customizer runs, the configuration holds a connection provider and a transaction provider of this
 * class's own: a customizer that sets others replaces them, which is how a change is seen (jOOQ makes its defaults
 * anew on every ask, so comparing with them would not tell), and one that tries to run a statement is told why it
 * cannot. They are taken out again before the configuration is used.
 */
final class JooqCustomization {

    private static final String NO_STATEMENTS = "The manager's jOOQ configuration runs no statements while"
            + " jooqConfiguration(...) customizes it: transactions run them once the manager is built";

    /** Stands for the transactions' connections while the customizer runs. */
    private static final class TransactionsConnections implements ConnectionProvider {
        @Override
        public Connection acquire() {
            throw new IllegalStateException(NO_STATEMENTS);
        }

        @Override
        public void release(Connection connection) {
        }
    }

    /** Stands for the manager's transactions while the customizer runs. */
    private static final class ManagersTransactions implements TransactionProvider {
        @Override
        public void begin(TransactionContext ctx) {
            throw new IllegalStateException(NO_STATEMENTS);
        }

        @Override
        public void commit(TransactionContext ctx) {
            throw new IllegalStateException(NO_STATEMENTS);
        }

        @Override
        public void rollback(TransactionContext ctx) {
            throw new IllegalStateException(NO_STATEMENTS);
        }
    }

    private JooqCustomization() {
    }

    /**
     * The manager's jOOQ configuration, as its settings describe it.
     *
     * @throws IllegalStateException naming each owned part the customizer changed and what to use instead
     */
    static Configuration configuration(ManagerSettings settings) {
        DefaultConfiguration configuration = new DefaultConfiguration();
        configuration.set(SQLDialect.POSTGRES);
        configuration.set(settings.jooqSettings() != null ? settings.jooqSettings() : new Settings());
        configuration.set(settings.executeListeners().toArray(ExecuteListenerProvider[]::new));
        if (settings.jooqConfiguration() == null) {
            return configuration;
        }
        ConnectionProvider connections = new TransactionsConnections();
        TransactionProvider transactions = new ManagersTransactions();
        configuration.set(connections);
        configuration.set(transactions);
        Class<?> noConnectionFactory = configuration.connectionFactory().getClass();
        settings.jooqConfiguration().accept(configuration);

        List<String> refused = new ArrayList<>();
        if (configuration.connectionProvider() != connections) {
            refused.add("a connection provider, which the manager owns: each transaction's DSLContext runs on that"
                    + " transaction's connection; give the database to jdbcUrl(...) or dataSource(...)");
        } else if (configuration.systemConnectionProvider() != connections) {
            refused.add("a system connection provider, which the manager owns: jOOQ's meta data lookups run on the"
                    + " transaction's connection");
        }
        if (configuration.transactionProvider() != transactions) {
            refused.add("a transaction provider, which the manager owns: the transactions are the SessionManager's,"
                    + " and ctx.transaction(...) inside one makes a savepoint");
        }
        if (configuration.connectionFactory().getClass() != noConnectionFactory) {
            refused.add("an R2DBC ConnectionFactory, which the manager does not use: its transactions run on JDBC"
                    + " connections, and a reactive statement would run outside them");
        }
        SQLDialect dialect = configuration.dialect();
        if (dialect == null || dialect.family() != SQLDialect.POSTGRES) {
            refused.add("the dialect " + dialect + ", which the manager owns: it runs on PostgreSQL ("
                    + SQLDialect.POSTGRES + ")");
        }
        if (configuration.transactionListenerProviders().length > 0) {
            refused.add("TransactionListeners, which would see only the savepoints of ctx.transaction(...), not the"
                    + " manager's transactions: use SessionManager.afterCommit(...), afterRollback(...) or"
                    + " addObserver(...)");
        }
        if (!refused.isEmpty()) {
            throw new IllegalStateException("jooqConfiguration of SessionManager '" + settings.name() + "' set "
                    + String.join("; ", refused));
        }
        configuration.set((ConnectionProvider) null);
        configuration.set((TransactionProvider) null);
        // A copy the customizer holds no reference to: what it does with its configuration after build() (keeping
        // it in a field, say) cannot reach the transactions, which share this one without locking.
        return configuration.derive();
    }
}
