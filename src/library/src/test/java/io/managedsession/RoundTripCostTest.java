package io.managedsession;

import static io.managedsession.support.SecondConnection.execute;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;

import io.managedsession.support.Checkout;
import io.managedsession.support.CommitCuttingProxy;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * What each combination of transaction options costs in round trips, counted on the wire: a proxy between the driver
 * and the server counts the messages after which the driver waits for the server (Sync and Query). Every transaction
 * runs one statement; the PostgreSQL driver sends BEGIN with it, so a transaction with nothing to set costs two round
 * trips, the statement and COMMIT. The table in {@code docs/benchmarks/round-trips.md} is this test's output, and the
 * test fails when the two differ.
 */
@DatabaseTest(migrations = {})
class RoundTripCostTest {

    private static final String TABLE_FILE = "docs/benchmarks/round-trips.md";

    private TestDatabase db;
    private CommitCuttingProxy proxy;

    /** One row of the table: a combination of options, and whether the transaction writes. */
    private record Combination(String description, TransactionOptions options, boolean writes, boolean labels,
            int expected) {
    }

    @BeforeEach
    void startProxy(TestDatabase db) throws IOException {
        this.db = db;
        execute(db, "DROP TABLE IF EXISTS counter", "CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)",
                "INSERT INTO counter VALUES (1, 0)");
        proxy = CommitCuttingProxy.toServerOf(db);
    }

    @AfterEach
    void stopProxy() throws IOException {
        proxy.close();
    }

    private SessionManager.Builder viaProxy() {
        // One connection, so every transaction finds it warm; the driver's defaults otherwise.
        return Managers.via(db, "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/" + db.name()
                + "?sslmode=disable&gssEncMode=disable").maximumPoolSize(1);
    }

    @Test
    void eachOptionCombinationCostsTheRoundTripsTheDocumentedTableSays() throws IOException {
        TransactionOptions serializable = TransactionOptions.builder().isolation(Isolation.SERIALIZABLE).build();
        Duration deadline = Duration.ofSeconds(30);
        List<Combination> combinations = List.of(
                new Combination("defaults", TransactionOptions.defaults(), true, false, 2),
                new Combination("defaults, reading", TransactionOptions.defaults(), false, false, 2),
                new Combination("`readOnly(true)`", TransactionOptions.readOnly(), false, false, 2),
                new Combination("`readOnly(false)`", TransactionOptions.builder().readOnly(false).build(), true,
                        false, 3),
                new Combination("`isolation(SERIALIZABLE)`", serializable, true, false, 3),
                new Combination("`isolation(REPEATABLE_READ)`, `readOnly(true)`", TransactionOptions.builder()
                        .isolation(Isolation.REPEATABLE_READ).readOnly(true).build(), false, false, 3),
                new Combination("`isolation(SERIALIZABLE)`, `readOnly(true)`, `deferrable(true)`",
                        TransactionOptions.builder().isolation(Isolation.SERIALIZABLE).readOnly(true)
                                .deferrable(true).build(), false, false, 3),
                new Combination("`label(..)`", TransactionOptions.builder().label("report").build(), true, false, 2),
                new Combination("`label(..)` with `labelInApplicationName(true)`",
                        TransactionOptions.builder().label("report").build(), true, true, 3),
                new Combination("`deadline(..)`", TransactionOptions.builder().deadline(deadline).build(), true,
                        false, 3),
                new Combination("`maxAttempts(3)`", TransactionOptions.builder().maxAttempts(3).build(), true, false,
                        2),
                new Combination("`resolveCommitOutcome(true)`", TransactionOptions.builder()
                        .resolveCommitOutcome(true).build(), true, false, 3),
                new Combination("`resolveCommitOutcome(true)`, `readOnly(true)`", TransactionOptions.builder()
                        .resolveCommitOutcome(true).readOnly(true).build(), false, false, 2),
                new Combination("`readOnly(true)`, `deadline(..)`", TransactionOptions.builder().readOnly(true)
                        .deadline(deadline).build(), false, false, 3),
                new Combination("`isolation(SERIALIZABLE)`, `label(..)` shown, `deadline(..)`, "
                        + "`resolveCommitOutcome(true)`", serializable.toBuilder().label("transfer")
                        .deadline(deadline).resolveCommitOutcome(true).build(), true, true, 4));

        List<String> rows = new ArrayList<>();
        List<String> mismatches = new ArrayList<>();
        try (SessionManager plain = viaProxy().name("trips").build();
             SessionManager labelling = viaProxy().name("trips").labelInApplicationName(true).build()) {
            for (Combination combination : combinations) {
                SessionManager sessions = combination.labels() ? labelling : plain;
                long counted = cheapestOfFive(sessions, combination);
                rows.add("| " + combination.description() + " | " + (combination.writes() ? "UPDATE" : "SELECT")
                        + " | " + counted + " |");
                if (counted != combination.expected()) {
                    mismatches.add(combination.description() + ": " + counted + " round trips, expected "
                            + combination.expected());
                }
            }
        }
        String table = "| options | the one statement | round trips |\n| --- | --- | ---: |\n"
                + String.join("\n", rows) + "\n";
        Path generated = Path.of("target", "round-trips-table.md");
        Files.writeString(generated, table);
        assertThat(mismatches).as("round trips per transaction (table written to %s)", generated.toAbsolutePath())
                .isEmpty();
        assertThat(Files.readString(Checkout.file(TABLE_FILE))).as(TABLE_FILE + " holds the counted table")
                .contains(table);
    }

    /**
     * The fewest round trips of five runs: the pool may check a connection that sat idle with a query of its own, the
     * driver reads a result's column metadata once, and a deadline's timeouts are set again when more than 10 ms
     * passed between the transaction's start and its statement (a loaded machine); each adds to a run, never takes
     * away.
     */
    private long cheapestOfFive(SessionManager sessions, Combination combination) {
        long fewest = Long.MAX_VALUE;
        for (int run = 0; run < 5; run++) {
            long before = proxy.roundTrips();
            sessions.transaction(combination.options(), ctx -> {
                if (combination.writes()) {
                    ctx.execute("UPDATE counter SET n = n + 1 WHERE id = 1");
                } else {
                    ctx.fetch("SELECT n FROM counter WHERE id = 1");
                }
            });
            fewest = Math.min(fewest, proxy.roundTrips() - before);
        }
        return fewest;
    }
}
