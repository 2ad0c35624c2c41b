package io.managedsession.database;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.Properties;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;

import io.managedsession.support.TestGroups;

/** The test cluster is real streaming replication: standbys follow, refuse writes, lag when told, take over. */
@Tag(TestGroups.OWN_SERVERS)
class PostgresClusterTest {

    @Test
    void standbysReplayThePrimarysCommitsAndRefuseWrites() throws SQLException {
        try (PostgresCluster cluster = PostgresCluster.builder().standbys(2).start()) {
            PostgresCluster.Node primary = cluster.primary();
            execute(primary, "CREATE TABLE note (id int PRIMARY KEY)", "INSERT INTO note VALUES (1)");

            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));

            assertThat(cluster.standbys()).hasSize(2);
            for (PostgresCluster.Node standby : cluster.standbys()) {
                assertThat(standby.isInRecovery()).isTrue();
                assertThat(count(standby, "SELECT count(*) FROM note")).isEqualTo(1);
                assertThatThrownBy(() -> execute(standby, "INSERT INTO note VALUES (2)"))
                        .isInstanceOf(SQLException.class)
                        .satisfies(e -> assertThat(((SQLException) e).getSQLState()).isEqualTo("25006"));
            }
            assertThat(primary.isInRecovery()).isFalse();
        }
    }

    @Test
    void anApplyDelayKeepsACommitInvisibleOnTheStandbyForAWhile() throws SQLException {
        try (PostgresCluster cluster = PostgresCluster.builder().standbyApplyDelay(Duration.ofSeconds(2)).start()) {
            execute(cluster.primary(), "CREATE TABLE note (id int PRIMARY KEY)");
            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));

            execute(cluster.primary(), "INSERT INTO note VALUES (1)");

            PostgresCluster.Node standby = cluster.standbys().get(0);
            assertThat(count(standby, "SELECT count(*) FROM note")).isZero();
            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
            assertThat(count(standby, "SELECT count(*) FROM note")).isEqualTo(1);
        }
    }

    @Test
    void aPromotedSynchronousStandbyHasEveryAcknowledgedCommitAndTheFailoverUrlFindsIt() throws SQLException {
        try (PostgresCluster cluster = PostgresCluster.builder().synchronousCommit(true).start()) {
            PostgresCluster.Node primary = cluster.primary();
            PostgresCluster.Node standby = cluster.standbys().get(0);
            assertThat(text(primary, "SHOW synchronous_standby_names")).isEqualTo("ANY 1 (node1)");
            execute(primary, "CREATE TABLE note (id int PRIMARY KEY)");
            for (int i = 0; i < 100; i++) {
                execute(primary, "INSERT INTO note VALUES (" + i + ")");
            }

            primary.kill();
            assertThat(primary.isRunning()).isFalse();
            assertThatThrownBy(() -> primary.connect("postgres")).isInstanceOf(SQLException.class);
            standby.promote();

            assertThat(cluster.primary()).isSameAs(standby);
            assertThat(cluster.standbys()).isEmpty();
            assertThat(standby.isInRecovery()).isFalse();
            Properties user = new Properties();
            user.setProperty("user", cluster.username());
            try (Connection connection = DriverManager.getConnection(cluster.failoverUrl("postgres"), user);
                 Statement statement = connection.createStatement()) {
                statement.execute("INSERT INTO note VALUES (100)");
                try (ResultSet rows = statement.executeQuery("SELECT count(*), inet_server_port() FROM note")) {
                    rows.next();
                    assertThat(rows.getInt(1)).isEqualTo(101);
                    assertThat(rows.getInt(2)).isEqualTo(standby.port());
                }
            }
        }
    }

    @Test
    void aKilledStandbyStartsAgainAndCatchesUp() throws SQLException {
        try (PostgresCluster cluster = PostgresCluster.builder().start()) {
            PostgresCluster.Node standby = cluster.standbys().get(0);
            execute(cluster.primary(), "CREATE TABLE note (id int PRIMARY KEY)");
            standby.kill();
            execute(cluster.primary(), "INSERT INTO note VALUES (1)");

            standby.start();
            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));

            assertThat(count(standby, "SELECT count(*) FROM note")).isEqualTo(1);
            assertThatThrownBy(standby::start).isInstanceOf(IllegalStateException.class).hasMessageContaining("running");
        }
    }

    private static void execute(PostgresCluster.Node node, String... statements) throws SQLException {
        try (Connection connection = node.connect("postgres"); Statement statement = connection.createStatement()) {
            for (String sql : statements) {
                statement.execute(sql);
            }
        }
    }

    private static long count(PostgresCluster.Node node, String sql) throws SQLException {
        return Long.parseLong(text(node, sql));
    }

    private static String text(PostgresCluster.Node node, String sql) throws SQLException {
        try (Connection connection = node.connect("postgres"); Statement statement = connection.createStatement();
             ResultSet rows = statement.executeQuery(sql)) {
            rows.next();
            return rows.getString(1);
        }
    }
}
