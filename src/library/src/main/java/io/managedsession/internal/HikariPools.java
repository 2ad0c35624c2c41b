package io.managedsession.internal;

import java.time.Duration;
import java.util.Locale;

import javax.sql.DataSource;

import org.postgresql.ds.PGSimpleDataSource;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;

import io.managedsession.ConnectionUnavailableException;

/** Builds the connections that a SessionManager owns when it is given a JDBC URL. */
public final class HikariPools {

    private HikariPools() {
    }

    /**
     * Opens the pool of a manager built from a JDBC URL, and its first connection, so that a wrong password or an
     * unreachable server fails here, within the connection timeout, with the database's own reason.
     */
    static HikariDataSource open(ManagerSettings settings) {
        return open(settings.name(), settings.jdbcUrl(), settings, settings.connectionTimeout(), 1);
    }

    /**
     * How long a replica's pool waits for a connection it must open: a replica that is down should be skipped within
     * this, not after the whole connection timeout (waiting for a busy pool is bounded by the admission semaphore).
     */
    static final Duration REPLICA_CONNECT_TIMEOUT = Duration.ofSeconds(1);

    /**
     * Opens the pool of read replica number {@code index} (from 0), with the primary's credentials and size. Unlike
     * the primary's, it starts even when the replica cannot be reached: the replica is then skipped until it can.
     */
    static HikariDataSource openReplica(ManagerSettings settings, int index) {
        Duration connectTimeout = settings.connectionTimeout().compareTo(REPLICA_CONNECT_TIMEOUT) < 0
                ? settings.connectionTimeout() : REPLICA_CONNECT_TIMEOUT;
        return open(settings.replicaName(index), settings.replicaUrls().get(index), settings, connectTimeout, -1);
    }

    /**
     * The connections Flyway uses at start, as the migration role when one is set, else as the pool's user; see
     * {@link #unpooled}.
     */
    static DataSource forMigrations(ManagerSettings settings) {
        boolean ownRole = settings.migrationUsername() != null;
        return unpooled(settings.name() + "-migrations", settings.jdbcUrl(),
                ownRole ? settings.migrationUsername() : settings.username(),
                ownRole ? settings.migrationPassword() : settings.password(), settings.connectionTimeout(),
                settings.transactionPooler());
    }

    /**
     * @param initializationFailTimeout HikariCP's: 1 to fail at once when the first connection fails, -1 to start
     *                                  anyway
     */
    private static HikariDataSource open(String poolName, String jdbcUrl, ManagerSettings settings,
            Duration connectionTimeout, long initializationFailTimeout) {
        String username = settings.username();
        String password = settings.password();
        int maximumPoolSize = settings.maximumPoolSize();
        Duration socketTimeout = settings.socketTimeout();
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        // The driver logs the URL it connects with: a password inside it moves to the connection properties.
        String urlPassword = JdbcUrls.password(jdbcUrl);
        config.setJdbcUrl(JdbcUrls.withoutPassword(jdbcUrl));
        config.setUsername(username);
        config.setPassword(password != null ? password : urlPassword);
        config.setMaximumPoolSize(maximumPoolSize);
        config.setMinimumIdle(maximumPoolSize);
        config.setConnectionTimeout(connectionTimeout.toMillis());
        // The primary fails at build time when the database cannot be reached, after one attempt, rather than at first
        // use; a replica's pool starts anyway.
        config.setInitializationFailTimeout(initializationFailTimeout);
        String lowerCaseUrl = jdbcUrl.toLowerCase(Locale.ROOT);
        // Shows which program holds a connection in pg_stat_activity, unless the URL says otherwise.
        if (!lowerCaseUrl.contains("applicationname=")) {
            config.addDataSourceProperty("ApplicationName", poolName);
        }
        // Bound the whole login (TCP connect, TLS, authentication) by the connection timeout: otherwise a server that
        // accepts the TCP connection and never answers holds the connecting thread forever. The driver takes
        // loginTimeout in seconds, fractions allowed; connectTimeout in whole seconds.
        if (!lowerCaseUrl.contains("logintimeout=")) {
            config.addDataSourceProperty("loginTimeout", String.valueOf(connectionTimeout.toMillis() / 1000.0));
        }
        if (socketTimeout != null && !lowerCaseUrl.contains("sockettimeout=")) {
            config.addDataSourceProperty("socketTimeout", String.valueOf(socketTimeoutSeconds(socketTimeout)));
        }
        if (!lowerCaseUrl.contains("connecttimeout=")) {
            config.addDataSourceProperty("connectTimeout",
                    String.valueOf(Math.max(1, (connectionTimeout.toMillis() + 999) / 1000)));
        }
        if (settings.transactionPooler() && !lowerCaseUrl.contains("preparethreshold=")) {
            config.addDataSourceProperty("prepareThreshold", "0");
        }
        PoolCustomization.apply(config, settings.poolConfiguration(), settings.transactionPooler());
        try {
            return new HikariDataSource(config);
        } catch (PoolInitializationException e) {
            Throwable reason = e.getCause() != null ? e.getCause() : e;
            throw new ConnectionUnavailableException("Could not connect to " + JdbcUrls.redact(jdbcUrl)
                    + (username == null ? "" : " as user '" + username + "'") + " within "
                    + connectionTimeout.toMillis() + " ms: " + reason.getMessage(), reason);
        }
    }

    /**
     * The driver's {@code socketTimeout} for {@code socketTimeout}: whole seconds, rounded up, at least one (the driver
     * reads 0 as no timeout).
     */
    public static long socketTimeoutSeconds(Duration socketTimeout) {
        return Math.max(1, (socketTimeout.toMillis() + 999) / 1000);
    }

    /**
     * An unpooled DataSource to the same database, for Flyway at startup and for the side connections that ask the
     * server about a failed transaction ({@link SideConnections}). Flyway holds two connections at once while
     * it migrates (one for its lock and history table, one for the migrations); taking them from the pool would
     * deadlock a pool of one, and would hold back connections the application needs.
     */
    static DataSource unpooled(String applicationName, String jdbcUrl, String username, String password,
            Duration connectionTimeout, boolean transactionPooler) {
        PGSimpleDataSource dataSource = new PGSimpleDataSource();
        dataSource.setURL(JdbcUrls.withoutPassword(jdbcUrl));
        if (username != null) {
            dataSource.setUser(username);
        }
        String effectivePassword = password != null ? password : JdbcUrls.password(jdbcUrl);
        if (effectivePassword != null) {
            dataSource.setPassword(effectivePassword);
        }
        if (!jdbcUrl.toLowerCase(Locale.ROOT).contains("applicationname=")) {
            dataSource.setApplicationName(applicationName);
        }
        dataSource.setLoginTimeout((int) Math.max(1, (connectionTimeout.toMillis() + 999) / 1000));
        if (transactionPooler && !jdbcUrl.toLowerCase(Locale.ROOT).contains("preparethreshold=")) {
            dataSource.setPrepareThreshold(0);
        }
        return dataSource;
    }
}
