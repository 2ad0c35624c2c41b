package io.managedsession.testing;

import static org.assertj.core.api.Assertions.assertThat;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.Statement;
import java.time.Duration;

import org.junit.jupiter.api.Test;

import io.managedsession.database.PostgresCluster;

/**
 * A developer's replication test, run in a JVM of its own by {@link SeparateTestRun}: a cluster of a primary and a
 * standby, a row written on the primary read on the standby. It tells the parent the standby's server version number.
 */
class ClusterCase {

    @Test
    void aStandbyReplaysWhatThePrimaryCommits() throws Exception {
        try (PostgresCluster cluster = PostgresCluster.builder().standbys(1).start()) {
            try (Connection primary = cluster.primary().connect("postgres");
                 Statement statement = primary.createStatement()) {
                statement.execute("CREATE TABLE replicated (x int)");
                statement.execute("INSERT INTO replicated VALUES (42)");
            }
            cluster.awaitStandbysCaughtUp(Duration.ofSeconds(30));
            try (Connection standby = cluster.standbys().getFirst().connect("postgres");
                 ResultSet rows = standby.createStatement().executeQuery(
                         "SELECT x, current_setting('server_version_num') FROM replicated")) {
                assertThat(rows.next()).isTrue();
                assertThat(rows.getInt(1)).isEqualTo(42);
                SeparateTestRun.tell(rows.getString(2));
            }
        }
    }
}
