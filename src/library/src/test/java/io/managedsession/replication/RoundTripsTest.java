package io.managedsession.replication;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.Statement;
import java.time.Duration;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.CommitPosition;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;
import io.managedsession.support.TestGroups;
import io.managedsession.support.RoundTrips;

/**
 * What replicas cost in round trips, counted at the driver: every statement execution and every COMMIT or ROLLBACK
 * the manager sends (the PostgreSQL driver sends BEGIN with the first statement, so it costs none). A write pays one
 * round trip more when replicas are configured (its commit position), a read that must see a commit one more (the
 * replica's replay position, when it has caught up), and nothing changes without replicas.
 */
@Tag(TestGroups.OWN_SERVERS)
class RoundTripsTest {

    private static PostgresCluster cluster;

    @BeforeAll
    static void startCluster() throws Exception {
        cluster = PostgresCluster.builder().standbys(1).start();
        try (Connection connection = cluster.primary().connect("postgres");
             Statement statement = connection.createStatement()) {
            statement.execute("CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)");
            statement.execute("INSERT INTO counter VALUES (1, 0)");
        }
        cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
    }

    @AfterAll
    static void stopCluster() {
        cluster.close();
    }

    /** A DataSource whose connections count the calls that reach the server. */
    private static DataSource counting(PostgresCluster.Node node, AtomicInteger roundTrips) {
        PGSimpleDataSource real = new PGSimpleDataSource();
        real.setURL(node.jdbcUrl("postgres"));
        real.setUser(cluster.username());
        return RoundTrips.counting(real, roundTrips);
    }

    @Test
    void aWritePaysOneRoundTripForItsCommitPositionOnlyWhenReplicasAreConfigured() {
        AtomicInteger alone = new AtomicInteger();
        AtomicInteger withReplica = new AtomicInteger();
        AtomicInteger onReplica = new AtomicInteger();
        try (SessionManager primaryOnly = SessionManager.builder()
                     .dataSource(counting(cluster.primary(), alone)).build();
             SessionManager routed = SessionManager.builder()
                     .dataSource(counting(cluster.primary(), withReplica))
                     .replicaDataSources(counting(cluster.standbys().get(0), onReplica)).build()) {
            primaryOnly.transaction(ctx -> ctx.execute("UPDATE counter SET n = n + 1 WHERE id = 1"));
            routed.transaction(ctx -> ctx.execute("UPDATE counter SET n = n + 1 WHERE id = 1"));

            assertThat(alone).as("UPDATE (with BEGIN), COMMIT").hasValue(2);
            assertThat(withReplica).as("UPDATE, COMMIT, the commit position").hasValue(3);
            assertThat(onReplica).hasValue(0);
            assertThat(primaryOnly.lastCommitPosition()).isEmpty();
            assertThat(routed.lastCommitPosition()).isPresent();
        }
    }

    @Test
    void aReadThatMustSeeACommitPaysOneRoundTripForTheReplicasPosition() {
        AtomicInteger primary = new AtomicInteger();
        AtomicInteger replica = new AtomicInteger();
        try (SessionManager routed = SessionManager.builder()
                .dataSource(counting(cluster.primary(), primary))
                .replicaDataSources(counting(cluster.standbys().get(0), replica)).build()) {
            routed.transaction(ctx -> ctx.execute("UPDATE counter SET n = n + 1 WHERE id = 1"));
            CommitPosition position = routed.lastCommitPosition().orElseThrow();
            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
            replica.set(0);

            routed.transaction(TransactionOptions.readOnly(), ctx -> ctx.fetchCount(org.jooq.impl.DSL.table("counter")));
            int plainRead = replica.getAndSet(0);
            routed.transaction(TransactionOptions.readOnly().toBuilder().notBefore(position).build(),
                    ctx -> ctx.fetchCount(org.jooq.impl.DSL.table("counter")));
            int readAfterWrite = replica.get();

            assertThat(plainRead).as("the SELECT (the driver sends BEGIN READ ONLY with it), COMMIT").isEqualTo(2);
            assertThat(readAfterWrite).as("the replay position, then the same two").isEqualTo(3);
        }
    }
}
