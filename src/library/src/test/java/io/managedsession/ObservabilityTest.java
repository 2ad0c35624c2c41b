package io.managedsession;

import static io.managedsession.support.SecondConnection.backends;
import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;

import java.time.Duration;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;

import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;
import io.micrometer.observation.Observation;
import io.micrometer.observation.ObservationHandler;
import io.micrometer.observation.ObservationRegistry;

import io.managedsession.micrometer.SessionManagerMetrics;
import io.managedsession.micrometer.SessionManagerObservations;
import io.managedsession.support.LogCapture;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** Metrics, JFR events, logs, leak reports and application_name, from a scripted mix of real transactions. */
@DatabaseTest(migrations = {})
class ObservabilityTest {

    /** A failure that the mix declares retryable. */
    static final class Transient extends RuntimeException {
        private static final long serialVersionUID = 1L;
    }

    private static final TransactionOptions A = TransactionOptions.builder().label("a").build();
    private static final TransactionOptions RETRIED = TransactionOptions.builder().label("retried").maxAttempts(3)
            .retryOn(t -> t instanceof Transient).build();
    private static final TransactionOptions SLOW = TransactionOptions.builder().label("slow")
            .deadline(Duration.ofMillis(200)).build();

    /** 3 commits and 2 rollbacks labelled a, 1 rollback-only, 1 commit after a retry, 1 timeout: 8 transactions. */
    private static void runTheMix(SessionManager sessions) {
        for (int i = 0; i < 3; i++) {
            sessions.transaction(A, ctx -> ctx.fetchValue("SELECT 1"));
        }
        for (int i = 0; i < 2; i++) {
            catchThrowable(() -> sessions.transaction(A, ctx -> {
                throw new IllegalStateException("rolled back");
            }));
        }
        catchThrowable(() -> sessions.transaction(outer -> catchThrowable(() -> sessions.transaction(inner -> {
            throw new IllegalStateException("joined failure, swallowed");
        }))));
        AtomicInteger attempts = new AtomicInteger();
        sessions.transaction(RETRIED, ctx -> {
            if (attempts.incrementAndGet() == 1) {
                throw new Transient();
            }
        });
        catchThrowable(() -> sessions.transaction(SLOW, ctx -> ctx.execute("SELECT pg_sleep(5)")));
    }

    @Test
    void scriptedMixGivesExactCountsAndTagsAndTheSameTransactionsAsJfrEvents(TestDatabase db) throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<RecordedEvent> delivered = new CopyOnWriteArrayList<>();
        try (SessionManager sessions = Managers.on(db).name("observed").build();
             RecordingStream jfr = new RecordingStream()) {
            new SessionManagerMetrics(sessions).bindTo(registry);
            jfr.enable("io.managedsession.Transaction");
            jfr.onEvent("io.managedsession.Transaction", delivered::add);
            jfr.startAsync();
            // Warm up jOOQ before the 200 ms deadline matters, and the stream until it has delivered an event: in full
            // runs, a mix begun as the stream began twice came back with the first transaction's event missing and
            // another's delivered twice. Then count from zero.
            await().atMost(Duration.ofSeconds(20)).until(() -> {
                sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));
                return !delivered.isEmpty();
            });
            double warmUp = registry.get(SessionManagerMetrics.TRANSACTIONS).tag("label", "none")
                    .tag("outcome", "commit").counter().count();

            runTheMix(sessions);

            assertThat(count(registry, "a", "commit")).isEqualTo(3);
            assertThat(count(registry, "a", "rollback")).isEqualTo(2);
            assertThat(count(registry, "none", "rollback_only")).isEqualTo(1);
            assertThat(count(registry, "retried", "commit")).isEqualTo(1);
            assertThat(count(registry, "slow", "timeout")).isEqualTo(1);
            assertThat(count(registry, "none", "commit")).isEqualTo(warmUp);
            assertThat(registry.get(SessionManagerMetrics.RETRIES).tag("label", "retried").counter().count())
                    .isEqualTo(1);
            assertThat(registry.get(SessionManagerMetrics.DURATION).tag("label", "a").tag("outcome", "commit")
                    .timer().count()).isEqualTo(3);
            assertThat(registry.get(SessionManagerMetrics.DURATION).tag("label", "slow").timer()
                    .totalTime(TimeUnit.MILLISECONDS)).isGreaterThanOrEqualTo(150);
            assertThat(registry.get(SessionManagerMetrics.ACQUIRE).tag("name", "observed").timer().count())
                    .as("one connection per attempt: the warm-up's + 3 + 2 + 1 + 2 + 1").isEqualTo((long) warmUp + 9);
            assertThat(registry.get(SessionManagerMetrics.ACTIVE).gauge().value()).isZero();
            assertThat(registry.get("hikaricp.connections").tag("pool", "observed").gauge().value())
                    .as("HikariCP's own meters, through its Micrometer tracker").isPositive();

            await().atMost(Duration.ofSeconds(20)).until(() -> ofTheMix(delivered).size() >= 8);
        }
        List<RecordedEvent> events = ofTheMix(delivered);
        assertThat(events).hasSize(8);
        assertThat(events).filteredOn(e -> "a".equals(e.getString("label")) && "COMMIT".equals(e.getString("outcome")))
                .hasSize(3);
        assertThat(events).filteredOn(e -> "a".equals(e.getString("label"))
                && "ROLLBACK".equals(e.getString("outcome"))).hasSize(2);
        assertThat(events).filteredOn(e -> "ROLLBACK_ONLY".equals(e.getString("outcome"))).hasSize(1);
        assertThat(events).filteredOn(e -> "retried".equals(e.getString("label"))).singleElement()
                .satisfies(e -> {
                    assertThat(e.getInt("attempts")).isEqualTo(2);
                    assertThat(e.getString("outcome")).isEqualTo("COMMIT");
                });
        assertThat(events).filteredOn(e -> "slow".equals(e.getString("label"))).singleElement()
                .satisfies(e -> {
                    assertThat(e.getString("outcome")).isEqualTo("TIMEOUT");
                    assertThat(e.getDuration().toMillis()).isGreaterThanOrEqualTo(150);
                });
        assertThat(events).allSatisfy(e -> {
            assertThat(e.getString("manager")).isEqualTo("observed");
            assertThat(e.getString("propagation")).isEqualTo("REQUIRED");
        });
    }

    /**
     * The mix's events (not the warm-up's, unlabelled commits), one per record: two records of one thread that began
     * at the same instant are one transaction's event delivered twice by the stream (seen in full runs), so
     * they count once. That the library ends each transaction once the counters above show, fed by the same call.
     */
    private static List<RecordedEvent> ofTheMix(List<RecordedEvent> delivered) {
        Map<List<Object>, RecordedEvent> distinct = new LinkedHashMap<>();
        for (RecordedEvent event : delivered) {
            if (event.getString("label") == null && "COMMIT".equals(event.getString("outcome"))) {
                continue;
            }
            distinct.putIfAbsent(List.of(event.getThread().getJavaThreadId(), event.getStartTime(),
                    event.getDuration(), String.valueOf(event.getString("label")), event.getString("outcome")), event);
        }
        return List.copyOf(distinct.values());
    }

    private static double count(SimpleMeterRegistry registry, String label, String outcome) {
        return registry.get(SessionManagerMetrics.TRANSACTIONS).tag("name", "observed").tag("label", label)
                .tag("outcome", outcome).counter().count();
    }

    @Test
    void eachTransactionIsAnObservationWithItsOutcome(TestDatabase db) {
        List<Observation.Context> stopped = new CopyOnWriteArrayList<>();
        ObservationRegistry observations = ObservationRegistry.create();
        observations.observationConfig().observationHandler(new ObservationHandler<>() {
            @Override
            public boolean supportsContext(Observation.Context context) {
                return true;
            }

            @Override
            public void onStop(Observation.Context context) {
                stopped.add(context);
            }
        });
        try (SessionManager sessions = Managers.on(db).name("traced").build()) {
            new SessionManagerObservations(observations).observe(sessions);

            sessions.transaction(A, ctx -> ctx.fetchValue("SELECT 1"));
            catchThrowable(() -> sessions.transaction(A, ctx -> {
                throw new IllegalStateException("traced failure");
            }));
        }

        assertThat(stopped).hasSize(2);
        assertThat(stopped).allSatisfy(c -> {
            assertThat(c.getName()).isEqualTo(SessionManagerObservations.NAME);
            assertThat(c.getLowCardinalityKeyValue("label").getValue()).isEqualTo("a");
        });
        assertThat(stopped.get(0).getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("commit");
        assertThat(stopped.get(1).getLowCardinalityKeyValue("outcome").getValue()).isEqualTo("rollback");
        assertThat(stopped.get(1).getError()).hasMessage("traced failure");
    }

    @Test
    void observerThatThrowsEvenALinkageErrorNeverChangesTheOutcome(TestDatabase db) {
        execute(db, "CREATE TABLE observed (id integer PRIMARY KEY)");
        AtomicInteger reachedTheSecondObserver = new AtomicInteger();
        try (SessionManager sessions = Managers.on(db).build(); LogCapture logs = LogCapture.everything()) {
            // What a metrics library with a dependency missing from a shaded jar does on its first transaction.
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void transactionStarted(String managerName, TransactionOptions options) {
                    throw new IllegalStateException("observer broken at start");
                }

                @Override
                public void transactionCompleted(CompletedTransaction transaction) {
                    throw new NoClassDefFoundError("org/HdrHistogram/DoubleRecorder");
                }
            });
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void transactionCompleted(CompletedTransaction transaction) {
                    reachedTheSecondObserver.incrementAndGet();
                }
            });

            int result = sessions.transactionResult(ctx -> {
                ctx.execute("INSERT INTO observed VALUES (1)");
                return 7;
            });

            assertThat(result).isEqualTo(7);
            assertThat(queryLong(db, "SELECT count(*) FROM observed")).isEqualTo(1);
            assertThat(reachedTheSecondObserver.get()).isEqualTo(1);
            assertThat(logs.lines()).filteredOn(line -> line.startsWith("WARN") && line.contains("TransactionObserver"))
                    .hasSize(2)
                    .anyMatch(line -> line.contains("observer broken at start"))
                    .anyMatch(line -> line.contains("org/HdrHistogram/DoubleRecorder"));
            assertThat(sessions.current()).isEmpty();
        }
    }

    @Test
    void jvmErrorRightAfterTheConnectionIsTakenStillGivesTheConnectionBack(TestDatabase db) {
        StackOverflowError overflow = new StackOverflowError("observer recursed");
        AtomicBoolean failOnce = new AtomicBoolean(true);
        try (SessionManager sessions = Managers.on(db).maximumPoolSize(1).connectionTimeout(Duration.ofSeconds(1))
                .leakDetectionThreshold(Duration.ofMinutes(1)).build()) {
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void connectionAcquired(String managerName, Duration waited) {
                    if (failOnce.getAndSet(false)) {
                        throw overflow;
                    }
                }
            });

            Throwable caught = catchThrowable(() -> sessions.transaction(ctx -> ctx.execute("SELECT 1")));

            assertThat(caught).as("the JVM's own error propagates, unchanged").isSameAs(overflow);
            assertThat(Managers.pool(sessions).getActiveConnections()).as("the connection went back").isZero();
            Integer afterwards = sessions.transactionResult(ctx -> ctx.fetchValue(field("1", Integer.class)));
            assertThat(afterwards).as("the pool of one still serves").isEqualTo(1);
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void slowTransactionIsLoggedAtWarnWithLabelAndDuration(TestDatabase db) {
        try (SessionManager sessions = Managers.on(db).slowTransactionThreshold(Duration.ofMillis(50)).build();
             LogCapture logs = LogCapture.everything()) {
            sessions.transaction(TransactionOptions.builder().label("nightly-report").build(),
                    ctx -> ctx.execute("SELECT pg_sleep(0.2)"));

            assertThat(logs.lines()).filteredOn(line -> line.startsWith("WARN") && line.contains("nightly-report"))
                    .singleElement().asString()
                    .containsPattern("took \\d+ ms \\(slowTransactionThreshold 50 ms\\), 1 attempt\\(s\\), outcome COMMIT");
            assertThat(logs.lines()).anyMatch(line -> line.startsWith("DEBUG")
                    && line.contains("Transaction 'nightly-report'") && line.contains("committed in"));
        }
    }

    @Test
    void transactionOpenPastTheLeakThresholdIsReportedOnceWithWhereItBegan(TestDatabase db) throws Exception {
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (SessionManager sessions = Managers.on(db).leakDetectionThreshold(Duration.ofMillis(100)).build();
             LogCapture logs = LogCapture.everything()) {
            Future<?> held = thread.submit(() -> {
                sessions.transaction(TransactionOptions.builder().label("forgotten").build(), ctx -> {
                    ctx.fetchValue("SELECT 1");
                    release.await(30, TimeUnit.SECONDS);
                });
                return null;
            });
            await().atMost(Duration.ofSeconds(10)).until(() -> logs.lines().stream().anyMatch(
                    line -> line.startsWith("WARN") && line.contains("leakDetectionThreshold")));
            release.countDown();
            held.get(10, TimeUnit.SECONDS);
            await().atMost(Duration.ofSeconds(10)).until(() -> logs.lines().stream().anyMatch(
                    line -> line.startsWith("INFO") && line.contains("reported as possibly leaked has ended")));

            assertThat(logs.lines()).filteredOn(line -> line.contains("leakDetectionThreshold")).singleElement()
                    .asString()
                    .contains("Transaction 'forgotten'")
                    .contains("has been open for more than 100 ms")
                    .contains("The transaction began here")
                    .contains("ObservabilityTest.lambda$transactionOpenPastTheLeakThresholdIsReportedOnceWithWhereItBegan");
        } finally {
            release.countDown();
            thread.shutdownNow();
        }
    }

    @Test
    void labelShowsInPgStatActivityWhileTheTransactionRuns(TestDatabase db) throws Exception {
        CountDownLatch inside = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        ExecutorService thread = Executors.newSingleThreadExecutor();
        try (SessionManager sessions = Managers.on(db).name("billing").labelInApplicationName(true).build()) {
            Future<?> held = thread.submit(() -> {
                sessions.transaction(TransactionOptions.builder().label("month-end-close").build(), ctx -> {
                    ctx.fetchValue("SELECT 1");
                    inside.countDown();
                    release.await(30, TimeUnit.SECONDS);
                });
                return null;
            });
            assertThat(inside.await(10, TimeUnit.SECONDS)).isTrue();

            assertThat(backends(db, "billing/month-end-close")).as("while it runs").isEqualTo(1);

            release.countDown();
            held.get(10, TimeUnit.SECONDS);
            assertThat(backends(db, "billing/month-end-close")).as("after it ended").isZero();
            assertThat(backends(db, "billing")).as("the pool's own name again").isPositive();
        } finally {
            release.countDown();
            thread.shutdownNow();
        }
    }
}
