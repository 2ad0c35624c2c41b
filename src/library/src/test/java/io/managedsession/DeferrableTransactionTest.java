package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * {@code READ ONLY DEFERRABLE}: a serializable read-only transaction that waits for a snapshot no serializable writer
 * can invalidate, so it never fails with a serialization failure.
 */
@DatabaseTest(migrations = {})
class DeferrableTransactionTest {

    private static final TransactionOptions REPORT = TransactionOptions.builder()
            .isolation(Isolation.SERIALIZABLE).readOnly(true).deferrable(true).label("report").build();

    @Test
    void aDeferrableReportWaitsForASafeSnapshotWhileASerializableWriterRuns(TestDatabase db) throws Exception {
        execute(db, "CREATE TABLE totals (id int PRIMARY KEY, amount bigint NOT NULL)",
                "INSERT INTO totals VALUES (1, 100)");
        try (SessionManager sessions = Managers.on(db).name("deferrable").labelInApplicationName(true).build()) {
            ExecutorService threads = Executors.newFixedThreadPool(2);
            CountDownLatch writerInside = new CountDownLatch(1);
            CountDownLatch releaseWriter = new CountDownLatch(1);
            try {
                Future<?> writer = threads.submit(() -> sessions.transactionResult(TransactionOptions.serializable(),
                        ctx -> {
                            ctx.execute("UPDATE totals SET amount = amount + 1 WHERE id = 1");
                            writerInside.countDown();
                            releaseWriter.await();
                            return null;
                        }));
                assertThat(writerInside.await(10, TimeUnit.SECONDS)).isTrue();

                Future<Long> report = threads.submit(() -> sessions.transactionResult(REPORT, ctx -> {
                    assertThat(ctx.fetchValue("SHOW transaction_deferrable")).isEqualTo("on");
                    return ctx.fetchOne("SELECT amount FROM totals WHERE id = 1").get(0, Long.class);
                }));

                await().atMost(Duration.ofSeconds(10)).until(() -> queryLong(db, "SELECT count(*) FROM pg_stat_activity"
                        + " WHERE application_name = 'deferrable/report' AND wait_event = 'SafeSnapshot'") == 1);
                assertThat(report).isNotDone();
                releaseWriter.countDown();
                writer.get(10, TimeUnit.SECONDS);
                // the snapshot taken before the writer committed, proven safe once the writer ended without a conflict
                assertThat(report.get(10, TimeUnit.SECONDS)).isEqualTo(100);
            } finally {
                releaseWriter.countDown();
                threads.shutdownNow();
            }
        }
    }

    @Test
    void aDeferrableCallRefusesToJoinATransactionThatIsNot(TestDatabase db) {
        TransactionOptions plainReport = REPORT.toBuilder().deferrable(false).label("plain").build();
        try (SessionManager sessions = Managers.on(db).build()) {
            assertThatThrownBy(() -> sessions.transaction(plainReport, outer -> sessions.transaction(REPORT,
                    inner -> inner.fetchValue("SELECT 1"))))
                    .isInstanceOf(SessionException.class)
                    .hasMessageContaining("asks for a DEFERRABLE transaction but the running transaction 'plain'")
                    .hasMessageContaining("REQUIRES_NEW");
            String joined = sessions.transactionResult(REPORT, outer -> sessions.transactionResult(REPORT,
                    inner -> (String) inner.fetchValue("SHOW transaction_deferrable")));
            assertThat(joined).isEqualTo("on");
        }
    }

    @Test
    void deferrableNeedsSerializableAndReadOnly() {
        assertThatThrownBy(() -> TransactionOptions.builder().readOnly(true).deferrable(true).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("needs isolation(SERIALIZABLE) and readOnly(true)")
                .hasMessageContaining("the isolation is the database's");
        assertThatThrownBy(() -> TransactionOptions.serializable().toBuilder().deferrable(true).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("the access mode the database's");
        assertThat(REPORT.isDeferrable()).isTrue();
        assertThat(REPORT.toString()).contains("deferrable");
        assertThat(REPORT.toBuilder().build()).isEqualTo(REPORT);
    }
}
