package io.managedsession;

import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.Objects;
import java.util.Optional;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.function.Consumer;

import javax.sql.DataSource;

import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.jooq.DSLContext;
import org.jooq.ExecuteListenerProvider;
import org.jooq.conf.Settings;
import org.jooq.conf.SettingsTools;
import org.jooq.impl.DefaultConfiguration;

import com.zaxxer.hikari.HikariConfig;

import io.managedsession.internal.HikariPools;
import io.managedsession.internal.JdbcUrls;
import io.managedsession.internal.ManagerSettings;
import io.managedsession.internal.PrintableAscii;
import io.managedsession.internal.RequiredModules;
import io.managedsession.internal.SessionManagerCore;
import io.managedsession.internal.SupportedVersions;
import io.managedsession.internal.TestSupport;
import io.managedsession.internal.TransactionRunner;

// This file is longer than most: the class itself is the public API and delegates every call, and its Builder
// documents each setting where users read it (units, defaults, bounds). The wiring behind build() lives in
// internal.SessionManagerCore, the transactions in internal.TransactionRunner.

/**
 * Runs jOOQ work in PostgreSQL transactions, one safe way from any thread.
 *
 * <pre>{@code
 * try (SessionManager sessions = SessionManager.builder()
 *         .jdbcUrl(url).username(user).password(password)
 *         .migrateOnStart(true)
 *         .build()) {
 *     long id = sessions.transactionResult(ctx -> Accounts.open(ctx, "alice", 100_00));
 * }
 * }</pre>
 *
 * <p>A transaction commits when its callback returns and rolls back when the callback throws anything; the very
 * exception the callback threw reaches the caller, checked or not, never wrapped. The connection always goes back to
 * the pool. A transaction belongs to the thread that started it: code that calls {@code transaction} or
 * {@code transactionResult} again on that thread, while the transaction runs, joins it (same connection, no second
 * pool checkout). If such a joined block throws and the outer block swallows the exception, the transaction is rolled
 * back at its end and {@link RollbackOnlyException} is thrown instead of a silent commit.
 *
 * <p>Beyond one server: with {@link Builder#replicaUrls(String...) read replicas}, read-only transactions run on a
 * replica and everything else on the primary, and {@link #lastCommitPosition()} with
 * {@link TransactionOptions.Builder#notBefore(CommitPosition)} gives read-your-writes; a multi-host URL with
 * {@code targetServerType=primary} follows a failover, transactions that lost their connection before COMMIT running
 * again when their options allow; {@link Builder#transactionPooler(boolean)} fits a PgBouncer in transaction mode.
 *
 * <p>Knowing what happened: with {@link Builder#resolveCommitOutcomes(boolean)}, a COMMIT whose connection failed is
 * resolved by asking the server, so that {@link CommitOutcomeUnknownException} remains only when it cannot be asked in
 * time; a statement that fails on a lock timeout, a deadline or a deadlock names the backends that blocked it
 * ({@link Builder#lockDiagnostics(boolean)}, on by default).
 *
 * <p>Logging: everything the manager logs goes to the SLF4J logger {@code io.managedsession.SessionManager}.
 *
 * <p>Thread safety: one {@code SessionManager} serves all threads of an application, platform or virtual. The
 * {@code DSLContext} handed to a callback, however, belongs to that callback's thread and transaction: using it from
 * another thread, or after the transaction ended, fails with an {@link IllegalStateException}.
 */
public final class SessionManager implements AutoCloseable {

    private static final AtomicInteger instances = new AtomicInteger();

    static {
        // Rollback mode of @DatabaseTest holds a transaction open across JUnit's calls, which no public method does.
        TestSupport.runnersFrom(manager -> manager.runner);
    }

    private final String name;
    private final String description;
    private final SessionManagerCore core;
    private final TransactionRunner runner;

    private SessionManager(ManagerSettings settings, SessionManagerCore core) {
        this.name = settings.name();
        this.description = settings.describe();
        this.core = core;
        this.runner = core.runner();
    }

    /**
     * Starts configuring a SessionManager.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Runs {@code callback} in a transaction and returns its result, with the {@linkplain TransactionOptions#defaults()
     * default options}.
     *
     * <p>When this thread is already running a transaction of this manager, the callback joins it; otherwise a
     * connection is taken from the pool, a transaction begins, and it commits when the callback returns or rolls back
     * when it throws.
     *
     * @param callback the unit of work; it receives the transaction's {@code DSLContext}
     * @param <T>      the result type
     * @param <X>      the checked exception the callback may throw
     * @return what the callback returned, after the transaction committed
     * @throws X                              the callback's own exception, unchanged, after rollback
     * @throws RollbackOnlyException          when a joined block failed, or a statement failed, and the callback
     *                                        returned normally
     * @throws CommitOutcomeUnknownException  when the connection failed during COMMIT
     * @throws ConnectionUnavailableException when no connection could be had within the connection timeout
     * @throws SessionException               when the manager is closed, or the thread was interrupted
     * @throws org.jooq.exception.DataAccessException when COMMIT fails (for example a deferred constraint)
     */
    public <T, X extends Exception> T transactionResult(TransactionCallback<T, X> callback) throws X {
        Objects.requireNonNull(callback, "callback");
        return runner.run(TransactionOptions.defaults(), callback);
    }

    /**
     * Runs {@code callback} in a transaction as {@code options} say, and returns its result.
     *
     * <p>With {@link TransactionOptions#maxAttempts()} above one, <b>the callback may run more than once</b>: a
     * retryable failure rolls the transaction back and the callback runs again from the start in a new transaction.
     * It must then be safe to repeat: no side effects outside the database (register them with
     * {@link #afterCommit(Runnable)}), no state carried over from a failed attempt. The exception finally thrown
     * carries the earlier attempts' failures as {@linkplain Throwable#getSuppressed() suppressed} exceptions.
     *
     * @param options  propagation, isolation, read-only, deadline, retries
     * @param callback the unit of work; it receives the transaction's {@code DSLContext}
     * @param <T>      the result type
     * @param <X>      the checked exception the callback may throw
     * @return what the callback returned, after the transaction committed (or, when joining, after the callback)
     * @throws X                            the callback's own exception, unchanged, after rollback
     * @throws NoTransactionException       for {@link Propagation#MANDATORY} when no transaction is running
     * @throws TransactionTimeoutException  when the transaction ran past its deadline; nothing was committed
     * @throws SessionException             when a call that joins a running transaction asks for other isolation
     *                                      or access mode than it has, naming both
     * @see #transactionResult(TransactionCallback) for the other exceptions
     */
    public <T, X extends Exception> T transactionResult(TransactionOptions options, TransactionCallback<T, X> callback)
            throws X {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(callback, "callback");
        return runner.run(options, callback);
    }

    /**
     * Runs {@code consumer} in a transaction with the default options; see
     * {@link #transactionResult(TransactionCallback)}.
     *
     * @param consumer the unit of work; it receives the transaction's {@code DSLContext}
     * @param <X>      the checked exception the consumer may throw
     * @throws X the consumer's own exception, unchanged, after rollback
     */
    public <X extends Exception> void transaction(TransactionConsumer<X> consumer) throws X {
        transaction(TransactionOptions.defaults(), consumer);
    }

    /**
     * Runs {@code consumer} in a transaction as {@code options} say; see
     * {@link #transactionResult(TransactionOptions, TransactionCallback)}, including its warning that with retries
     * the consumer may run more than once.
     *
     * @param options  propagation, isolation, read-only, deadline, retries
     * @param consumer the unit of work; it receives the transaction's {@code DSLContext}
     * @param <X>      the checked exception the consumer may throw
     * @throws X the consumer's own exception, unchanged, after rollback
     */
    public <X extends Exception> void transaction(TransactionOptions options, TransactionConsumer<X> consumer)
            throws X {
        Objects.requireNonNull(options, "options");
        Objects.requireNonNull(consumer, "consumer");
        runner.run(options, ctx -> {
            consumer.run(ctx);
            return null;
        });
    }

    /**
     * Registers an action to run once after the transaction this thread is running commits: after the outcome is
     * final, the connection is back in the pool and the thread is out of the transaction. Use it for side effects
     * that must not happen unless the data is committed (messages, caches, e-mails). Actions run in the order
     * registered, on the committing thread. An action that throws (an exception, or an {@code Error} such as a
     * {@code NoClassDefFoundError}) is logged at WARN (logger {@code io.managedsession.SessionManager}) and
     * does not undo the commit; the remaining actions still run and the caller still receives the transaction's
     * result. Only the JVM's own errors ({@link VirtualMachineError}) propagate, and the commit stands. An attempt
     * that is rolled back and retried drops the actions it registered; the attempt that commits registers its own.
     * An action registered inside a savepoint ({@link Propagation#NESTED}) that is rolled back is dropped: the work it
     * would follow was undone.
     *
     * @param action what to run after the commit
     * @throws NoTransactionException when this thread runs no transaction of this manager
     */
    public void afterCommit(Runnable action) {
        runner.afterCommit(Objects.requireNonNull(action, "action"));
    }

    /**
     * Registers an action to run once after the transaction this thread is running rolls back, including a rolled
     * back attempt that is then retried. It runs after the connection is back in the pool, before the exception
     * reaches the caller; an action that throws is attached to that exception as a
     * {@linkplain Throwable#getSuppressed() suppressed} exception. An action registered inside a savepoint
     * ({@link Propagation#NESTED}) that is rolled back runs when the transaction ends, whatever its outcome: that part
     * of the work certainly rolled back. When the connection fails during COMMIT the outcome is unknown and no other
     * afterCommit or afterRollback action runs (a WARN says so).
     *
     * @param action what to run after the rollback
     * @throws NoTransactionException when this thread runs no transaction of this manager
     */
    public void afterRollback(Runnable action) {
        runner.afterRollback(Objects.requireNonNull(action, "action"));
    }

    /**
     * Returns one {@code DSLContext} that runs each statement in the transaction the calling thread is running, for
     * code that holds a context longer than a transaction: a repository or a generated DAO made once
     * ({@code new AuthorDao(sessions.dsl().configuration())}), a dependency-injection container's singleton. It works
     * in whichever transaction of this manager calls it, on that transaction's connection and under its checks, as
     * SQLAlchemy's {@code scoped_session} resolves to the thread's session; a {@code transaction(...)} of jOOQ's on it
     * is a savepoint of that transaction, and records fetched through it can be stored in a later transaction. On a
     * thread that runs no transaction of this manager (jOOQ's asynchronous forms run on another thread) each statement
     * is refused with {@link NoTransactionException}: it never runs outside a transaction.
     *
     * <p>Its configuration is the manager's, shared by every thread: change settings or data for one transaction on
     * that transaction's own {@code DSLContext}, not on this one.
     *
     * @return the same context on every call
     */
    public DSLContext dsl() {
        return runner.currentTransactionDsl();
    }

    /**
     * Returns a {@code DataSource} whose connections are the calling thread's current transaction's, as
     * {@link #dsl()} is a {@code DSLContext} that runs in it: for JDBC code and libraries that take a
     * {@code DataSource} (a DAO of plain JDBC, a scheduler's or an outbox's tables), so that what they write inside
     * {@code transaction(...)} commits and rolls back with the rest of the block. Give it to them once; each
     * {@code getConnection()} hands out the connection of the transaction the calling thread runs then (the new one
     * inside a {@link Propagation#REQUIRES_NEW} block), under the same checks as the block's own: its thread, its end,
     * its deadline, SQL that would outlive it. Its {@code close()} leaves the connection to the transaction, and
     * {@code commit()}, {@code rollback()} and {@code setAutoCommit(..)} are refused: the block ends the transaction by
     * returning or throwing. On a thread that runs no transaction of this manager {@code getConnection()} throws
     * {@link NoTransactionException}, never falling back to a connection of its own that would commit each statement:
     * take one of {@link #dataSource()} where that is meant.
     *
     * @return the same DataSource on every call
     */
    public DataSource transactionalDataSource() {
        return runner.currentTransactionDataSource();
    }

    /**
     * Returns the {@code DSLContext} of the transaction this thread is running, so helper code can join it without a
     * parameter.
     *
     * @return the current transaction's {@code DSLContext}, or empty outside a transaction of this manager
     */
    public Optional<DSLContext> current() {
        return runner.current();
    }

    /**
     * Returns where the last read-write transaction that this thread committed through this manager stands in the
     * primary's write-ahead log: the token of read-your-writes. Pass it to
     * {@link TransactionOptions.Builder#notBefore(CommitPosition)} of a later read-only transaction (on this thread or
     * anywhere else, after carrying it as {@link CommitPosition#toString() text}) and that transaction sees the commit,
     * on a replica that has replayed it or else on the primary.
     *
     * <p>Only a manager with read replicas notes commit positions: one round trip after each read-write transaction's
     * COMMIT, on the same connection. Without replicas this is always empty.
     *
     * @return the position of this thread's last commit, or empty without replicas, before the first commit on this
     *         thread, or when reading the position failed (logged at WARN)
     */
    public Optional<CommitPosition> lastCommitPosition() {
        return runner.lastCommitPosition();
    }

    /**
     * Returns the DataSource the transactions take their connections from: the owned HikariCP pool, or the one
     * passed to {@link Builder#dataSource(DataSource)}. Meant for tools such as metrics and migrations; a connection
     * taken from it directly is not part of any managed transaction ({@link #transactionalDataSource()} hands out the
     * transaction's).
     *
     * @return the DataSource
     */
    public DataSource dataSource() {
        return core.dataSource();
    }

    /**
     * Returns the name of this manager, which is also the name of its owned pool.
     *
     * @return the name given to the builder, or {@code managed-session-N}
     */
    public String name() {
        return name;
    }

    /**
     * Closes the manager: new transactions are refused at once; transactions that have begun get up to the close
     * timeout to finish, the remaining attempts of one that is being retried included; then an owned pool is closed.
     * A DataSource passed to the builder is left open. Called from an afterCommit or afterRollback action, it does not
     * wait for that action's own transaction. Calling it again does nothing.
     *
     * @throws IllegalStateException when called from inside one of this manager's transactions, which would wait
     *                               for itself
     */
    @Override
    public void close() {
        core.close();
    }

    /**
     * Registers an observer of this manager's transactions, for metrics and tracing (see
     * {@code io.managedsession.micrometer.SessionManagerMetrics}). Observers are called on the transactions' threads
     * and must be quick; one that throws is logged and skipped.
     *
     * @param observer the observer
     */
    public void addObserver(TransactionObserver observer) {
        core.addObserver(Objects.requireNonNull(observer, "observer"));
    }

    /**
     * Returns how many transactions that began (not counting joined calls) are running now.
     *
     * @return the number of transactions in flight
     */
    public int activeTransactions() {
        return core.activeTransactions();
    }

    /**
     * Returns whether {@link #close()} has been called.
     *
     * @return {@code true} once closing has begun
     */
    public boolean isClosed() {
        return core.isClosed();
    }

    /** Describes the manager without any password. */
    @Override
    public String toString() {
        return description;
    }

    /**
     * Configures and builds a {@link SessionManager}. Each setter checks its argument at once and names the setting,
     * the value and the bound when it refuses one; {@link #build()} checks that the settings fit together.
     *
     * <p>A builder is not thread safe; the manager it builds is immutable in its configuration.
     */
    public static final class Builder {

        private static final Duration MINIMUM_CONNECTION_TIMEOUT = Duration.ofMillis(250);
        private static final int DEFAULT_POOL_SIZE = 10;

        private String name;
        private String jdbcUrl;
        private String username;
        private String password;
        private DataSource dataSource;
        /** {@code null} until set: {@link #build()} refuses a pool setting with a DataSource of the user's. */
        private Integer maximumPoolSize;
        private Duration connectionTimeout = Duration.ofSeconds(30);
        private Duration closeTimeout = Duration.ofSeconds(30);
        private boolean migrateOnStart;
        private List<String> migrationLocations = List.of("classpath:db/migration");
        private Duration migrationLockTimeout = Duration.ofSeconds(10);
        private Consumer<? super FluentConfiguration> migrationConfiguration = flyway -> { };
        private Consumer<? super HikariConfig> poolConfiguration;
        private Settings jooqSettings;
        private List<ExecuteListenerProvider> executeListeners = List.of();
        private Consumer<? super DefaultConfiguration> jooqConfiguration;
        private Duration slowTransactionThreshold;
        private Duration leakDetectionThreshold;
        private boolean labelInApplicationName;
        private Boolean fairConnectionQueue;
        private Duration socketTimeout;
        private String migrationUsername;
        private String migrationPassword;
        private List<String> replicaUrls = List.of();
        private List<DataSource> replicaDataSources = List.of();
        private Duration replicaCatchUpTimeout = Duration.ofMillis(500);
        private boolean transactionPooler;
        private boolean resolveCommitOutcomes;
        private boolean lockDiagnostics = true;

        private Builder() {
        }

        /**
         * Sets the JDBC URL of the PostgreSQL database; the manager then owns a HikariCP pool to it.
         *
         * @param jdbcUrl a URL starting with {@code jdbc:postgresql:}
         * @return this builder
         */
        public Builder jdbcUrl(String jdbcUrl) {
            Objects.requireNonNull(jdbcUrl, "jdbcUrl");
            if (!jdbcUrl.startsWith("jdbc:postgresql:")) {
                throw new IllegalArgumentException("jdbcUrl must be a PostgreSQL JDBC URL starting with"
                        + " 'jdbc:postgresql:', but was '" + JdbcUrls.redact(jdbcUrl) + "'");
            }
            this.jdbcUrl = jdbcUrl;
            return this;
        }

        /**
         * Sets the database user for the owned pool (and its replicas, and the migrations unless
         * {@link #migrationCredentials} names another). Give the user here or as the URL's {@code user} parameter:
         * {@link #build()} refuses a URL naming another user, since the driver would let the URL's win for the pool
         * and this one for the migrations.
         *
         * @param username the role name
         * @return this builder
         * @throws IllegalArgumentException when it is blank
         */
        public Builder username(String username) {
            this.username = requireUsername(username);
            return this;
        }

        private static String requireUsername(String username) {
            Objects.requireNonNull(username, "username");
            if (username.isBlank()) {
                throw new IllegalArgumentException("username must not be blank; leave it unset to connect as the user"
                        + " the JDBC URL names");
            }
            return username;
        }

        /**
         * Sets the password for the owned pool. It is never logged, nor shown by any message or {@code toString}.
         *
         * @param password the password
         * @return this builder
         */
        public Builder password(String password) {
            this.password = Objects.requireNonNull(password, "password");
            return this;
        }

        /**
         * Uses an existing DataSource (typically a pool the application already has) instead of a JDBC URL. The
         * manager never closes it.
         *
         * @param dataSource the DataSource to take connections from
         * @return this builder
         */
        public Builder dataSource(DataSource dataSource) {
            this.dataSource = Objects.requireNonNull(dataSource, "dataSource");
            return this;
        }

        /**
         * Adds read replicas (PostgreSQL streaming standbys) for read-only transactions. A transaction whose options
         * are {@linkplain TransactionOptions.Builder#readOnly(boolean) read-only} runs on a replica, the replicas
         * taking turns; every other transaction runs on the primary of {@link #jdbcUrl(String)}. A replica that cannot
         * be connected to within a second, or whose connection breaks, is skipped for five seconds, then tried again;
         * when none is up, read-only transactions run on the primary. Each replica gets a pool of its own, with the
         * primary's credentials, {@link #maximumPoolSize(int)} and timeouts, named {@code <name>-replica-N}; it
         * starts even when the replica is down. Only with {@link #jdbcUrl(String)}.
         *
         * <p>A replica may lag: without more, a read after a write can miss it. See {@link #lastCommitPosition()}
         * and {@link TransactionOptions.Builder#notBefore(CommitPosition)} for reads that must see a commit. A URL
         * with {@code targetServerType=secondary} keeps a replica pool off a server that was promoted.
         *
         * @param jdbcUrls one or more PostgreSQL JDBC URLs
         * @return this builder
         */
        public Builder replicaUrls(String... jdbcUrls) {
            Objects.requireNonNull(jdbcUrls, "jdbcUrls");
            if (jdbcUrls.length == 0) {
                throw new IllegalArgumentException("replicaUrls needs at least one URL");
            }
            for (int i = 0; i < jdbcUrls.length; i++) {
                if (jdbcUrls[i] == null || !jdbcUrls[i].startsWith("jdbc:postgresql:")) {
                    throw new IllegalArgumentException("replicaUrls[" + i + "] must be a PostgreSQL JDBC URL starting"
                            + " with 'jdbc:postgresql:', but was '" + (jdbcUrls[i] == null ? null
                                    : JdbcUrls.redact(jdbcUrls[i])) + "'");
                }
            }
            this.replicaUrls = List.of(jdbcUrls);
            return this;
        }

        /**
         * Adds read replicas as DataSources (pools the application already has), for read-only transactions, as
         * {@link #replicaUrls(String...)} says. The manager never closes them. Only with
         * {@link #dataSource(DataSource)}.
         *
         * @param dataSources one or more DataSources, each reaching a replica
         * @return this builder
         */
        public Builder replicaDataSources(DataSource... dataSources) {
            Objects.requireNonNull(dataSources, "dataSources");
            if (dataSources.length == 0) {
                throw new IllegalArgumentException("replicaDataSources needs at least one DataSource");
            }
            for (int i = 0; i < dataSources.length; i++) {
                Objects.requireNonNull(dataSources[i], "replicaDataSources[" + i + "]");
            }
            this.replicaDataSources = List.of(dataSources);
            return this;
        }

        /**
         * Sets how long a read-only transaction that must see a commit
         * ({@link TransactionOptions.Builder#notBefore(CommitPosition)}) waits for a replica to replay it before it
         * runs on the primary instead (default 500 milliseconds; never past the transaction's deadline). Meanwhile the
         * replica is asked again after 1 ms, then at most every 20 ms. Zero goes to the primary at once when the
         * replica is behind.
         *
         * @param timeout from zero to 1 minute
         * @return this builder
         */
        public Builder replicaCatchUpTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.compareTo(Duration.ofMinutes(1)) > 0) {
                throw new IllegalArgumentException("replicaCatchUpTimeout must be between 0 and 1 minute, but was "
                        + timeout.toMillis() + " ms");
            }
            this.replicaCatchUpTimeout = timeout;
            return this;
        }

        /**
         * Says that connections go through a pooler in transaction mode, such as PgBouncer with
         * {@code pool_mode = transaction}, where consecutive transactions of one connection may run on different
         * server connections (default {@code false}). The manager keeps all its own settings transaction-scoped
         * anyway; this also stops the driver's named server-side prepared statements ({@code prepareThreshold=0} on
         * the owned pools, unless a URL sets {@code prepareThreshold} itself), which the next server connection would
         * not know. With {@link #dataSource(DataSource)}, {@link #build()} checks that its connections do the same.
         * PgBouncer 1.21 and later can track prepared statements ({@code max_prepared_statements}); with such a
         * pooler this switch is not needed.
         *
         * @param transactionPooler whether a transaction-mode pooler is in between
         * @return this builder
         */
        public Builder transactionPooler(boolean transactionPooler) {
            this.transactionPooler = transactionPooler;
            return this;
        }

        /**
         * Whether a COMMIT whose connection fails while it is in flight is resolved by asking the server, for the
         * transactions whose options do not say otherwise (default {@code false}; see
         * {@link TransactionOptions.Builder#resolveCommitOutcome(boolean)}). It costs each read-write transaction one
         * round trip before COMMIT, to learn its transaction id; in exchange a lost COMMIT reply becomes the
         * callback's result when the server committed, or a retryable failure when it did not, and
         * {@link CommitOutcomeUnknownException} remains only when the server cannot be asked within the time left to
         * the deadline (the connection timeout when the transaction has none).
         *
         * @param resolve whether to ask the server
         * @return this builder
         */
        public Builder resolveCommitOutcomes(boolean resolve) {
            this.resolveCommitOutcomes = resolve;
            return this;
        }

        /**
         * Whether a statement that fails on a lock timeout, a deadline or a deadlock (SQLSTATE 55P03, 57014, 40P01)
         * names the backends that blocked it (default {@code true}): their pid, {@code application_name} (which
         * carries a transaction's label with {@link #labelInApplicationName(boolean)}), state, transaction age and
         * query, read over a separate connection within a short timeout and added to the exception's message and the
         * WARN line. It costs nothing until such a failure.
         *
         * @param enabled whether to look the blockers up
         * @return this builder
         */
        public Builder lockDiagnostics(boolean enabled) {
            this.lockDiagnostics = enabled;
            return this;
        }

        /**
         * Sets the size of the owned pool (default 10). Only with {@link #jdbcUrl(String)}: {@link #build()} refuses it
         * beside {@link #dataSource(DataSource)}, whose pool is yours to size.
         *
         * @param maximumPoolSize the number of connections, from 1 to 1,000
         * @return this builder
         */
        public Builder maximumPoolSize(int maximumPoolSize) {
            if (maximumPoolSize < 1 || maximumPoolSize > 1_000) {
                throw new IllegalArgumentException("maximumPoolSize must be between 1 and 1000, but was "
                        + maximumPoolSize);
            }
            this.maximumPoolSize = maximumPoolSize;
            return this;
        }

        /**
         * Sets how long a new transaction waits for a connection from the owned pool, and how long the first
         * connection at build time may take (default 30 seconds, at least 250 milliseconds). With
         * {@link #dataSource(DataSource)}, whose pool has its own, it only bounds how long
         * {@link #resolveCommitOutcomes(boolean)} may ask the server about a transaction without a deadline.
         *
         * @param connectionTimeout the timeout
         * @return this builder
         */
        public Builder connectionTimeout(Duration connectionTimeout) {
            Objects.requireNonNull(connectionTimeout, "connectionTimeout");
            if (connectionTimeout.compareTo(MINIMUM_CONNECTION_TIMEOUT) < 0) {
                throw new IllegalArgumentException("connectionTimeout must be at least 250 ms, but was "
                        + connectionTimeout.toMillis() + " ms");
            }
            this.connectionTimeout = connectionTimeout;
            return this;
        }

        /**
         * Sets how long any read from the server may wait before the connection is given up as broken (default:
         * forever, the driver's default). Guards against a network that goes silent without closing the
         * connection: every waiting call then fails within this time. Set it above your longest statement; a
         * transaction with a {@linkplain TransactionOptions.Builder#deadline(Duration) deadline} waits no longer than
         * its deadline plus a second, and never longer than this. Only with {@link #jdbcUrl(String)}; whole seconds,
         * rounded up. Give it here or as the URL's {@code socketTimeout} parameter (whole seconds): {@link #build()}
         * refuses a URL (or a replica's) with another value, which the driver would use instead of this one.
         *
         * @param socketTimeout at least 1 second
         * @return this builder
         */
        public Builder socketTimeout(Duration socketTimeout) {
            Objects.requireNonNull(socketTimeout, "socketTimeout");
            if (socketTimeout.toMillis() < 1_000) {
                throw new IllegalArgumentException("socketTimeout must be at least 1 s, but was "
                        + socketTimeout.toMillis() + " ms");
            }
            this.socketTimeout = socketTimeout;
            return this;
        }

        /**
         * Sets how long {@link SessionManager#close()} waits for running transactions before it closes the owned
         * pool anyway (default 30 seconds).
         *
         * @param closeTimeout the timeout; zero closes without waiting
         * @return this builder
         */
        public Builder closeTimeout(Duration closeTimeout) {
            Objects.requireNonNull(closeTimeout, "closeTimeout");
            if (closeTimeout.isNegative()) {
                throw new IllegalArgumentException("closeTimeout must not be negative, but was " + closeTimeout);
            }
            this.closeTimeout = closeTimeout;
            return this;
        }

        /**
         * Runs Flyway migrations in {@link #build()}, before the first transaction (default {@code false}). All
         * pending migrations are applied in one transaction: if one fails, {@code build()} throws with Flyway's
         * reason, closes the owned pool, and the schema stays as it was. Several managers starting at once on one
         * database apply each migration once (Flyway locks). With a JDBC URL, Flyway uses connections of its own
         * outside the pool; with {@link #dataSource(DataSource)}, it takes two at once from that DataSource. A
         * migration waits for a lock at most {@link #migrationLockTimeout(Duration)}. A migration that PostgreSQL
         * cannot run in a transaction ({@code CREATE INDEX CONCURRENTLY}) cannot share that one transaction, and
         * Flyway refuses a run that holds both kinds: turn Flyway's {@code group} off with
         * {@link #migrationConfiguration(Consumer)}, and each migration then commits by itself (a failed start
         * keeps the migrations before the failing one).
         *
         * @param migrateOnStart whether to migrate
         * @return this builder
         */
        public Builder migrateOnStart(boolean migrateOnStart) {
            this.migrateOnStart = migrateOnStart;
            return this;
        }

        /**
         * Runs the migrations as another role than the application's: a schema owner that may create and alter
         * tables, while the pool connects as {@link #username(String)}, a role that may only read and write rows.
         * Only with {@link #jdbcUrl(String)} and {@link #migrateOnStart(boolean)}.
         *
         * @param username the role that owns the schema
         * @param password its password, or {@code null} when the server does not ask for one
         * @return this builder
         */
        public Builder migrationCredentials(String username, String password) {
            this.migrationUsername = requireUsername(username);
            this.migrationPassword = password;
            return this;
        }

        /**
         * Sets where Flyway finds migrations (default {@code classpath:db/migration}).
         *
         * @param locations Flyway locations such as {@code classpath:db/migration} or {@code filesystem:/path}
         * @return this builder
         */
        public Builder migrationLocations(String... locations) {
            Objects.requireNonNull(locations, "locations");
            if (locations.length == 0) {
                throw new IllegalArgumentException("migrationLocations needs at least one location");
            }
            for (int i = 0; i < locations.length; i++) {
                if (locations[i] == null || locations[i].isBlank()) {
                    throw new IllegalArgumentException("migrationLocations[" + i + "] is blank");
                }
            }
            this.migrationLocations = List.of(locations);
            return this;
        }

        /**
         * Sets how long a statement of a migration run by {@link #migrateOnStart(boolean)} may wait for a lock before
         * the migration gives up (default 10 seconds): PostgreSQL's {@code lock_timeout}, set for the migrations'
         * transaction only. DDL such as {@code ALTER TABLE} needs its table to itself, so it waits for every
         * transaction that has touched the table, and while it waits, every later query on the table queues behind
         * it: when this release starts while the running one has a long transaction open (a rolling deploy), every
         * query on that table would stall until that transaction ends. With the timeout, {@link #build()} fails
         * instead, naming the transactions that held the tables, nothing is applied, and the queries that queued go
         * on; start again when they have ended. A migration that runs outside a transaction (one that PostgreSQL
         * cannot run in a transaction, such as {@code CREATE INDEX CONCURRENTLY}, or Flyway's
         * {@code executeInTransaction=false}) is not bounded by it.
         *
         * @param timeout the longest wait for one lock; zero waits as long as it takes
         * @return this builder
         */
        public Builder migrationLockTimeout(Duration timeout) {
            Objects.requireNonNull(timeout, "timeout");
            if (timeout.isNegative() || timeout.compareTo(Duration.ofMillis(Integer.MAX_VALUE)) > 0) {
                throw new IllegalArgumentException("migrationLockTimeout must be between 0 and "
                        + Integer.MAX_VALUE + " ms (PostgreSQL's lock_timeout), but was " + timeout);
            }
            this.migrationLockTimeout = timeout;
            return this;
        }

        /**
         * Adjusts Flyway's configuration for {@link #migrateOnStart(boolean)}, as a project's own Flyway setup does:
         * placeholders, schemas, the history table's name, a baseline for a database that predates Flyway, callbacks
         * of your own, Java migrations' packages, and so on. The customizer gets the configuration with the
         * library's defaults in place (the DataSource, {@link #migrationLocations(String...)}, {@code group(true)},
         * {@code failOnMissingLocations(true)}, {@code validateMigrationNaming(true)}) and may change any of them
         * but the DataSource: another DataSource or URL is refused by {@link #build()}, since the migrations run on
         * this manager's database ({@link #migrationCredentials(String, String)} gives them another role). So is
         * {@code mixed(true)} with {@code group(true)}: PostgreSQL would make a {@code CREATE INDEX CONCURRENTLY} wait
         * forever for the group's own transaction. {@code group(false)} runs each migration in a transaction of its
         * own, as Flyway does by default, for histories with migrations that cannot run in a transaction; a failed
         * start then keeps the migrations before the failing one. The library's own callback, which sets
         * {@link #migrationLockTimeout(Duration)}, is added to yours. Give {@code @DatabaseTest} the same adjustments
         * ({@code migrationConfiguration}), so that tests migrate as the application does.
         *
         * <pre>{@code
         * .migrationConfiguration(flyway -> flyway.placeholders(Map.of("region", "eu")).baselineOnMigrate(true))
         * }</pre>
         *
         * @param customizer called once per {@code build()}, on the thread that builds
         * @return this builder
         */
        public Builder migrationConfiguration(Consumer<? super FluentConfiguration> customizer) {
            this.migrationConfiguration = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        /**
         * Sets jOOQ settings for every transaction's {@code DSLContext}. The settings are copied; later changes to
         * the object have no effect. The copy is shared by every transaction, which reads it without copying it:
         * {@code ctx.settings()} returns it, so treat that as read-only, and change settings for one transaction with
         * {@code ctx.configuration().set(settings)} or {@code derive(settings)}, which stay with it.
         *
         * @param settings jOOQ settings
         * @return this builder
         */
        public Builder settings(Settings settings) {
            this.jooqSettings = SettingsTools.clone(Objects.requireNonNull(settings, "settings"));
            return this;
        }

        /**
         * Sets jOOQ {@code ExecuteListener}s for every transaction's {@code DSLContext}, replacing earlier ones: what
         * {@code DefaultConfiguration.set(ExecuteListenerProvider...)} does for a jOOQ configuration, for statement
         * logs, metrics or traces of every statement the manager's transactions run, with the DSL, plain SQL or a
         * {@link PreparedQuery} (which then runs through jOOQ, see there). A provider is asked for a listener for every
         * statement, so {@code executeListeners(MyListener::new)} gives each statement a listener of its own; a
         * listener shared through {@code new DefaultExecuteListenerProvider(listener)} is called from every thread
         * that runs a transaction. An exception a listener throws fails the statement, and the transaction rolls back
         * as for any failed statement.
         *
         * @param providers the listeners' providers, in the order jOOQ calls them
         * @return this builder
         */
        public Builder executeListeners(ExecuteListenerProvider... providers) {
            List<ExecuteListenerProvider> listeners = new ArrayList<>();
            for (ExecuteListenerProvider provider : Objects.requireNonNull(providers, "providers")) {
                listeners.add(Objects.requireNonNull(provider, "an execute listener provider is null"));
            }
            this.executeListeners = List.copyOf(listeners);
            return this;
        }

        /**
         * Adjusts the jOOQ configuration every transaction's {@code DSLContext} reads, as Spring Boot's
         * {@code DefaultConfigurationCustomizer} does: what the builder has no setter for, such as
         * {@code RecordListener}s (an audit column stamped on every insert), {@code VisitListener}s, a
         * {@code RecordMapperProvider} or {@code ConverterProvider} of your own, a {@code Clock}, an
         * {@code ExecutorProvider}, {@code DiagnosticsListener}s. The customizer runs once per {@link #build()}, on
         * the configuration the builder made, which already holds the PostgreSQL dialect, a copy of
         * {@link #settings(Settings)} and the {@link #executeListeners(ExecuteListenerProvider...)}, so it sees them
         * and may change them. What it leaves is copied when it returns: changes it makes to the configuration later
         * do not reach the transactions.
         *
         * <p>What the manager owns stays its own, and {@link #build()} refuses a customizer that changes it, before it
         * connects, naming what to use instead: the connection provider (a {@code DataSource}, {@code Connection} or
         * {@code ConnectionProvider}), the system connection provider, the transaction provider, an R2DBC
         * {@code ConnectionFactory}, a dialect other than PostgreSQL's, and {@code TransactionListener}s (they would
         * see only the savepoints of {@code ctx.transaction(...)}; use {@link SessionManager#afterCommit(Runnable)}
         * or {@link SessionManager#addObserver(TransactionObserver)}). A customizer that throws fails
         * {@code build()} with its exception, and nothing is opened.
         *
         * <pre>{@code
         * .jooqConfiguration(jooq -> jooq.set(new DefaultRecordListenerProvider(
         *         RecordListener.onInsertStart(ctx -> ctx.record().set(CREATED_BY, currentUser())))))
         * }</pre>
         *
         * <p>A {@link PreparedQuery} refuses to run on a context with {@code VisitListener}s, which may render its SQL
         * differently on each call; use the DSL on such a manager. Give the customizer's class to
         * {@code @DatabaseTest(jooqConfiguration = ...)} as well, and the tests' manager and {@code DSLContext} read
         * the same configuration.
         *
         * @param customizer called once on each {@code build()}, on the thread that builds
         * @return this builder
         */
        public Builder jooqConfiguration(Consumer<? super DefaultConfiguration> customizer) {
            this.jooqConfiguration = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        /**
         * Logs at WARN every transaction that takes longer than {@code threshold}, with its label, duration, attempts
         * and outcome (default: never).
         *
         * @param threshold at least 1 millisecond
         * @return this builder
         */
        public Builder slowTransactionThreshold(Duration threshold) {
            this.slowTransactionThreshold = positiveMillis(threshold, "slowTransactionThreshold");
            return this;
        }

        /**
         * Reports at WARN, once, a transaction still open after {@code threshold}, with the stack trace of where it
         * began; and at INFO when such a transaction ends after all (default: off). Capturing where each transaction
         * begins costs a stack trace per transaction, so keep it for finding the code that holds transactions open.
         *
         * @param threshold at least 1 millisecond
         * @return this builder
         */
        public Builder leakDetectionThreshold(Duration threshold) {
            this.leakDetectionThreshold = positiveMillis(threshold, "leakDetectionThreshold");
            return this;
        }

        /**
         * Makes a labelled transaction set {@code application_name} to {@code <manager name>/<label>} for its
         * duration ({@code SET LOCAL}, in the round trip that begins it), so that {@code pg_stat_activity} shows a DBA
         * which code holds a connection or a lock (default {@code false}).
         *
         * @param enabled whether to do it
         * @return this builder
         */
        public Builder labelInApplicationName(boolean enabled) {
            this.labelInApplicationName = enabled;
            return this;
        }

        /**
         * Whether transactions get connections from the owned pool first come, first served (default {@code true}).
         * HikariCP on its own hands a returned connection preferably to the thread that returned it: good for
         * throughput when there are more threads than connections, bad for the threads left waiting, whose tail
         * latency grows from milliseconds to seconds (the project's benchmarks measure both sides). The queue costs
         * nothing while no transaction waits; once they wait, each handoff wakes a parked thread, which with platform
         * threads costs throughput when the client's CPU is the limit (measured: up to about 15 % at 64 threads on 16
         * connections and 2 cores, more when the cores never idle) and little with virtual threads. Keep it on for
         * services that answer requests; turning it off can suit batch work. Only with {@link #jdbcUrl(String)}:
         * {@link #build()} refuses it beside {@link #dataSource(DataSource)}, whose pool orders its own waiters.
         *
         * @param fair whether to queue in arrival order
         * @return this builder
         */
        public Builder fairConnectionQueue(boolean fair) {
            this.fairConnectionQueue = fair;
            return this;
        }

        /**
         * Adjusts the owned HikariCP pools beyond what this builder sets, in the manner of Spring Boot's
         * {@code spring.datasource.hikari.*}: {@code maxLifetime} a little shorter than a proxy's or the server's
         * limit on a connection's age, {@code keepaliveTime} for a firewall that drops idle connections,
         * {@code minimumIdle} with {@code idleTimeout}, {@code connectionInitSql}, data source properties, a metrics
         * or health-check registry. The customizer runs on the manager's configuration of each owned pool (the
         * primary's, then each replica's) before the pool opens.
         *
         * <p>What the manager owns stays its own, and {@link #build()} refuses a customizer that changes it, naming
         * the setter to use instead: the database and credentials ({@code jdbcUrl}, {@code username},
         * {@code password}, a data source or driver class), {@code maximumPoolSize} (each connection is one place in
         * the manager's connection queue), {@code connectionTimeout}, {@code poolName}, {@code autoCommit},
         * {@code readOnly} and {@code transactionIsolation} (set per transaction by {@link TransactionOptions}),
         * {@code initializationFailTimeout}, and the driver properties it derives from its own settings
         * ({@code socketTimeout}, {@code loginTimeout}, {@code connectTimeout}, {@code user}, {@code password}).
         *
         * <pre>{@code
         * .poolConfiguration(pool -> {
         *     pool.setMaxLifetime(Duration.ofMinutes(9).toMillis());   // the proxy closes connections at 10
         *     pool.setKeepaliveTime(Duration.ofMinutes(2).toMillis());
         * })
         * }</pre>
         *
         * <p>Only with {@link #jdbcUrl(String)}: with {@link #dataSource(DataSource)} the pool is yours to configure.
         *
         * @param customizer called once per owned pool on each {@code build()}, on the thread that builds
         * @return this builder
         */
        public Builder poolConfiguration(Consumer<? super HikariConfig> customizer) {
            this.poolConfiguration = Objects.requireNonNull(customizer, "customizer");
            return this;
        }

        private static Duration positiveMillis(Duration value, String setting) {
            Objects.requireNonNull(value, setting);
            if (value.toMillis() < 1) {
                throw new IllegalArgumentException(setting + " must be at least 1 ms, but was " + value);
            }
            return value;
        }

        /**
         * Names the manager and its owned pool, as shown in logs, errors and {@code pg_stat_activity}
         * (default {@code managed-session-N}).
         *
         * @param name 1 to 63 printable ASCII characters
         * @return this builder
         */
        public Builder name(String name) {
            PrintableAscii.require(name, "name", 63, " (it names the pool and the connections' application_name)");
            this.name = name;
            return this;
        }

        /**
         * Builds the manager: opens the owned pool (failing within the connection timeout when the database cannot be
         * reached) and runs migrations when asked.
         *
         * @return a running SessionManager
         * @throws IllegalStateException          when the settings do not fit together, or a library the manager
         *                                        needs (jOOQ, HikariCP, SLF4J) is not there, with the
         *                                        {@code requires} lines that bring it on the module path, or jOOQ
         *                                        or Flyway is older than the library runs with (a dependency
         *                                        management's choice), naming the release to choose
         * @throws ConnectionUnavailableException when the database cannot be reached or refuses the login
         * @throws SessionException               when a migration fails
         */
        public SessionManager build() {
            RequiredModules.check();
            SupportedVersions.checkJooq();
            if (jdbcUrl == null && dataSource == null) {
                throw new IllegalStateException("SessionManager needs a database: set jdbcUrl(...) or dataSource(...)");
            }
            if (jdbcUrl != null && dataSource != null) {
                throw new IllegalStateException(
                        "SessionManager takes either jdbcUrl(...) or dataSource(...), not both");
            }
            if (jdbcUrl != null && password != null && JdbcUrls.password(jdbcUrl) != null) {
                throw new IllegalStateException("The password is given twice, in jdbcUrl(...) and by password(...);"
                        + " give it once");
            }
            if (username != null && jdbcUrl != null) {
                requireSameUser(JdbcUrls.user(jdbcUrl), "jdbcUrl(...)");
                replicaUrls.forEach(url -> requireSameUser(JdbcUrls.user(url), "replicaUrls(...)"));
            }
            if (migrationUsername != null && (jdbcUrl == null || !migrateOnStart)) {
                throw new IllegalStateException("migrationCredentials(...) applies to migrations run by"
                        + " migrateOnStart(true) on a jdbcUrl(...); with a DataSource, migrate it yourself");
            }
            if (!replicaUrls.isEmpty() && jdbcUrl == null) {
                throw new IllegalStateException("replicaUrls(...) go with jdbcUrl(...), whose credentials and pool"
                        + " settings they share; with dataSource(...), pass the replicas as replicaDataSources(...)");
            }
            if (!replicaDataSources.isEmpty() && dataSource == null) {
                throw new IllegalStateException("replicaDataSources(...) go with dataSource(...); with jdbcUrl(...),"
                        + " give the replicas as replicaUrls(...)");
            }
            if (dataSource != null) {
                requireNoOwnedPoolSettings();
            }
            if (jdbcUrl != null && socketTimeout != null) {
                requireSameSocketTimeout(jdbcUrl, "jdbcUrl(...)");
                replicaUrls.forEach(url -> requireSameSocketTimeout(url, "replicaUrls(...)"));
            }
            if (dataSource != null && (username != null || password != null)) {
                throw new IllegalStateException("username and password apply to the pool built from jdbcUrl(...);"
                        + " configure them on the DataSource passed to dataSource(...) instead");
            }
            ManagerSettings settings = new ManagerSettings(
                    name != null ? name : "managed-session-" + instances.incrementAndGet(), jdbcUrl, username,
                    password, dataSource, maximumPoolSize != null ? maximumPoolSize : DEFAULT_POOL_SIZE,
                    connectionTimeout, closeTimeout, socketTimeout, fairConnectionQueue != Boolean.FALSE,
                    migrateOnStart, migrationLocations, migrationUsername, migrationPassword, migrationLockTimeout,
                    migrationConfiguration,
                    poolConfiguration != null ? poolConfiguration : pool -> { }, jooqSettings, executeListeners,
                    jooqConfiguration, slowTransactionThreshold,
                    leakDetectionThreshold, labelInApplicationName,
                    replicaUrls, replicaDataSources, replicaCatchUpTimeout, transactionPooler, resolveCommitOutcomes,
                    lockDiagnostics);
            return new SessionManager(settings, SessionManagerCore.start(settings));
        }

        /**
         * Refuses a user in a URL other than {@link #username}: the pool's driver lets the URL's parameter win over the
         * user given as a property, the migrations' and side connections' DataSource the other way round, so they
         * would connect as two roles.
         */
        private void requireSameUser(String urlUser, String where) {
            if (urlUser != null && !urlUser.equals(username)) {
                throw new IllegalStateException("The user is given twice, as '" + urlUser + "' in " + where
                        + " and as '" + username + "' by username(...); the pool would connect as the first and the"
                        + " migrations as the second. Give it once");
            }
        }

        /**
         * Refuses the settings of the owned pool beside a DataSource of the user's, which they would never reach,
         * naming each one set.
         */
        private void requireNoOwnedPoolSettings() {
            List<String> set = new ArrayList<>();
            if (poolConfiguration != null) {
                set.add("poolConfiguration(...)");
            }
            if (maximumPoolSize != null) {
                set.add("maximumPoolSize(...)");
            }
            if (socketTimeout != null) {
                set.add("socketTimeout(...)");
            }
            if (fairConnectionQueue != null) {
                set.add("fairConnectionQueue(...)");
            }
            if (!set.isEmpty()) {
                String names = set.size() == 1 ? set.get(0)
                        : String.join(", ", set.subList(0, set.size() - 1)) + " and " + set.get(set.size() - 1);
                throw new IllegalStateException(names + (set.size() == 1 ? " applies" : " apply")
                        + " to the pool built from jdbcUrl(...); configure the DataSource passed to dataSource(...)"
                        + " yourself instead");
            }
        }

        /**
         * Refuses a {@code socketTimeout} parameter in a URL other than {@link #socketTimeout}'s whole seconds: the
         * driver lets the URL's win, so the builder's would silently not apply.
         */
        private void requireSameSocketTimeout(String url, String where) {
            String inUrl = JdbcUrls.parameter(url, "socketTimeout");
            long builderSeconds = HikariPools.socketTimeoutSeconds(socketTimeout);
            if (inUrl != null && !inUrl.strip().equals(String.valueOf(builderSeconds))) {
                // A value the driver cannot read is the driver's to refuse, as it is without socketTimeout(...).
                throw new IllegalStateException("The socket timeout is given twice, as " + inUrl.strip() + " s in "
                        + where + " and as " + builderSeconds + " s by socketTimeout(...); the driver would use the"
                        + " first. Give it once");
            }
        }

        /** Describes the builder without any password. */
        @Override
        public String toString() {
            return "SessionManager.Builder[url=" + JdbcUrls.redact(jdbcUrl) + (replicaUrls.isEmpty() ? ""
                    : ", replicaUrls=" + replicaUrls.stream().map(JdbcUrls::redact).toList()) + ", username=" + username
                    + ", password=" + (password == null ? "unset" : "***") + ", maximumPoolSize="
                    + (maximumPoolSize != null ? maximumPoolSize : DEFAULT_POOL_SIZE)
                    + (migrationUsername == null ? "" : ", migrationUsername=" + migrationUsername
                            + ", migrationPassword=" + (migrationPassword == null ? "unset" : "***"))
                    + "]";
        }
    }
}
