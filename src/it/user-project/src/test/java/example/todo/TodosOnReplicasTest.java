package example.todo;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.time.Duration;
import java.util.List;
import java.util.Optional;
import java.util.concurrent.CopyOnWriteArrayList;

import org.jooq.DSLContext;
import org.jooq.impl.DSL;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.MethodOrderer;
import org.junit.jupiter.api.Order;
import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.TestMethodOrder;

import io.managedsession.CommitPosition;
import io.managedsession.CompletedTransaction;
import io.managedsession.Route;
import io.managedsession.SessionManager;
import io.managedsession.TransactionObserver;
import io.managedsession.TransactionOptions;
import io.managedsession.database.PostgresCluster;

/**
 * The todo service on more than one server, as its own tests try it: a primary with a streaming standby started by the
 * library's PostgresCluster, the project's migrations applied at start on the primary and replayed by the standby, its
 * reads (a PreparedQuery among them) routed to the standby, a read that must see the user's last write, a standby that
 * is down, and a failover to the promoted standby. Tagged {@code own-servers} like the library's tests that start
 * every server they use: a build that runs the suite once per source of PostgreSQL runs it once.
 */
@Tag("own-servers")
@TestMethodOrder(MethodOrderer.OrderAnnotation.class)
class TodosOnReplicasTest {

    /** Long enough that the read right after a write surely finds the standby behind, even on a loaded machine. */
    private static final Duration STANDBY_LAG = Duration.ofSeconds(2);

    private static final TransactionOptions READ = TransactionOptions.readOnly();

    /** A primary and a standby that applies each commit {@link #STANDBY_LAG} after it, for the first two tests. */
    private static PostgresCluster lagging;
    private static SessionManager sessions;

    private final List<CompletedTransaction> completed = new CopyOnWriteArrayList<>();

    @BeforeAll
    static void startTheServiceOnAPrimaryAndALaggingStandby() {
        lagging = PostgresCluster.builder().standbys(1).standbyApplyDelay(STANDBY_LAG).start();
        sessions = SessionManager.builder().name("todos")
                .jdbcUrl(lagging.primary().jdbcUrl("postgres"))
                .replicaUrls(lagging.standbys().get(0).jdbcUrl("postgres"))
                .username(lagging.username())
                .replicaCatchUpTimeout(STANDBY_LAG.multipliedBy(5))
                .migrateOnStart(true)
                .build();
        lagging.awaitStandbysCaughtUp(STANDBY_LAG.multipliedBy(10));
    }

    @AfterAll
    static void stopThem() {
        if (sessions != null) {
            sessions.close();
        }
        if (lagging != null) {
            lagging.close();
        }
    }

    @Test
    @Order(1)
    void aReadCarryingTheUsersCommitPositionSeesTheWriteOnAStandbyThatLagsBehind() {
        sessions.addObserver(recordingInto(completed));

        long id = sessions.transactionResult(tx -> Todos.add(tx, "call the plumber"));
        String token = sessions.lastCommitPosition().orElseThrow().toString();

        Optional<String> stale = sessions.transactionResult(READ, tx -> Todos.title(tx, id));
        TransactionOptions seeingIt = READ.toBuilder().notBefore(CommitPosition.parse(token)).build();
        Optional<String> fresh = sessions.transactionResult(seeingIt, tx -> Todos.title(tx, id));
        boolean onTheStandby = sessions.transactionResult(seeingIt, TodosOnReplicasTest::inRecovery);

        assertEquals(Optional.empty(), stale, "a read without the position ran on the standby before it replayed");
        assertEquals(Optional.of("call the plumber"), fresh);
        assertTrue(onTheStandby);
        assertEquals(List.of(Route.PRIMARY, Route.REPLICA, Route.REPLICA, Route.REPLICA),
                completed.stream().map(CompletedTransaction::route).toList());
    }

    @Test
    @Order(2)
    void withTheStandbyDownTheReadsRunOnThePrimaryAndSaySo() {
        long id = sessions.transactionResult(tx -> Todos.add(tx, "water the plants"));
        lagging.awaitStandbysCaughtUp(STANDBY_LAG.multipliedBy(10));
        assertEquals(Optional.of("water the plants"), sessions.transactionResult(READ, tx -> Todos.title(tx, id)));

        lagging.standbys().get(0).kill();
        sessions.addObserver(recordingInto(completed));
        // The first read may find the standby's pooled connection dead: a transient failure, run again elsewhere.
        TransactionOptions read = READ.toBuilder().maxAttempts(2).build();

        assertEquals(Optional.of("water the plants"), sessions.transactionResult(read, tx -> Todos.title(tx, id)));
        assertTrue(sessions.transactionResult(read, Todos::open).contains("water the plants"));
        assertFalse(sessions.transactionResult(read, TodosOnReplicasTest::inRecovery));
        assertEquals(List.of(Route.PRIMARY_FALLBACK, Route.PRIMARY_FALLBACK, Route.PRIMARY_FALLBACK),
                completed.stream().map(CompletedTransaction::route).toList());
    }

    @Test
    void afterAFailoverTheServiceWritesToThePromotedStandbyAndHasLostNoAcknowledgedTodo() {
        try (PostgresCluster cluster = PostgresCluster.builder().standbys(1).synchronousCommit(true).start();
             SessionManager sessions = SessionManager.builder().name("todos")
                     .jdbcUrl(cluster.failoverUrl("postgres"))
                     .username(cluster.username())
                     .migrateOnStart(true)
                     .build()) {
            long before = sessions.transactionResult(tx -> Todos.add(tx, "before the crash"));
            PostgresCluster.Node standby = cluster.standbys().get(0);

            cluster.primary().kill();
            standby.promote();
            // The pooled connections went with the old primary: the first write finds one dead, which cannot have
            // committed, and runs again on a fresh connection, which the driver opens to the new primary.
            TransactionOptions write = TransactionOptions.builder().maxAttempts(3).deadline(Duration.ofSeconds(30))
                    .build();
            sessions.transaction(write, tx -> Todos.add(tx, "after the crash"));

            assertEquals(List.of("before the crash", "after the crash"), sessions.transactionResult(Todos::open));
            assertEquals(Optional.of("before the crash"), sessions.transactionResult(tx -> Todos.title(tx, before)));
            assertEquals(standby.port(), sessions.transactionResult(TodosOnReplicasTest::serverPort));
        }
    }

    private static TransactionObserver recordingInto(List<CompletedTransaction> completed) {
        return new TransactionObserver() {
            @Override
            public void transactionCompleted(CompletedTransaction transaction) {
                completed.add(transaction);
            }
        };
    }

    private static boolean inRecovery(DSLContext tx) {
        return tx.fetchValue(DSL.field("pg_is_in_recovery()", Boolean.class));
    }

    private static int serverPort(DSLContext tx) {
        return tx.fetchValue(DSL.field("current_setting('port')::int", Integer.class));
    }
}
