package io.managedsession.reliability;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.Test;

import io.managedsession.ConnectionUnavailableException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;
import io.managedsession.support.CommitCuttingProxy;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * A network that goes silent without closing anything, made by a TCP proxy that stops forwarding: every waiting call
 * returns within the socket timeout or the transaction's deadline, and the pool recovers when the proxy forwards again.
 */
@DatabaseTest(migrations = {})
class NetworkBlackholeTest {

    /** Slack for a loaded 2-core machine: the point is "bounded", not "fast". */
    private static final Duration MARGIN = Duration.ofSeconds(3);

    private static String urlThrough(CommitCuttingProxy proxy, TestDatabase db) {
        return "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name() + "?sslmode=disable&gssEncMode=disable";
    }

    @Test
    void waitingCallsReturnWithinTheSocketTimeoutAndThePoolRecovers(TestDatabase db) throws Exception {
        Duration socketTimeout = Duration.ofSeconds(2);
        try (CommitCuttingProxy proxy = CommitCuttingProxy.toServerOf(db);
             SessionManager sessions = Managers.via(db, urlThrough(proxy, db)).maximumPoolSize(4)
                     .socketTimeout(socketTimeout).connectionTimeout(Duration.ofSeconds(2)).build()) {
            sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));

            proxy.blackhole();
            int callers = 6;
            CountDownLatch go = new CountDownLatch(1);
            ExecutorService threads = Executors.newFixedThreadPool(callers);
            List<Future<Long>> took = new ArrayList<>();
            List<Throwable> failures = Collections.synchronizedList(new ArrayList<>());
            try {
                for (int i = 0; i < callers; i++) {
                    took.add(threads.submit(() -> {
                        go.await();
                        long start = System.nanoTime();
                        failures.add(catchThrowable(() -> sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"))));
                        return System.nanoTime() - start;
                    }));
                }
                go.countDown();
                for (Future<Long> call : took) {
                    // Queued callers wait for their turn first, then for a connection: two socket timeouts at most.
                    assertThat(Duration.ofNanos(call.get(60, TimeUnit.SECONDS)))
                            .isLessThan(socketTimeout.multipliedBy(2).plus(MARGIN));
                }
            } finally {
                threads.shutdownNow();
            }
            assertThat(failures).hasSize(callers).allSatisfy(failure -> assertThat(failure)
                    .as("every caller is told, none hangs").isNotNull());
            assertThat(failures).anySatisfy(failure -> assertThat(failure.getMessage()).containsIgnoringCase("timed out"));

            proxy.resumeForwarding();
            // One matcher for both: a second ignoreExceptionsInstanceOf would replace the first, not add to it.
            await().atMost(Duration.ofSeconds(30))
                    .ignoreExceptionsMatching(e -> e instanceof ConnectionUnavailableException
                            || e instanceof DataAccessException)
                    .until(() -> sessions.transactionResult(ctx -> ctx.fetchValue("SELECT 1")) != null);
            // Every connection broken by the silence was replaced: a burst of work goes through.
            for (int i = 0; i < 20; i++) {
                sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));
            }
        }
    }

    @Test
    void deadlineBoundsACallEvenWithoutASocketTimeout(TestDatabase db) throws Exception {
        Duration deadline = Duration.ofMillis(500);
        try (CommitCuttingProxy proxy = CommitCuttingProxy.toServerOf(db);
             SessionManager sessions = Managers.via(db, urlThrough(proxy, db)).maximumPoolSize(1).build()) {
            sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));
            proxy.blackhole();

            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .deadline(deadline).label("silent-network").build(), ctx -> ctx.fetchValue("SELECT 1")));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("'silent-network' exceeded its deadline of 500 ms");
            assertThat(took).isLessThan(deadline.plusSeconds(1).plus(MARGIN));
            proxy.resumeForwarding();
        }
    }

    @Test
    void networkThatGoesSilentLateInATransactionStillEndsItNearItsDeadline(TestDatabase db) throws Exception {
        Duration deadline = Duration.ofSeconds(3);
        try (CommitCuttingProxy proxy = CommitCuttingProxy.toServerOf(db);
             SessionManager sessions = Managers.via(db, urlThrough(proxy, db)).maximumPoolSize(1).build()) {
            sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));

            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .deadline(deadline).label("late-silence").build(), ctx -> {
                        ctx.execute("SELECT pg_sleep(2)");
                        proxy.blackhole();
                        ctx.fetchValue("SELECT 1");
                    }));
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(TransactionTimeoutException.class)
                    .hasMessageContaining("'late-silence' exceeded its deadline of 3000 ms");
            assertThat(took).as("the client stops waiting about a second after the deadline, not a second after the"
                    + " time the deadline left at begin").isLessThan(deadline.plusMillis(1_500));
            proxy.resumeForwarding();
        }
    }

    @Test
    void deadlineNeverLengthensTheSocketTimeout(TestDatabase db) throws Exception {
        Duration socketTimeout = Duration.ofSeconds(1);
        try (CommitCuttingProxy proxy = CommitCuttingProxy.toServerOf(db);
             SessionManager sessions = Managers.via(db, urlThrough(proxy, db)).maximumPoolSize(1)
                     .socketTimeout(socketTimeout).build()) {
            sessions.transaction(ctx -> ctx.fetchValue("SELECT 1"));

            long[] silentSince = new long[1];
            Throwable caught = catchThrowable(() -> sessions.transaction(TransactionOptions.builder()
                    .deadline(Duration.ofSeconds(6)).build(), ctx -> {
                        ctx.fetchValue("SELECT 1");
                        proxy.blackhole();
                        silentSince[0] = System.nanoTime();
                        ctx.fetchValue("SELECT 1");
                    }));
            Duration waited = Duration.ofNanos(System.nanoTime() - silentSince[0]);

            assertThat(caught).as("the socket timeout, not the deadline, ended it")
                    .isInstanceOf(DataAccessException.class)
                    .isNotInstanceOf(TransactionTimeoutException.class);
            assertThat(waited).isLessThan(socketTimeout.plusMillis(1_500));
            proxy.resumeForwarding();
        }
    }
}
