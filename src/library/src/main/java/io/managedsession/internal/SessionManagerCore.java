package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;

import javax.sql.DataSource;

import org.jooq.Configuration;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;

/**
 * The running parts of one {@link SessionManager}: its connections, the runner of its transactions, the count of
 * those in flight and its instrumentation. {@link #start} wires them from the builder's settings (opening an owned
 * pool and migrating first); {@link #close} takes them down in order.
 *
 * <p>Thread safety: shared by all threads of the manager; its parts are thread safe and fixed once started.
 */
public final class SessionManagerCore {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final ManagerSettings settings;
    private final DataSource dataSource;
    private final List<DataSource> replicaDataSources;
    private final InFlightTransactions inFlight;
    private final Instrumentation instrumentation;
    private final TransactionRunner runner;
    private final AtomicBoolean closing = new AtomicBoolean();

    private SessionManagerCore(ManagerSettings settings, Configuration jooq, DataSource dataSource,
            List<DataSource> replicaDataSources) {
        this.settings = settings;
        this.dataSource = dataSource;
        this.replicaDataSources = replicaDataSources;
        this.inFlight = new InFlightTransactions(settings.name());
        this.instrumentation = new Instrumentation(settings.name(), settings.slowTransactionThreshold(),
                settings.leakDetectionThreshold());
        List<ServerRouter.Replica> replicas = new ArrayList<>();
        for (int i = 0; i < replicaDataSources.size(); i++) {
            String replicaName = settings.replicaName(i);
            PooledConnections connections = connectionsOf(replicaDataSources.get(i), settings, replicaName);
            ReplicaHealth health = new ReplicaHealth(settings.name(), replicaName);
            connections.onConnectFailure(health::unreachable);
            replicas.add(new ServerRouter.Replica(replicaName, connections, health));
        }
        SideConnections side = SideConnections.to(settings, dataSource);
        ServerRouter router = new ServerRouter(connectionsOf(dataSource, settings, null), replicas,
                settings.replicaCatchUpTimeout());
        this.runner = new TransactionRunner(jooq,
                router, inFlight, settings.name(), instrumentation, settings.labelInApplicationName(),
                new CommitOutcomeResolver(side, settings.connectionTimeout()), settings.resolveCommitOutcomes(),
                settings.lockDiagnostics() ? new LockDiagnostics(side) : null);
        if (router.hasReplicas()) {
            ServerRouter.logStart(settings.name(), router.replicaNames(), settings.replicaCatchUpTimeout());
        }
    }

    /** The connections of one server: an owned pool gets admission control, a DataSource passed in is used as is. */
    private static PooledConnections connectionsOf(DataSource source, ManagerSettings settings, String replicaName) {
        return source instanceof HikariDataSource owned && settings.ownsPool()
                ? PooledConnections.owned(owned, settings.name(), replicaName, settings.maximumPoolSize(),
                        settings.fairConnectionQueue(), settings.connectionTimeout())
                : PooledConnections.of(source, settings.name(), replicaName);
    }

    /**
     * Opens the connections (failing within the connection timeout when the database cannot be reached), runs the
     * migrations when asked, and wires the rest. On failure nothing is left open.
     *
     * @throws io.managedsession.ConnectionUnavailableException when the database cannot be reached
     * @throws io.managedsession.SessionException               when a migration fails
     */
    public static SessionManagerCore start(ManagerSettings settings) {
        // First, as it needs no database: a customizer that is refused then fails a start that has opened nothing.
        Configuration jooq = JooqCustomization.configuration(settings);
        DataSource dataSource = settings.ownsPool() ? HikariPools.open(settings) : settings.dataSource();
        List<DataSource> replicas = new ArrayList<>();
        try {
            if (settings.transactionPooler() && !settings.ownsPool()) {
                PoolerCompatibility.requireNoServerPreparedStatements(dataSource, settings.name());
            }
            // The replicas' pools before the migrations, which commit: a pool that cannot be opened (the user's
            // poolConfiguration refused) then fails a start that has changed nothing.
            for (int i = 0; i < settings.replicaUrls().size(); i++) {
                replicas.add(HikariPools.openReplica(settings, i));
            }
            replicas.addAll(settings.replicaDataSources());
            if (settings.migrateOnStart()) {
                DataSource migrations = settings.ownsPool() ? HikariPools.forMigrations(settings) : dataSource;
                Migrations.migrate(migrations, settings.migrationLocations(), settings.migrationConfiguration(),
                        settings.migrationLockTimeout(), settings.name());
            }
            SessionManagerCore core = new SessionManagerCore(settings, jooq, dataSource, List.copyOf(replicas));
            log.debug("Started {}", settings.describe());
            return core;
        } catch (RuntimeException | Error e) {
            closeIfOwned(settings, dataSource, replicas);
            throw e;
        }
    }

    /** Runs the manager's transactions. */
    public TransactionRunner runner() {
        return runner;
    }

    /** The DataSource transactions take their connections from: the owned pool or the one passed in. */
    public DataSource dataSource() {
        return dataSource;
    }

    /** Registers an observer of the manager's transactions. */
    public void addObserver(TransactionObserver observer) {
        instrumentation.addObserver(observer);
    }

    /** How many transactions that began are running now. */
    public int activeTransactions() {
        return inFlight.running();
    }

    /** Whether {@link #close()} has been called. */
    public boolean isClosed() {
        return closing.get();
    }

    /**
     * Refuses new transactions, waits up to the close timeout for the running ones, then closes an owned pool. Only
     * the first call does anything.
     *
     * @throws IllegalStateException when called from inside one of the manager's own transactions
     */
    public void close() {
        if (runner.inTransaction()) {
            throw new IllegalStateException("SessionManager '" + settings.name() + "' cannot be closed from inside"
                    + " one of its own transactions: close() would wait for the transaction that calls it");
        }
        if (!closing.compareAndSet(false, true)) {
            return;
        }
        try {
            if (!inFlight.closeAndAwait(settings.closeTimeout())) {
                log.warn("SessionManager '{}' closed with {} transaction(s) still running after waiting {} ms; their"
                        + " connections are closed with the pool and they will fail", settings.name(),
                        inFlight.running(), settings.closeTimeout().toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            log.warn("SessionManager '{}' was interrupted while waiting for {} running transaction(s); closing now",
                    settings.name(), inFlight.running());
        } finally {
            instrumentation.close();
            closeIfOwned(settings, dataSource, replicaDataSources);
            log.debug("Closed {}", settings.describe());
        }
    }

    /**
     * Closes the pools the manager opened, the primary's and the replicas': with a JDBC URL every pool is its own (replica
     * DataSources go only with a DataSource, which it never closes).
     */
    private static void closeIfOwned(ManagerSettings settings, DataSource dataSource, List<DataSource> replicas) {
        if (settings.ownsPool()) {
            for (DataSource replica : replicas) {
                if (replica instanceof HikariDataSource hikari) {
                    hikari.close();
                }
            }
            if (dataSource instanceof HikariDataSource hikari) {
                hikari.close();
            }
        }
    }
}
