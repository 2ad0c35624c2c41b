package io.managedsession.ledger.app;

import static io.managedsession.support.SecondConnection.execute;
import static io.managedsession.support.SecondConnection.queryLong;
import static io.managedsession.support.SecondConnection.rowCount;
import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;
import static org.awaitility.Awaitility.await;

import java.io.IOException;
import java.math.BigDecimal;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.sql.Connection;
import java.time.Duration;
import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicInteger;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;

import io.managedsession.SessionManager;
import io.managedsession.support.CommitCuttingProxy;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The HTTP service end to end: started on a random port, driven with java.net.http.HttpClient. */
@DatabaseTest
class LedgerServerTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newBuilder().connectTimeout(Duration.ofSeconds(5)).build();

    private static SessionManager sessions;
    private static LedgerServer server;
    private static String base;
    private final TestDatabase db;

    LedgerServerTest(TestDatabase db) {
        this.db = db;
    }

    @BeforeAll
    static void start(TestDatabase db) throws IOException {
        sessions = Managers.on(db).maximumPoolSize(16).build();
        server = LedgerServer.start(sessions, new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(10));
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
        sessions.close();
    }

    record Reply(int status, JsonNode body, HttpResponse<String> raw) {
    }

    static Reply callAt(String base, String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        if (body != null) {
            request.header("Content-Type", "application/json");
        }
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        return new Reply(response.statusCode(), JSON.readTree(response.body()), response);
    }

    private Reply call(String method, String path, String body, String... headers) throws Exception {
        return callAt(base, method, path, body, headers);
    }

    private long openAccount(String owner, long balance) throws Exception {
        Reply reply = call("POST", "/accounts", "{\"owner\": \"" + owner + "\", \"initialBalance\": " + balance + "}");
        assertThat(reply.status()).isEqualTo(201);
        return reply.body().get("id").asLong();
    }

    /** Everything a refused request must leave unchanged. */
    private List<Long> snapshot() {
        return List.of(rowCount(db, "accounts"), rowCount(db, "transfers"), rowCount(db, "history"),
                queryLong(db, "SELECT coalesce(sum(abalance), 0) FROM accounts"));
    }

    @Test
    void accountsDepositsTransfersAndHealthWork() throws Exception {
        long alice = openAccount("alice", 100_00);
        long bob = openAccount("bob", 0);

        Reply deposit = call("POST", "/accounts/" + bob + "/deposits", "{\"amount\": 5_00}".replace("_", ""));
        Reply transfer = call("POST", "/transfers", "{\"from\": " + alice + ", \"to\": " + bob + ", \"amount\": 2500}",
                "Idempotency-Key", "happy-1");
        Reply account = call("GET", "/accounts/" + bob, null);
        Reply transfers = call("GET", "/accounts/" + bob + "/transfers?limit=10", null);
        Reply health = call("GET", "/health", null);

        assertThat(deposit.status()).isEqualTo(200);
        assertThat(deposit.body().get("balance").asLong()).isEqualTo(500);
        assertThat(transfer.status()).isEqualTo(201);
        assertThat(transfer.body().get("amount").asLong()).isEqualTo(2500);
        assertThat(account.body().get("balance").asLong()).isEqualTo(3000);
        assertThat(account.body().get("owner").asText()).isEqualTo("bob");
        assertThat(transfers.body().get("transfers")).hasSize(1);
        assertThat(health.status()).isEqualTo(200);
        assertThat(health.body().get("status").asText()).isEqualTo("up");
    }

    @Test
    void metricsAreScrapedInPrometheusFormatWithTransactionAndPoolMeters() throws Exception {
        openAccount("metered", 1_00);

        HttpResponse<String> scrape = HTTP.send(HttpRequest.newBuilder(URI.create(base + "/metrics")).GET().build(),
                HttpResponse.BodyHandlers.ofString());

        assertThat(scrape.statusCode()).isEqualTo(200);
        assertThat(scrape.headers().firstValue("Content-Type").orElse("")).startsWith("text/plain");
        assertThat(scrape.body())
                .containsPattern("managedsession_transactions_total\\{.*label=\"http-write\".*outcome=\"commit\".*} [1-9]")
                .contains("managedsession_transaction_duration_seconds")
                .contains("managedsession_transactions_active")
                .contains("managedsession_connection_acquire_seconds")
                .contains("hikaricp_connections_active")
                .contains("hikaricp_connections_max");
    }

    @Test
    void sixteenThreadsMakingRandomTransfersKeepTheTotalBalance() throws Exception {
        int accounts = 10;
        // Sixteen threads on ten accounts: transfers keep meeting on the same rows, thousands of times over.
        int transfersPerThread = 200;
        long[] ids = new long[accounts];
        for (int i = 0; i < accounts; i++) {
            ids[i] = openAccount("load-" + i, 10_000_00);
        }
        BigDecimal totalBefore = BigDecimal.valueOf(queryLong(db, "SELECT sum(abalance) FROM accounts"));
        long transfersBefore = rowCount(db, "transfers");
        AtomicInteger created = new AtomicInteger();
        AtomicInteger refused = new AtomicInteger();
        Set<Integer> unexpected = ConcurrentHashMap.newKeySet();
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService clients = Executors.newFixedThreadPool(16);
        try {
            List<Future<?>> work = new ArrayList<>();
            for (int t = 0; t < 16; t++) {
                int thread = t;
                work.add(clients.submit(() -> {
                    go.await();
                    ThreadLocalRandom random = ThreadLocalRandom.current();
                    for (int i = 0; i < transfersPerThread; i++) {
                        int from = random.nextInt(accounts);
                        int to = (from + 1 + random.nextInt(accounts - 1)) % accounts;
                        Reply reply = call("POST", "/transfers", "{\"from\": " + ids[from] + ", \"to\": " + ids[to]
                                + ", \"amount\": " + (1 + random.nextInt(50_000_00)) + "}",
                                "Idempotency-Key", "load-" + thread + "-" + i);
                        switch (reply.status()) {
                            case 201 -> created.incrementAndGet();
                            case 422 -> refused.incrementAndGet();
                            default -> unexpected.add(reply.status());
                        }
                    }
                    return null;
                }));
            }
            go.countDown();
            for (Future<?> future : work) {
                future.get(5, TimeUnit.MINUTES);
            }
        } finally {
            clients.shutdownNow();
        }

        assertThat(unexpected).as("statuses other than 201 and 422").isEmpty();
        assertThat(created.get() + refused.get()).isEqualTo(16 * transfersPerThread);
        assertThat(BigDecimal.valueOf(queryLong(db, "SELECT sum(abalance) FROM accounts"))).isEqualTo(totalBefore);
        assertThat(rowCount(db, "transfers") - transfersBefore).isEqualTo(created.get());
        assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE abalance < 0")).isZero();
    }

    @Test
    void racingReplaysOfOneIdempotencyKeyMakeExactlyOneTransfer() throws Exception {
        long from = openAccount("racer-from", 1_000_00);
        long to = openAccount("racer-to", 0);
        String body = "{\"from\": " + from + ", \"to\": " + to + ", \"amount\": 700}";
        int racers = 16;
        CountDownLatch go = new CountDownLatch(1);
        ExecutorService clients = Executors.newFixedThreadPool(racers);
        List<Reply> replies = new ArrayList<>();
        try {
            List<Future<Reply>> futures = new ArrayList<>();
            for (int i = 0; i < racers; i++) {
                futures.add(clients.submit(() -> {
                    go.await();
                    return call("POST", "/transfers", body, "Idempotency-Key", "race-key");
                }));
            }
            go.countDown();
            for (Future<Reply> future : futures) {
                replies.add(future.get(60, TimeUnit.SECONDS));
            }
        } finally {
            clients.shutdownNow();
        }

        assertThat(replies).extracting(Reply::status).containsOnly(200, 201);
        assertThat(replies).filteredOn(r -> r.status() == 201).hasSize(1);
        assertThat(replies).filteredOn(r -> r.status() == 200)
                .allMatch(r -> r.raw().headers().firstValue("Idempotent-Replayed").orElse("").equals("true"));
        Set<String> ids = new HashSet<>();
        replies.forEach(r -> ids.add(r.body().get("id").asText()));
        assertThat(ids).as("every reply names the same transfer").hasSize(1);
        assertThat(queryLong(db, "SELECT count(*) FROM transfers WHERE idempotency_key = 'race-key'")).isEqualTo(1);
        assertThat(call("GET", "/accounts/" + to, null).body().get("balance").asLong()).isEqualTo(700);
    }

    @Test
    void everyBadRequestGetsItsStatusAndMessageAndChangesNothing() throws Exception {
        long alice = openAccount("bad-input-alice", 100_00);
        long bob = openAccount("bad-input-bob", 0);
        call("POST", "/transfers", "{\"from\": " + alice + ", \"to\": " + bob + ", \"amount\": 100}",
                "Idempotency-Key", "used-key");
        List<Long> before = snapshot();
        String key = "Idempotency-Key";
        String transfer = "/transfers";
        String pair = "\"from\": " + alice + ", \"to\": " + bob;

        record Case(String method, String path, String body, String[] headers, int status, String error,
                String message) {
        }
        List<Case> cases = List.of(
                new Case("POST", transfer, "{\"from\": 1,", new String[] {key, "k-1"}, 400, "malformed_json",
                        "not valid JSON"),
                new Case("POST", transfer, "[1, 2]", new String[] {key, "k-2"}, 400, "malformed_json",
                        "must be a JSON object"),
                new Case("POST", transfer, "{" + pair + "}", new String[] {key, "k-3"}, 400, "missing_field",
                        "amount is required"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": -5}", new String[] {key, "k-4"}, 400,
                        "invalid_amount", "amount must be positive, but was -5"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 0}", new String[] {key, "k-5"}, 400,
                        "invalid_amount", "must be positive"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 12.5}", new String[] {key, "k-6"}, 400,
                        "invalid_amount", "integer number of minor units"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": \"10\"}", new String[] {key, "k-7"}, 400,
                        "invalid_amount", "integer number of minor units"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 9223372036854775808}",
                        new String[] {key, "k-8"}, 400, "amount_out_of_range", "must be at most"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 1000000000000001}", new String[] {key, "k-9"},
                        400, "amount_out_of_range", "must be at most 1000000000000000"),
                new Case("POST", transfer, "{\"from\": " + alice + ", \"to\": 987654321, \"amount\": 1}",
                        new String[] {key, "k-10"}, 404, "unknown_account", "Account 987654321 does not exist"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 1000000}", new String[] {key, "k-11"}, 422,
                        "insufficient_funds", "has 9900 but the transfer needs 1000000"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 999}", new String[] {key, "used-key"}, 409,
                        "idempotency_key_conflict", "'used-key' was already used for a different transfer"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 1}", new String[0], 400,
                        "missing_idempotency_key", "needs an Idempotency-Key header"),
                new Case("POST", transfer, "{\"from\": " + alice + ", \"to\": " + alice + ", \"amount\": 1}",
                        new String[] {key, "k-12"}, 400, "invalid_request", "two different accounts"),
                new Case("POST", transfer, "{" + pair + ", \"amount\": 1, \"pad\": \"" + "x".repeat(17_000) + "\"}",
                        new String[] {key, "k-13"}, 413, "body_too_large", "larger than 16384 bytes"),
                new Case("POST", "/accounts", "{\"initialBalance\": 5}", new String[0], 400, "missing_field",
                        "owner is required"),
                new Case("POST", "/accounts", "{\"owner\": \"x\", \"initialBalance\": -1}", new String[0], 400,
                        "invalid_amount", "initialBalance must be zero or more, but was -1"),
                new Case("POST", "/accounts", "{\"owner\": \"" + "y".repeat(201) + "\"}", new String[0], 400,
                        "invalid_field", "owner must be at most 200 characters, but has 201"),
                new Case("POST", "/accounts", "{\"owner\": \"nul\\u0000byte\"}", new String[0], 400, "invalid_field",
                        "must not contain NUL characters"),
                new Case("POST", "/accounts/987654321/deposits", "{\"amount\": 5}", new String[0], 404,
                        "unknown_account", "Account 987654321 does not exist"),
                new Case("POST", "/accounts/abc/deposits", "{\"amount\": 5}", new String[0], 400,
                        "invalid_account_id", "positive integer, but the path has 'abc'"),
                new Case("GET", "/accounts/987654321", null, new String[0], 404, "unknown_account", "does not exist"),
                new Case("GET", "/accounts/" + alice + "/transfers?limit=0", null, new String[0], 400,
                        "invalid_limit", "limit must be an integer from 1 to 1000, but was '0'"),
                new Case("GET", "/no/such/route", null, new String[0], 404, "not_found", "No route for GET"),
                new Case("DELETE", "/accounts/" + alice, null, new String[0], 405, "method_not_allowed",
                        "Method DELETE is not allowed here; use GET"));

        for (Case c : cases) {
            Reply reply = call(c.method(), c.path(), c.body(), c.headers());
            assertThat(reply.status()).as("%s %s %s", c.method(), c.path(), c.body()).isEqualTo(c.status());
            assertThat(reply.body().get("error").asText()).as("error of %s %s", c.method(), c.path())
                    .isEqualTo(c.error());
            assertThat(reply.body().get("message").asText()).as("message of %s %s", c.method(), c.path())
                    .contains(c.message());
        }
        assertThat(snapshot()).as("nothing changed by refused requests").isEqualTo(before);
    }

    @Test
    void depositThatWouldOverflowTheBalanceIsRefusedWith422() throws Exception {
        long rich = openAccount("nearly-overflowing", 0);
        execute(db, "UPDATE accounts SET abalance = " + (Long.MAX_VALUE - 10) + " WHERE aid = " + rich);
        long history = rowCount(db, "history");

        Reply reply = call("POST", "/accounts/" + rich + "/deposits", "{\"amount\": 100}");

        assertThat(reply.status()).isEqualTo(422);
        assertThat(reply.body().get("error").asText()).isEqualTo("amount_out_of_range");
        assertThat(reply.body().get("message").asText()).contains("balance would be out of range");
        assertThat(queryLong(db, "SELECT abalance FROM accounts WHERE aid = ?", rich)).isEqualTo(Long.MAX_VALUE - 10);
        assertThat(rowCount(db, "history")).isEqualTo(history);
        execute(db, "DELETE FROM accounts WHERE aid = " + rich);
    }

    @Test
    void databaseOutageGives503AndTheServiceRecovers() throws Exception {
        try (CommitCuttingProxy proxy = CommitCuttingProxy.toServerOf(db);
             SessionManager throughProxy = Managers.via(db, "jdbc:postgresql://127.0.0.1:" + proxy.port() + "/"
                     + db.name() + "?sslmode=disable&gssEncMode=disable").connectionTimeout(Duration.ofSeconds(1))
                     .build()) {
            LedgerServer fragile = LedgerServer.start(throughProxy, new InetSocketAddress("127.0.0.1", 0),
                    Duration.ofSeconds(5));
            String fragileBase = "http://127.0.0.1:" + fragile.port();
            try {
                assertThat(callAt(fragileBase, "GET", "/health", null).status()).isEqualTo(200);
                List<Long> before = snapshot();

                proxy.cutEverything();
                Reply health = callAt(fragileBase, "GET", "/health", null);
                Reply write = callAt(fragileBase, "POST", "/accounts", "{\"owner\": \"during the outage\"}");

                assertThat(health.status()).isEqualTo(503);
                assertThat(health.body().get("status").asText()).isEqualTo("down");
                assertThat(write.status()).isEqualTo(503);
                assertThat(write.body().get("error").asText()).isEqualTo("database_unavailable");
                assertThat(snapshot()).isEqualTo(before);

                proxy.restore();
                // HikariCP's connection adder backs off (up to seconds) after failed attempts, so the first request
                // after the outage may still find no connection; the service must recover on its own, soon.
                await().atMost(Duration.ofSeconds(30))
                        .until(() -> callAt(fragileBase, "GET", "/health", null).status() == 200);
                assertThat(callAt(fragileBase, "POST", "/accounts", "{\"owner\": \"after the outage\"}").status())
                        .isEqualTo(201);
                assertThat(queryLong(db, "SELECT count(*) FROM accounts WHERE owner = 'during the outage'")).isZero();
            } finally {
                fragile.close();
            }
        }
    }

    @Test
    void gracefulShutdownFinishesInFlightRequestsAndRefusesNewOnes() throws Exception {
        try (SessionManager own = Managers.on(db).maximumPoolSize(4).build()) {
            LedgerServer closing = LedgerServer.start(own, new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(30));
            String closingBase = "http://127.0.0.1:" + closing.port();
            long from = openAccount("shutdown-from", 1_000);
            long to = openAccount("shutdown-to", 0);
            ExecutorService threads = Executors.newFixedThreadPool(2);
            try (Connection locker = db.connect()) {
                // Hold the debited account's row lock, so that the transfer request waits in flight.
                locker.setAutoCommit(false);
                locker.createStatement().execute("SELECT * FROM accounts WHERE aid = " + from + " FOR UPDATE");
                Future<Reply> inFlight = threads.submit(() -> callAt(closingBase, "POST", "/transfers",
                        "{\"from\": " + from + ", \"to\": " + to + ", \"amount\": 100}", "Idempotency-Key", "in-flight"));
                await().atMost(Duration.ofSeconds(10)).until(() -> queryLong(db, 
                        "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()"
                                + " AND wait_event_type = 'Lock'") > 0);

                Future<?> stopping = threads.submit(closing::close);
                await().atMost(Duration.ofSeconds(10)).untilAsserted(() ->
                        assertThatThrownBy(() -> callAt(closingBase, "GET", "/health", null))
                                .isInstanceOf(IOException.class));
                assertThat(stopping.isDone()).as("close() waits for the request in flight").isFalse();

                locker.rollback();
                Reply reply = inFlight.get(30, TimeUnit.SECONDS);
                stopping.get(30, TimeUnit.SECONDS);

                assertThat(reply.status()).isEqualTo(201);
            } finally {
                threads.shutdownNow();
            }
            assertThat(queryLong(db, "SELECT count(*) FROM transfers WHERE idempotency_key = 'in-flight'")).isEqualTo(1);
        }
    }
}
