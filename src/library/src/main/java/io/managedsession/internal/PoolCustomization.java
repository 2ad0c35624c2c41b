package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.function.Consumer;
import java.util.function.Function;

import com.zaxxer.hikari.HikariConfig;

/**
 * Runs the user's {@code poolConfiguration} on an owned pool's configuration and refuses changes to what the manager
 * owns: the connections it was told to make, the pool's size and wait (its connection queue has one place per
 * connection and waits that long), its name, the connection state each transaction sets and the pool restores, and
 * the driver properties it derives from its timeouts and credentials.
 */
final class PoolCustomization {

    /** A HikariCP setting the manager owns, how to read it, and what to use instead. */
    private record Owned(String setting, Function<HikariConfig, Object> value, String instead, boolean secret) {
    }

    private static final String DATABASE = "jdbcUrl(...), username(...) and password(...), or dataSource(...) with a"
            + " pool of your own";

    private static final List<Owned> OWNED = List.of(
            new Owned("jdbcUrl", HikariConfig::getJdbcUrl, DATABASE, true),
            new Owned("username", HikariConfig::getUsername, DATABASE, false),
            new Owned("password", HikariConfig::getPassword, DATABASE, true),
            new Owned("dataSource", HikariConfig::getDataSource, DATABASE, false),
            new Owned("dataSourceClassName", HikariConfig::getDataSourceClassName, DATABASE, false),
            new Owned("driverClassName", HikariConfig::getDriverClassName, DATABASE, false),
            new Owned("dataSourceJNDI", HikariConfig::getDataSourceJNDI, DATABASE, false),
            new Owned("maximumPoolSize", HikariConfig::getMaximumPoolSize, "maximumPoolSize(...): each connection is"
                    + " one place in the manager's connection queue", false),
            new Owned("connectionTimeout", HikariConfig::getConnectionTimeout, "connectionTimeout(...): the manager's"
                    + " connection queue waits that long", false),
            new Owned("poolName", HikariConfig::getPoolName, "name(...)", false),
            new Owned("autoCommit", HikariConfig::isAutoCommit, "nothing: each transaction turns it off and the pool"
                    + " turns it on again", false),
            new Owned("readOnly", HikariConfig::isReadOnly, "TransactionOptions.readOnly(true), or replicaUrls(...)",
                    false),
            new Owned("transactionIsolation", HikariConfig::getTransactionIsolation,
                    "TransactionOptions.isolation(...), or default_transaction_isolation on the server", false),
            new Owned("initializationFailTimeout", HikariConfig::getInitializationFailTimeout, "nothing: build()"
                    + " connects once and fails within the connection timeout", false));

    /**
     * A driver property the manager sets from its own settings, and what to use instead. A customizer that set one
     * would silently undo a builder setting (the driver takes the data source properties over the pool's username
     * and timeouts), or contradict the URL (whose parameters the driver takes over the properties).
     */
    private record OwnedProperty(String name, String instead, boolean secret) {
    }

    private static final List<OwnedProperty> OWNED_PROPERTIES = List.of(
            new OwnedProperty("socketTimeout", "socketTimeout(...), or socketTimeout in jdbcUrl", false),
            new OwnedProperty("loginTimeout", "connectionTimeout(...), which bounds the whole login, or loginTimeout in"
                    + " jdbcUrl", false),
            new OwnedProperty("connectTimeout", "connectionTimeout(...), or connectTimeout in jdbcUrl", false),
            new OwnedProperty("user", DATABASE, false),
            new OwnedProperty("password", DATABASE, true));

    private PoolCustomization() {
    }

    /**
     * Runs {@code customizer} on {@code config}.
     *
     * @param transactionPooler whether the connections go through a pooler in transaction mode, where whatever a
     *                          connection's session keeps (settings, a schema, named prepared statements) lands on
     *                          the server connection that happened to run it
     * @throws IllegalStateException naming each owned setting the customizer changed and what to use instead (never
     *                               a password's or a URL's value), and behind a transaction pooler the session state
     *                               it asked for
     */
    static void apply(HikariConfig config, Consumer<? super HikariConfig> customizer, boolean transactionPooler) {
        String poolName = config.getPoolName();
        Object[] before = OWNED.stream().map(owned -> owned.value().apply(config)).toArray();
        String[] propertiesBefore = OWNED_PROPERTIES.stream().map(owned -> property(config, owned))
                .toArray(String[]::new);
        customizer.accept(config);
        List<String> refused = new ArrayList<>();
        for (int i = 0; i < OWNED.size(); i++) {
            Owned owned = OWNED.get(i);
            Object after = owned.value().apply(config);
            if (!Objects.equals(before[i], after)) {
                refused.add(owned.setting() + (owned.secret() ? "" : " (from " + before[i] + " to " + after + ")")
                        + ", which the manager owns: use " + owned.instead());
            }
        }
        for (int i = 0; i < OWNED_PROPERTIES.size(); i++) {
            OwnedProperty owned = OWNED_PROPERTIES.get(i);
            String after = property(config, owned);
            if (!Objects.equals(propertiesBefore[i], after)) {
                refused.add("the data source property " + owned.name() + (owned.secret() ? ""
                        : " (from " + orUnset(propertiesBefore[i]) + " to " + orUnset(after) + ")")
                        + ", which the manager owns: use " + owned.instead());
            }
        }
        if (transactionPooler) {
            refused.addAll(sessionState(config));
        }
        if (!refused.isEmpty()) {
            throw new IllegalStateException("poolConfiguration of the HikariCP pool '" + poolName + "' set "
                    + String.join("; ", refused));
        }
    }

    private static String property(HikariConfig config, OwnedProperty owned) {
        Object value = config.getDataSourceProperties().get(owned.name());
        return value == null ? null : String.valueOf(value);
    }

    private static String orUnset(String value) {
        return value == null ? "unset" : value;
    }

    /** What a connection's session would keep, which a pooler in transaction mode does not carry over. */
    private static List<String> sessionState(HikariConfig config) {
        String lost = " (behind a pooler in transaction mode, transactionPooler(true), the next transaction may run on"
                + " another server connection, which does not have it): ";
        List<String> refused = new ArrayList<>();
        if (config.getConnectionInitSql() != null) {
            refused.add("connectionInitSql" + lost + "give the role or the database the settings instead (ALTER ROLE"
                    + " ... SET ...)");
        }
        if (config.getSchema() != null) {
            refused.add("schema" + lost + "give the role a search_path instead (ALTER ROLE ... SET search_path ...)");
        }
        Object threshold = config.getDataSourceProperties().get("prepareThreshold");
        if (threshold != null && !"0".equals(String.valueOf(threshold))) {
            refused.add("prepareThreshold=" + threshold + lost + "named server-side prepared statements; leave it"
                    + " at 0");
        }
        return refused;
    }
}
