package io.managedsession.micrometer;

import java.util.ArrayDeque;
import java.util.Deque;
import java.util.Objects;

import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationRegistry;

import io.managedsession.CompletedTransaction;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;

/**
 * One Micrometer {@link Observation} per transaction, named {@value #NAME}: with a tracing bridge (Brave,
 * OpenTelemetry) it becomes a span around the transaction, in scope while the transaction runs, so that spans of the
 * statements inside it nest under it. Low-cardinality key values: {@code name}, {@code label}, {@code propagation},
 * and at the end {@code outcome}; a failure is recorded as the observation's error.
 *
 * <pre>{@code new SessionManagerObservations(observationRegistry).observe(sessions);}</pre>
 */
public final class SessionManagerObservations implements TransactionObserver {

    /** The observation's name. */
    public static final String NAME = "managedsession.transaction";

    private final ObservationRegistry registry;
    // Transactions on one thread nest (REQUIRES_NEW), so their observations end in reverse order of their start.
    private final ThreadLocal<Deque<Observation.Scope>> open = new ThreadLocal<>();

    /**
     * Creates the observer.
     *
     * @param registry where the observations go
     */
    public SessionManagerObservations(ObservationRegistry registry) {
        this.registry = Objects.requireNonNull(registry, "registry");
    }

    /**
     * Starts observing the transactions of {@code sessions}.
     *
     * @param sessions the manager to observe
     * @return this observer
     */
    public SessionManagerObservations observe(SessionManager sessions) {
        sessions.addObserver(this);
        return this;
    }

    @Override
    public void transactionStarted(String managerName, TransactionOptions options) {
        Observation observation = Observation.createNotStarted(NAME, registry)
                .contextualName("transaction " + options.label().orElse(managerName))
                .lowCardinalityKeyValue("name", managerName)
                .lowCardinalityKeyValue("label", options.label().orElse("none"))
                .lowCardinalityKeyValue("propagation", options.propagation().name())
                .start();
        Deque<Observation.Scope> scopes = open.get();
        if (scopes == null) {
            scopes = new ArrayDeque<>(2);
            open.set(scopes);
        }
        scopes.push(observation.openScope());
    }

    @Override
    public void transactionCompleted(CompletedTransaction transaction) {
        Deque<Observation.Scope> scopes = open.get();
        if (scopes == null || scopes.isEmpty()) {
            return;
        }
        Observation.Scope scope = scopes.pop();
        if (scopes.isEmpty()) {
            open.remove();
        }
        Observation observation = scope.getCurrentObservation();
        scope.close();
        observation.lowCardinalityKeyValue("outcome", SessionManagerMetrics.tagOf(transaction.outcome()));
        observation.lowCardinalityKeyValue("route", transaction.route().name().toLowerCase(java.util.Locale.ROOT));
        if (transaction.failure() != null) {
            observation.error(transaction.failure());
        }
        observation.stop();
    }
}
