package io.managedsession.replication;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;
import static org.jooq.impl.DSL.field;

import java.sql.Connection;
import java.sql.ResultSet;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;

import jdk.jfr.consumer.RecordedEvent;
import jdk.jfr.consumer.RecordingStream;

import org.jooq.DSLContext;
import org.jooq.exception.DataAccessException;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.managedsession.CompletedTransaction;
import io.managedsession.Propagation;
import io.managedsession.Route;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;
import io.managedsession.micrometer.SessionManagerMetrics;
import io.managedsession.support.LogCapture;
import io.managedsession.support.TestGroups;

/**
 * Read-only transactions on streaming replicas of a real cluster: routed, balanced, visible, and skipping a replica
 * that is down. Tests that kill a node start a cluster of their own.
 */
@Tag(TestGroups.OWN_SERVERS)
class ReadReplicasTest {

    private static final TransactionOptions READ = TransactionOptions.readOnly();

    private static PostgresCluster cluster;

    @BeforeAll
    static void startCluster() {
        cluster = PostgresCluster.builder().standbys(2).start();
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    static SessionManager.Builder managerOn(PostgresCluster cluster) {
        List<String> replicas = cluster.standbys().stream().map(node -> node.jdbcUrl("postgres")).toList();
        return SessionManager.builder()
                .jdbcUrl(cluster.primary().jdbcUrl("postgres"))
                .username(cluster.username())
                .replicaUrls(replicas.toArray(String[]::new))
                .maximumPoolSize(2)
                .connectionTimeout(Duration.ofSeconds(10));
    }

    private static boolean inRecovery(DSLContext ctx) {
        return ctx.select(field("pg_is_in_recovery()", Boolean.class)).fetchSingle().value1();
    }

    private static String poolSetting(DSLContext ctx) {
        return ctx.select(field("current_setting('managedsession.pool')", String.class)).fetchSingle().value1();
    }

    private static int serverPort(DSLContext ctx) {
        return ctx.select(field("inet_server_port()", Integer.class)).fetchSingle().value1();
    }

    @Test
    void readOnlyTransactionsRunOnAReplicaAndEveryOtherOnThePrimary() {
        List<CompletedTransaction> completed = new CopyOnWriteArrayList<>();
        try (SessionManager sessions = managerOn(cluster).build()) {
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void transactionCompleted(CompletedTransaction transaction) {
                    completed.add(transaction);
                }
            });

            assertThat(sessions.transactionResult(READ, ReadReplicasTest::inRecovery)).isTrue();
            assertThat(sessions.transactionResult(ReadReplicasTest::inRecovery)).isFalse();
            assertThat(sessions.transactionResult(TransactionOptions.builder().readOnly(false).build(),
                    ReadReplicasTest::inRecovery)).isFalse();
            // A read-only transaction of its own inside a write runs on a replica; the write stays on the primary.
            boolean[] outerAndInner = sessions.transactionResult(ctx -> new boolean[] {inRecovery(ctx),
                    sessions.transactionResult(READ.toBuilder().propagation(Propagation.REQUIRES_NEW).build(),
                            ReadReplicasTest::inRecovery)});
            assertThat(outerAndInner).containsExactly(false, true);

            assertThat(completed).extracting(CompletedTransaction::route)
                    .containsExactly(Route.REPLICA, Route.PRIMARY, Route.PRIMARY, Route.REPLICA, Route.PRIMARY);
        }
    }

    @Test
    void everyOwnedPoolTakesThePoolConfigurationWithItsOwnName() {
        try (SessionManager sessions = managerOn(cluster).name("configured")
                .poolConfiguration(pool -> pool.setConnectionInitSql(
                        "SET managedsession.pool = '" + pool.getPoolName() + "'"))
                .build()) {
            assertThat(sessions.transactionResult(ReadReplicasTest::poolSetting)).isEqualTo("configured");
            // Reads take the replicas in turn: two reads, one on each.
            Set<String> replicaPools = new HashSet<>();
            for (int read = 0; read < 2; read++) {
                replicaPools.add(sessions.transactionResult(READ, ReadReplicasTest::poolSetting));
            }
            assertThat(replicaPools).containsExactlyInAnyOrder("configured-replica-1", "configured-replica-2");
        }
    }

    @Test
    void aReplicaPoolConfigurationThatIsRefusedFailsTheStartBeforeAnyMigrationRuns() throws Exception {
        assertThatThrownBy(() -> managerOn(cluster).name("refused").migrateOnStart(true)
                .migrationLocations("classpath:db/bank")
                .poolConfiguration(pool -> {
                    if (pool.getPoolName().contains("-replica-")) {
                        pool.setReadOnly(true);
                    }
                }).build())
                .isInstanceOf(IllegalStateException.class)
                .hasMessageContaining("HikariCP pool 'refused-replica-1' set readOnly (from false to true)");

        // A failed start leaves the schema as it was: the migration was not run before the refusal.
        try (Connection primary = cluster.primary().connect("postgres");
             ResultSet history = primary.createStatement().executeQuery(
                     "SELECT to_regclass('flyway_schema_history') IS NULL")) {
            history.next();
            assertThat(history.getBoolean(1)).as("no flyway_schema_history on the primary").isTrue();
        }
    }

    @Test
    void aWriteInAReadOnlyTransactionIsRefusedByTheReplica() {
        try (SessionManager sessions = managerOn(cluster).build()) {
            assertThatThrownBy(() -> sessions.transaction(READ, ctx -> ctx.execute("CREATE TABLE refused (id int)")))
                    .isInstanceOf(DataAccessException.class)
                    .hasMessageContaining("read-only transaction");
        }
    }

    @Test
    void replicasTakeTurns() {
        try (SessionManager sessions = managerOn(cluster).build()) {
            List<Integer> ports = new ArrayList<>();
            for (int i = 0; i < 6; i++) {
                ports.add(sessions.transactionResult(READ, ReadReplicasTest::serverPort));
            }
            List<Integer> standbyPorts = cluster.standbys().stream().map(PostgresCluster.Node::port).toList();
            assertThat(ports).hasSameElementsAs(standbyPorts);
            assertThat(ports.stream().filter(port -> port.equals(standbyPorts.get(0)))).hasSize(3);
            assertThat(ports.get(0)).isNotEqualTo(ports.get(1));
        }
    }

    @Test
    void routingIsInTheMetricsTheFlightRecorderAndTheReplicasPoolName() throws Exception {
        SimpleMeterRegistry registry = new SimpleMeterRegistry();
        List<RecordedEvent> events = new CopyOnWriteArrayList<>();
        try (SessionManager sessions = managerOn(cluster).name("routed").build();
             RecordingStream jfr = new RecordingStream()) {
            new SessionManagerMetrics(sessions).bindTo(registry);
            jfr.enable("io.managedsession.Transaction");
            jfr.onEvent("io.managedsession.Transaction", events::add);
            jfr.startAsync();

            String applicationName = sessions.transactionResult(READ,
                    ctx -> ctx.select(field("current_setting('application_name')", String.class)).fetchSingle()
                            .value1());
            sessions.transaction(ctx -> ctx.execute("SELECT 1"));

            assertThat(applicationName).startsWith("routed-replica-");
            assertThat(registry.get(SessionManagerMetrics.TRANSACTIONS).tag("route", "replica").counter().count())
                    .isEqualTo(1);
            assertThat(registry.get(SessionManagerMetrics.TRANSACTIONS).tag("route", "primary").counter().count())
                    .isEqualTo(1);
            await().atMost(Duration.ofSeconds(20)).until(() -> events.size() >= 2);
        }
        assertThat(events).extracting(e -> e.getString("route")).containsExactlyInAnyOrder("REPLICA", "PRIMARY");
        assertThat(events).filteredOn(e -> "REPLICA".equals(e.getString("route"))).singleElement()
                .satisfies(e -> assertThat(e.getString("replica")).startsWith("routed-replica-"));
    }

    @Test
    void aReplicaThatIsDownIsSkippedAndServesAgainOnceItIsBack() {
        try (PostgresCluster own = PostgresCluster.builder().standbys(2).start();
             SessionManager sessions = managerOn(own).build();
             LogCapture logs = LogCapture.everything()) {
            PostgresCluster.Node down = own.standbys().get(0);
            PostgresCluster.Node up = own.standbys().get(1);
            down.kill();
            // The first read may find the killed replica's pooled connection dead: a transient failure, retried
            // on another server.
            TransactionOptions read = READ.toBuilder().maxAttempts(2).build();

            Set<Integer> ports = new HashSet<>();
            for (int i = 0; i < 6; i++) {
                ports.add(sessions.transactionResult(read, ReadReplicasTest::serverPort));
            }

            assertThat(ports).containsExactly(up.port());
            assertThat(logs.lines()).filteredOn(line -> line.startsWith("WARN") && line.contains("is skipped for"))
                    .hasSize(1);

            down.start();
            await().atMost(Duration.ofSeconds(30))
                    .until(() -> sessions.transactionResult(read, ReadReplicasTest::serverPort) == down.port());
            assertThat(logs.lines()).anyMatch(line -> line.startsWith("INFO") && line.contains("serves read-only"
                    + " transactions again"));
        }
    }

    @Test
    void withEveryReplicaDownReadsRunOnThePrimaryAndSaySo() {
        List<CompletedTransaction> completed = new CopyOnWriteArrayList<>();
        try (PostgresCluster own = PostgresCluster.builder().standbys(1).start();
             SessionManager sessions = managerOn(own).build()) {
            sessions.addObserver(new TransactionObserver() {
                @Override
                public void transactionCompleted(CompletedTransaction transaction) {
                    completed.add(transaction);
                }
            });
            own.standbys().get(0).kill();
            TransactionOptions read = READ.toBuilder().maxAttempts(2).build();

            assertThat(sessions.transactionResult(read, ReadReplicasTest::inRecovery)).isFalse();
            assertThat(sessions.transactionResult(read, ReadReplicasTest::inRecovery)).isFalse();

            assertThat(completed).extracting(CompletedTransaction::route).containsOnly(Route.PRIMARY_FALLBACK);
        }
    }

    @Test
    void theBuilderRefusesReplicasThatDoNotFitTheSource() {
        assertThatThrownBy(() -> SessionManager.builder().replicaUrls("jdbc:mysql://replica/db"))
                .isInstanceOf(IllegalArgumentException.class)
                .hasMessageContaining("replicaUrls[0]").hasMessageContaining("jdbc:mysql://replica/db");
        assertThatThrownBy(() -> SessionManager.builder().replicaUrls())
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("at least one");
        assertThatThrownBy(() -> SessionManager.builder().dataSource(new org.postgresql.ds.PGSimpleDataSource())
                .replicaUrls("jdbc:postgresql://127.0.0.1:1/db").build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("replicaDataSources");
        assertThatThrownBy(() -> SessionManager.builder().jdbcUrl("jdbc:postgresql://127.0.0.1:1/db")
                .replicaDataSources(new org.postgresql.ds.PGSimpleDataSource()).build())
                .isInstanceOf(IllegalStateException.class).hasMessageContaining("replicaUrls");
        assertThatThrownBy(() -> SessionManager.builder().replicaCatchUpTimeout(Duration.ofMillis(-1)))
                .isInstanceOf(IllegalArgumentException.class).hasMessageContaining("-1 ms");
    }

    @Test
    void aReplicaThatIsDownAtStartDoesNotStopTheManagerFromStarting() {
        try (SessionManager sessions = SessionManager.builder()
                .jdbcUrl(cluster.primary().jdbcUrl("postgres"))
                .username(cluster.username())
                .replicaUrls("jdbc:postgresql://127.0.0.1:1/postgres")
                .maximumPoolSize(1)
                .build()) {
            assertThat(sessions.transactionResult(READ, ReadReplicasTest::inRecovery)).isFalse();
            assertThat(sessions.toString()).contains("replicaUrls=[jdbc:postgresql://127.0.0.1:1/postgres]");
        }
    }
}
