package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.jooq.impl.DSL.field;

import java.time.Duration;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import com.zaxxer.hikari.HikariDataSource;

import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * The owned pool with HikariCP settings the builder has none for, set through {@code poolConfiguration}: they reach
 * the pool, and every connection it opens. What the manager owns is refused before anything opens
 * ({@code SessionManagerBuilderTest}); replicas' pools take the same customizer ({@code ReadReplicasTest}).
 */
@DatabaseTest(migrations = {})
class PoolConfigurationTest {

    @Test
    void settingsTheBuilderHasNoneForReachThePoolAndEachOfItsConnections(TestDatabase db) throws Exception {
        try (SessionManager sessions = db.sessionManagerBuilder().name("configured").maximumPoolSize(3)
                .poolConfiguration(pool -> {
                    pool.setMaxLifetime(Duration.ofMinutes(9).toMillis());
                    pool.setKeepaliveTime(Duration.ofMinutes(2).toMillis());
                    pool.setMinimumIdle(1);
                    pool.setIdleTimeout(Duration.ofMinutes(1).toMillis());
                    pool.setConnectionInitSql("SET managedsession.tenant = 'eu'");
                    pool.addDataSourceProperty("options", "-c statement_timeout=4321");
                }).build()) {
            HikariDataSource pool = (HikariDataSource) sessions.dataSource();
            assertThat(pool.getMaxLifetime()).isEqualTo(540_000);
            assertThat(pool.getKeepaliveTime()).isEqualTo(120_000);
            assertThat(pool.getMinimumIdle()).isEqualTo(1);
            assertThat(pool.getIdleTimeout()).isEqualTo(60_000);
            assertThat(pool.getMaximumPoolSize()).isEqualTo(3);
            assertThat(pool.getPoolName()).isEqualTo("configured");

            // Three transactions at once hold all three connections, so each connection answers once.
            CountDownLatch allOpen = new CountDownLatch(3);
            ExecutorService threads = Executors.newFixedThreadPool(3);
            try {
                List<Future<String>> answers = threads.invokeAll(List.of(
                        () -> settingsSeenByAConnection(sessions, allOpen),
                        () -> settingsSeenByAConnection(sessions, allOpen),
                        () -> settingsSeenByAConnection(sessions, allOpen)));
                for (Future<String> answer : answers) {
                    assertThat(answer.get(30, TimeUnit.SECONDS)).isEqualTo("eu 4321ms");
                }
            } finally {
                threads.shutdownNow();
            }
            db.assertNothingLeaked(sessions);
        }
    }

    private static String settingsSeenByAConnection(SessionManager sessions, CountDownLatch allOpen)
            throws InterruptedException {
        return sessions.transactionResult(ctx -> {
            String seen = ctx.select(field("current_setting('managedsession.tenant') || ' '"
                    + " || current_setting('statement_timeout')", String.class)).fetchSingle().value1();
            allOpen.countDown();
            if (!allOpen.await(30, TimeUnit.SECONDS)) {
                throw new IllegalStateException("the three transactions did not all run at once");
            }
            return seen;
        });
    }
}
