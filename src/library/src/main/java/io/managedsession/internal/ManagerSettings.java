package io.managedsession.internal;

import java.time.Duration;
import java.util.List;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jooq.ExecuteListenerProvider;
import org.jooq.conf.Settings;
import org.jooq.impl.DefaultConfiguration;

import com.zaxxer.hikari.HikariConfig;

/**
 * What a {@code SessionManager.Builder} was told, checked and complete: the input of {@link SessionManagerCore#start}.
 *
 * @param name                     the manager's name, also its pool's and its connections' {@code application_name}
 * @param jdbcUrl                  the URL of an owned pool, or {@code null} with {@code dataSource}
 * @param username                 the owned pool's user, or {@code null}
 * @param password                 the owned pool's password, or {@code null}; never printed
 * @param dataSource               a DataSource passed in, or {@code null} for an owned pool
 * @param maximumPoolSize          the owned pool's size
 * @param connectionTimeout        how long a transaction waits for a connection; also bounds the login
 * @param closeTimeout             how long {@code close()} waits for running transactions
 * @param socketTimeout            the owned pool's read timeout, or {@code null} for none
 * @param fairConnectionQueue      whether an owned pool admits transactions first come, first served
 * @param migrateOnStart           whether Flyway runs at start
 * @param migrationLocations       Flyway's locations
 * @param migrationUsername        the role Flyway runs as, or {@code null} for the pool's
 * @param migrationPassword        its password, or {@code null}; never printed
 * @param migrationLockTimeout     how long a migration's statement waits for a lock; zero for as long as it takes
 * @param migrationConfiguration   the user's adjustments of Flyway's configuration
 * @param poolConfiguration        the user's adjustments of each owned HikariCP pool's configuration
 * @param jooqSettings             jOOQ settings of every transaction's {@code DSLContext}, a copy of the user's
 * @param executeListeners         jOOQ execute listeners of every transaction's {@code DSLContext}; empty for none
 * @param jooqConfiguration        the user's adjustments of the jOOQ configuration every transaction's
 *                                 {@code DSLContext} reads, or {@code null} for none
 * @param slowTransactionThreshold transactions slower than this are logged at WARN, or {@code null}
 * @param leakDetectionThreshold   transactions open longer than this are reported, or {@code null}
 * @param labelInApplicationName   whether a labelled transaction shows its label in {@code pg_stat_activity}
 * @param replicaUrls              the URLs of read replicas, each with an owned pool; empty for none
 * @param replicaDataSources       read replicas passed in as DataSources; empty for none
 * @param replicaCatchUpTimeout    how long a read waits for a replica to replay the commit it must see
 * @param transactionPooler        whether connections go through a pooler in transaction mode (PgBouncer)
 * @param resolveCommitOutcomes    whether transactions whose options do not say resolve a COMMIT whose connection
 *                                 failed by asking the server
 * @param lockDiagnostics          whether a lock or statement timeout and a deadlock name the blocking backends
 */
public record ManagerSettings(String name, String jdbcUrl, String username, String password, DataSource dataSource,
        int maximumPoolSize, Duration connectionTimeout, Duration closeTimeout, Duration socketTimeout,
        boolean fairConnectionQueue, boolean migrateOnStart, List<String> migrationLocations,
        String migrationUsername, String migrationPassword, Duration migrationLockTimeout,
        Consumer<? super FluentConfiguration> migrationConfiguration, Consumer<? super HikariConfig> poolConfiguration,
        Settings jooqSettings, List<ExecuteListenerProvider> executeListeners,
        Consumer<? super DefaultConfiguration> jooqConfiguration,
        Duration slowTransactionThreshold, Duration leakDetectionThreshold, boolean labelInApplicationName,
        List<String> replicaUrls,
        List<DataSource> replicaDataSources, Duration replicaCatchUpTimeout, boolean transactionPooler,
        boolean resolveCommitOutcomes, boolean lockDiagnostics) {

    /** The name of replica number {@code index} (from 0), which also names its owned pool. */
    public String replicaName(int index) {
        return name + "-replica-" + (index + 1);
    }

    /** How many read replicas there are. */
    public int replicaCount() {
        return replicaUrls.size() + replicaDataSources.size();
    }

    /** Whether the manager builds, and closes, a pool of its own. */
    public boolean ownsPool() {
        return dataSource == null;
    }

    /** Describes the manager as its {@code toString} does: without any password. */
    public String describe() {
        String replicas = replicaUrls.isEmpty() ? "" : ", replicaUrls=" + replicaUrls.stream().map(JdbcUrls::redact)
                .toList();
        if (!replicaDataSources.isEmpty()) {
            replicas = ", replicaDataSources=" + replicaDataSources.size();
        }
        String pooler = transactionPooler ? ", transactionPooler" : "";
        if (ownsPool()) {
            return "SessionManager[name=" + name + ", url=" + JdbcUrls.redact(jdbcUrl) + ", username=" + username
                    + ", maximumPoolSize=" + maximumPoolSize + replicas + pooler + "]";
        }
        return "SessionManager[name=" + name + ", dataSource=" + dataSource.getClass().getName() + replicas + pooler
                + "]";
    }

    /** The settings without any password (a record would print them all). */
    @Override
    public String toString() {
        return "ManagerSettings[" + describe() + (migrationUsername == null ? "" : ", migrationUsername="
                + migrationUsername) + "]";
    }
}
