package io.managedsession.micrometer;

import java.time.Duration;
import java.util.Locale;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.ConcurrentHashMap;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.metrics.micrometer.MicrometerMetricsTrackerFactory;

import io.micrometer.core.instrument.Counter;
import io.micrometer.core.instrument.Gauge;
import io.micrometer.core.instrument.MeterRegistry;
import io.micrometer.core.instrument.Tags;
import io.micrometer.core.instrument.Timer;
import io.micrometer.core.instrument.binder.MeterBinder;

import io.managedsession.CompletedTransaction;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionOutcome;

/**
 * Micrometer metrics of one {@link SessionManager}:
 * <ul>
 *   <li>{@value #TRANSACTIONS} (counter): transactions that began and ended, tagged {@code name}, {@code label},
 *       {@code outcome} ({@code commit}, {@code rollback}, {@code rollback_only}, {@code timeout},
 *       {@code commit_unknown}) and {@code route} ({@code primary}, {@code replica}, {@code primary_fallback}: see
 *       {@link io.managedsession.Route});</li>
 *   <li>{@value #DURATION} (timer, with p50/p95/p99): their duration, retries included, same tags;</li>
 *   <li>{@value #RETRIES} (counter): attempts that failed and were run again, tagged {@code name}, {@code label};</li>
 *   <li>{@value #ACTIVE} (gauge): transactions running now;</li>
 *   <li>{@value #ACQUIRE} (timer): time spent waiting for a pooled connection;</li>
 *   <li>and, for a pool the manager owns, HikariCP's own {@code hikaricp.connections.*} meters, through HikariCP's
 *       Micrometer tracker.</li>
 * </ul>
 * Transactions without a label are tagged {@code label=none}; labels should be few and fixed (a name per kind of unit
 * of work, not per request), since every label is a time series.
 *
 * <pre>{@code new SessionManagerMetrics(sessions).bindTo(registry);}</pre>
 *
 * <p>Needs {@code io.micrometer:micrometer-core} on the class path.
 */
public final class SessionManagerMetrics implements MeterBinder, TransactionObserver {

    /** Transactions by outcome. */
    public static final String TRANSACTIONS = "managedsession.transactions";
    /** Transaction durations. */
    public static final String DURATION = "managedsession.transaction.duration";
    /** Attempts run again. */
    public static final String RETRIES = "managedsession.transaction.retries";
    /** Transactions running now. */
    public static final String ACTIVE = "managedsession.transactions.active";
    /** Waiting for a connection. */
    public static final String ACQUIRE = "managedsession.connection.acquire";

    private static final String NO_LABEL = "none";

    private final SessionManager sessions;
    private final Tags tags;
    private final Map<String, Counter> outcomes = new ConcurrentHashMap<>();
    private final Map<String, Timer> durations = new ConcurrentHashMap<>();
    private final Map<String, Counter> retries = new ConcurrentHashMap<>();
    private volatile MeterRegistry registry;
    private volatile Timer acquire;

    /**
     * Prepares the metrics of {@code sessions}; nothing is measured until {@link #bindTo(MeterRegistry)}.
     *
     * @param sessions the manager to measure
     * @param extraTags tags added to every meter, beside {@code name}
     */
    public SessionManagerMetrics(SessionManager sessions, Tags extraTags) {
        this.sessions = Objects.requireNonNull(sessions, "sessions");
        this.tags = Tags.of("name", sessions.name()).and(Objects.requireNonNull(extraTags, "extraTags"));
    }

    /**
     * Prepares the metrics of {@code sessions}, tagged with its name.
     *
     * @param sessions the manager to measure
     */
    public SessionManagerMetrics(SessionManager sessions) {
        this(sessions, Tags.empty());
    }

    /**
     * Registers the meters and starts measuring. Call it once.
     *
     * @param registry where the meters go
     */
    @Override
    public void bindTo(MeterRegistry registry) {
        if (this.registry != null) {
            throw new IllegalStateException("SessionManagerMetrics of '" + sessions.name() + "' are bound already");
        }
        this.registry = registry;
        Gauge.builder(ACTIVE, sessions, SessionManager::activeTransactions)
                .description("Transactions running now (joined calls not counted)")
                .tags(tags).register(registry);
        acquire = Timer.builder(ACQUIRE).description("Time a transaction waited for a pooled connection")
                .tags(tags).register(registry);
        if (sessions.dataSource() instanceof HikariDataSource hikari && hikari.getMetricsTrackerFactory() == null
                && hikari.getMetricRegistry() == null) {
            hikari.setMetricsTrackerFactory(new MicrometerMetricsTrackerFactory(registry));
        }
        sessions.addObserver(this);
    }

    @Override
    public void connectionAcquired(String managerName, Duration waited) {
        acquire.record(waited);
    }

    @Override
    public void attemptFailed(String managerName, TransactionOptions options, int attempt, Throwable failure,
            boolean retrying) {
        if (retrying) {
            String label = options.label().orElse(NO_LABEL);
            retries.computeIfAbsent(label, l -> Counter.builder(RETRIES)
                    .description("Attempts that failed with a retryable error and were run again")
                    .tags(tags).tag("label", l).register(registry)).increment();
        }
    }

    @Override
    public void transactionCompleted(CompletedTransaction transaction) {
        String label = transaction.label() == null ? NO_LABEL : transaction.label();
        String outcome = tagOf(transaction.outcome());
        String route = transaction.route().name().toLowerCase(Locale.ROOT);
        String key = label + '\u0000' + outcome + '\u0000' + route;
        outcomes.computeIfAbsent(key, k -> Counter.builder(TRANSACTIONS)
                .description("Transactions that began and ended, by outcome and server")
                .tags(tags).tag("label", label).tag("outcome", outcome).tag("route", route).register(registry))
                .increment();
        durations.computeIfAbsent(key, k -> Timer.builder(DURATION)
                .description("Transaction duration, all attempts and backoffs included")
                .publishPercentiles(0.5, 0.95, 0.99)
                .tags(tags).tag("label", label).tag("outcome", outcome).tag("route", route).register(registry))
                .record(transaction.duration());
    }

    /** The {@code outcome} tag of an outcome: its name in lower case. */
    static String tagOf(TransactionOutcome outcome) {
        return outcome.name().toLowerCase(Locale.ROOT);
    }
}
