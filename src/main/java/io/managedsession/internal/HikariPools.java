package io.managedsession.internal;

import java.time.Duration;

import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.pool.HikariPool.PoolInitializationException;

import io.managedsession.ConnectionUnavailableException;

/** Builds the HikariCP pool that a SessionManager owns when it is given a JDBC URL. */
public final class HikariPools {

    private HikariPools() {
    }

    /**
     * Opens a pool and its first connection, so that a wrong password or an unreachable server fails here, within
     * {@code connectionTimeout}, with the database's own reason.
     */
    public static HikariDataSource open(String poolName, String jdbcUrl, String username, String password,
            int maximumPoolSize, Duration connectionTimeout) {
        HikariConfig config = new HikariConfig();
        config.setPoolName(poolName);
        config.setJdbcUrl(jdbcUrl);
        config.setUsername(username);
        config.setPassword(password);
        config.setMaximumPoolSize(maximumPoolSize);
        config.setMinimumIdle(maximumPoolSize);
        config.setConnectionTimeout(connectionTimeout.toMillis());
        // Fail at build time when the database cannot be reached, after one attempt, rather than at first use.
        config.setInitializationFailTimeout(1);
        // Shows which program holds a connection in pg_stat_activity, unless the URL says otherwise.
        if (!jdbcUrl.toLowerCase(java.util.Locale.ROOT).contains("applicationname=")) {
            config.addDataSourceProperty("ApplicationName", poolName);
        }
        try {
            return new HikariDataSource(config);
        } catch (PoolInitializationException e) {
            Throwable reason = e.getCause() != null ? e.getCause() : e;
            throw new ConnectionUnavailableException("Could not connect to " + JdbcUrls.redact(jdbcUrl)
                    + (username == null ? "" : " as user '" + username + "'") + " within "
                    + connectionTimeout.toMillis() + " ms: " + reason.getMessage(), reason);
        }
    }
}
