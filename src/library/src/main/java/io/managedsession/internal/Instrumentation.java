package io.managedsession.internal;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.TimeUnit;

import jdk.jfr.EventType;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.CompletedTransaction;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionOutcome;

/**
 * Everything a SessionManager reports about its transactions: SLF4J logs (DEBUG for begin and end with durations,
 * WARN for slow transactions), leak detection, a JDK Flight Recorder event per transaction, and the registered
 * {@link TransactionObserver}s. Costs next to nothing when none of these is on.
 */
final class Instrumentation {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final String managerName;
    private final Duration slowThreshold;
    private final LeakDetector leakDetector;
    private final List<TransactionObserver> observers = new CopyOnWriteArrayList<>();

    /**
     * @param slowThreshold          transactions longer than this are logged at WARN; {@code null} for never
     * @param leakDetectionThreshold transactions open longer than this are reported; {@code null} for never
     */
    Instrumentation(String managerName, Duration slowThreshold, Duration leakDetectionThreshold) {
        this.managerName = managerName;
        this.slowThreshold = slowThreshold;
        this.leakDetector = leakDetectionThreshold == null ? null : new LeakDetector(leakDetectionThreshold, managerName);
    }

    void addObserver(TransactionObserver observer) {
        observers.add(observer);
    }

    void close() {
        if (leakDetector != null) {
            leakDetector.close();
        }
    }

    /** Whether a recording wants transaction events; read before allocating one. */
    private static final EventType FLIGHT_EVENT = EventType.getEventType(TransactionFlightEvent.class);

    /** A transaction begins; returns its flight event when a recording wants it, else {@code null}. */
    TransactionFlightEvent started(TransactionOptions options) {
        TransactionFlightEvent event = null;
        if (FLIGHT_EVENT.isEnabled()) {
            event = new TransactionFlightEvent();
            event.begin();
        }
        if (!observers.isEmpty()) {
            for (TransactionObserver observer : observers) {
                try {
                    observer.transactionStarted(managerName, options);
                } catch (RuntimeException | Error e) {
                    observerFailed(observer, e);
                }
            }
        }
        return event;
    }

    void connectionAcquired(long waitedNanos) {
        if (!observers.isEmpty()) {
            Duration waited = Duration.ofNanos(waitedNanos);
            for (TransactionObserver observer : observers) {
                try {
                    observer.connectionAcquired(managerName, waited);
                } catch (RuntimeException | Error e) {
                    observerFailed(observer, e);
                }
            }
        }
    }

    /** Starts leak detection for an attempt that holds a connection now; {@code null} when it is off. */
    LeakDetector.Watch watch(TransactionOptions options) {
        return leakDetector == null ? null : leakDetector.watch(MessageParts.label(options));
    }

    void attemptBegan(TransactionOptions options, TransactionRun run) {
        if (log.isDebugEnabled()) {
            log.debug("Transaction{} of SessionManager '{}' began (attempt {}){}", MessageParts.label(options),
                    managerName, run.attempt(), MessageParts.route(run.route(), run.replica()));
        }
    }

    void attemptEnded(TransactionOptions options, int attempt, long startNanos, Throwable failure) {
        if (log.isDebugEnabled()) {
            long micros = TimeUnit.NANOSECONDS.toMicros(System.nanoTime() - startNanos);
            if (failure == null) {
                log.debug("Transaction{} of SessionManager '{}' committed in {} µs (attempt {})",
                        MessageParts.label(options), managerName, micros, attempt);
            } else {
                log.debug("Transaction{} of SessionManager '{}' ended without commit in {} µs (attempt {}): {}",
                        MessageParts.label(options), managerName, micros, attempt, failure.toString());
            }
        }
    }

    void attemptFailed(TransactionOptions options, int attempt, Throwable failure, boolean retrying) {
        if (!observers.isEmpty()) {
            for (TransactionObserver observer : observers) {
                try {
                    observer.attemptFailed(managerName, options, attempt, failure, retrying);
                } catch (RuntimeException | Error e) {
                    observerFailed(observer, e);
                }
            }
        }
    }

    /**
     * Whether anything looks at how long transactions take: an observer, the slow-transaction warning, a recording
     * that wants flight events, DEBUG logging. When nothing does, the runner reads no clock for the transaction (an
     * observer registered while it runs first hears of the next one).
     */
    boolean timed() {
        return !observers.isEmpty() || slowThreshold != null || FLIGHT_EVENT.isEnabled() || log.isDebugEnabled();
    }

    void completed(TransactionFlightEvent event, TransactionOptions options, TransactionRun run, Throwable failure) {
        if (!run.timed()) {
            return;
        }
        int attempts = run.attempt();
        long nanos = System.nanoTime() - run.startNanos();
        TransactionOutcome outcome = TransactionOutcome.of(failure);
        if (slowThreshold != null && nanos > slowThreshold.toNanos()) {
            log.warn("Transaction{} of SessionManager '{}' took {} ms (slowTransactionThreshold {} ms), {} attempt(s),"
                    + " outcome {}{}", MessageParts.label(options), managerName,
                    TimeUnit.NANOSECONDS.toMillis(nanos), slowThreshold.toMillis(), attempts, outcome,
                    MessageParts.route(run.route(), run.replica()));
        }
        if (event != null) {
            event.end();
        }
        if (event != null && event.shouldCommit()) {
            event.manager = managerName;
            event.label = options.label().orElse(null);
            event.outcome = outcome.name();
            event.propagation = options.propagation().name();
            event.isolation = options.isolation().map(Enum::name).orElse("DEFAULT");
            event.readOnly = options.isReadOnly();
            event.attempts = attempts;
            event.route = run.route().name();
            event.replica = run.replica();
            event.commit();
        }
        if (!observers.isEmpty()) {
            CompletedTransaction completed = new CompletedTransaction(managerName, options.label().orElse(null),
                    options.propagation(), options.isolation().orElse(null), options.isReadOnly(), outcome, attempts,
                    Duration.ofNanos(nanos), failure, run.route());
            for (TransactionObserver observer : observers) {
                try {
                    observer.transactionCompleted(completed);
                } catch (RuntimeException | Error e) {
                    observerFailed(observer, e);
                }
            }
        }
    }

    private void observerFailed(TransactionObserver observer, Throwable e) {
        Throwables.rethrowIfFatal(e);
        log.warn("TransactionObserver {} of SessionManager '{}' failed; it is skipped for this event", observer,
                managerName, e);
    }
}
