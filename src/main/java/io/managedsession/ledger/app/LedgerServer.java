package io.managedsession.ledger.app;

import java.io.IOException;
import java.io.InputStream;
import java.io.OutputStream;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.jooq.exception.DataAccessException;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.ConnectionUnavailableException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.TransactionTimeoutException;
import io.managedsession.internal.SqlStates;
import io.managedsession.micrometer.SessionManagerMetrics;
import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.IdempotencyKeyConflictException;
import io.managedsession.ledger.InsufficientFundsException;
import io.managedsession.ledger.Transfer;
import io.managedsession.ledger.Transfers;
import io.managedsession.ledger.UnknownAccountException;

/**
 * The ledger's HTTP service: the JDK's HTTP server with one virtual thread per request, each request's work in one
 * SessionManager transaction, JSON in and out. Amounts are integers in minor units (cents).
 *
 * <pre>
 * POST /accounts                  {"owner": "alice", "initialBalance": 10000}   201 the account
 * GET  /accounts/{id}                                                          200 the account
 * POST /accounts/{id}/deposits    {"amount": 500}                               200 the account
 * GET  /accounts/{id}/transfers   ?limit=50                                     200 {"transfers": [...]}
 * POST /transfers                 {"from": 1, "to": 2, "amount": 2500}          201 the transfer; 200 on a replay
 *                                 header Idempotency-Key: a key of the caller's
 * GET  /health                                                                 200 or 503
 * GET  /metrics                                                                200 Prometheus text format
 * </pre>
 *
 * Errors are JSON too: {@code {"error": "insufficient_funds", "message": "Account 1 has 100 but ..."}}, with 400 for
 * bad input, 404 for unknown accounts and routes, 405, 409 for a reused idempotency key, 413 for bodies over 16 KiB,
 * 422 for business refusals, 503 when the database is unavailable, and 500, without details, for anything else.
 */
final class LedgerServer implements AutoCloseable {

    /** The largest request body accepted. */
    static final int MAX_BODY_BYTES = 16 * 1024;

    private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);
    private static final TransactionOptions READ = TransactionOptions.builder().readOnly(true)
            .deadline(Duration.ofSeconds(5)).label("http-read").build();
    private static final TransactionOptions WRITE = TransactionOptions.builder()
            .deadline(Duration.ofSeconds(10)).maxAttempts(3).label("http-write").build();
    private static final TransactionOptions HEALTH = TransactionOptions.builder().readOnly(true)
            .deadline(Duration.ofSeconds(2)).label("health").build();

    private final SessionManager sessions;
    private final HttpServer server;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    // A body is one JSON value: "{...} trailing garbage" is refused, not read up to the first value.
    private final ObjectMapper json = new ObjectMapper()
            .enable(com.fasterxml.jackson.databind.DeserializationFeature.FAIL_ON_TRAILING_TOKENS);
    private final Duration drainTimeout;
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private LedgerServer(SessionManager sessions, HttpServer server, Duration drainTimeout) {
        this.sessions = sessions;
        this.server = server;
        this.drainTimeout = drainTimeout;
        new SessionManagerMetrics(sessions).bindTo(metrics);
    }

    /**
     * Starts serving on {@code address} (port 0 picks a free one).
     *
     * @param drainTimeout how long {@link #close()} lets in-flight requests finish
     */
    static LedgerServer start(SessionManager sessions, InetSocketAddress address, Duration drainTimeout)
            throws IOException {
        HttpServer server = HttpServer.create(address, 128);
        LedgerServer ledger = new LedgerServer(sessions, server, drainTimeout);
        server.createContext("/", ledger::handle);
        server.setExecutor(ledger.requests);
        server.start();
        return ledger;
    }

    int port() {
        return server.getAddress().getPort();
    }

    /** Stops accepting, lets in-flight requests finish (up to the drain timeout), then returns. */
    @Override
    public void close() {
        server.stop((int) Math.max(1, drainTimeout.toSeconds()));
        requests.shutdown();
        try {
            if (!requests.awaitTermination(drainTimeout.toMillis(), TimeUnit.MILLISECONDS)) {
                log.warn("Some requests were still running {} ms after the server stopped", drainTimeout.toMillis());
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Routing
    // ---------------------------------------------------------------------------------------------------------------

    private void handle(HttpExchange exchange) {
        Response response;
        Throwable unexpected = null;
        try {
            response = route(exchange);
        } catch (ApiError e) {
            response = new Response(e.status, errorJson(e.code, e.getMessage()), e.headers);
        } catch (UnknownAccountException e) {
            response = error(404, "unknown_account", e.getMessage());
        } catch (InsufficientFundsException e) {
            response = error(422, "insufficient_funds", e.getMessage());
        } catch (IdempotencyKeyConflictException e) {
            response = error(409, "idempotency_key_conflict", e.getMessage());
        } catch (IllegalArgumentException e) {
            response = error(400, "invalid_request", e.getMessage());
        } catch (CommitOutcomeUnknownException e) {
            response = error(503, "outcome_unknown", "The database connection failed while committing; whether the"
                    + " request took effect is unknown. Send it again with the same Idempotency-Key to find out");
        } catch (TransactionTimeoutException e) {
            response = error(503, "timeout", e.getMessage());
        } catch (ConnectionUnavailableException e) {
            response = error(503, "database_unavailable", "The database is unavailable; try again later");
        } catch (DataAccessException e) {
            response = fromDatabaseError(e);
        } catch (IOException e) {
            response = error(400, "unreadable_body", "The request body could not be read: " + e.getMessage());
        } catch (RuntimeException | Error e) {
            // Errors too: a request whose handler dies without an answer leaves its client waiting forever.
            log.error("Request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), e);
            response = error(500, "internal_error", "An unexpected error occurred; the server log has the details");
            unexpected = e;
        }
        send(exchange, response);
        if (unexpected instanceof VirtualMachineError fatal) {
            throw fatal;
        }
    }

    private Response fromDatabaseError(DataAccessException e) {
        if (SqlStates.isConnectionFailure(e)) {
            return error(503, "database_unavailable", "The database is unavailable; try again later");
        }
        if ("22003".equals(SqlStates.sqlState(e))) {
            return error(422, "amount_out_of_range", "The resulting balance would be out of range");
        }
        log.error("Database error", e);
        return error(500, "internal_error", "An unexpected error occurred; the server log has the details");
    }

    private Response route(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        List<String> path = pathSegments(exchange.getRequestURI().getRawPath());
        if (path.equals(List.of("health"))) {
            requireMethod(method, "GET");
            return health();
        }
        if (path.equals(List.of("metrics"))) {
            requireMethod(method, "GET");
            return new Response(200, null, Map.of("Content-Type", "text/plain; version=0.0.4; charset=utf-8"),
                    metrics.scrape());
        }
        if (path.equals(List.of("accounts"))) {
            requireMethod(method, "POST");
            return openAccount(readJson(exchange));
        }
        if (path.equals(List.of("transfers"))) {
            requireMethod(method, "POST");
            return transfer(exchange.getRequestHeaders().getFirst("Idempotency-Key"), readJson(exchange));
        }
        if (path.size() == 2 && path.get(0).equals("accounts")) {
            requireMethod(method, "GET");
            return account(accountId(path.get(1)));
        }
        if (path.size() == 3 && path.get(0).equals("accounts") && path.get(2).equals("deposits")) {
            requireMethod(method, "POST");
            return deposit(accountId(path.get(1)), readJson(exchange));
        }
        if (path.size() == 3 && path.get(0).equals("accounts") && path.get(2).equals("transfers")) {
            requireMethod(method, "GET");
            return transfersOf(accountId(path.get(1)), limit(exchange.getRequestURI().getRawQuery()));
        }
        throw new ApiError(404, "not_found", "No route for " + method + " " + exchange.getRequestURI().getRawPath());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Endpoints: each one transaction
    // ---------------------------------------------------------------------------------------------------------------

    private Response health() {
        try {
            String version = sessions.transactionResult(HEALTH,
                    ctx -> String.valueOf(ctx.fetchValue("SELECT current_setting('server_version')")));
            return new Response(200, json.createObjectNode().put("status", "up").put("database", "PostgreSQL " + version));
        } catch (RuntimeException e) {
            log.warn("Health check failed: {}", e.toString());
            return new Response(503, json.createObjectNode().put("status", "down")
                    .put("message", "The database did not answer"));
        }
    }

    private Response openAccount(JsonNode body) {
        String owner = requiredText(body, "owner", Accounts.MAX_OWNER_LENGTH);
        long initialBalance = body.hasNonNull("initialBalance") ? amount(body, "initialBalance", true) : 0;
        ObjectNode account = sessions.transactionResult(WRITE, ctx -> {
            long id = Accounts.open(ctx, owner, initialBalance);
            return accountJson(id, owner, initialBalance);
        });
        return new Response(201, account);
    }

    private Response account(long id) {
        return new Response(200, sessions.transactionResult(READ, ctx -> {
            long balance = Accounts.balance(ctx, id);
            String owner = ctx.fetchValue("SELECT owner FROM accounts WHERE aid = ?", id).toString();
            return accountJson(id, owner, balance);
        }));
    }

    private Response deposit(long id, JsonNode body) {
        long amount = amount(body, "amount", false);
        return new Response(200, sessions.transactionResult(WRITE, ctx -> {
            long balance = Accounts.deposit(ctx, id, amount);
            String owner = ctx.fetchValue("SELECT owner FROM accounts WHERE aid = ?", id).toString();
            return accountJson(id, owner, balance);
        }));
    }

    private Response transfer(String idempotencyKey, JsonNode body) {
        if (idempotencyKey == null || idempotencyKey.isBlank()) {
            throw new ApiError(400, "missing_idempotency_key", "A transfer needs an Idempotency-Key header");
        }
        if (idempotencyKey.length() > Transfers.MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw new ApiError(400, "invalid_idempotency_key", "The Idempotency-Key header must be at most "
                    + Transfers.MAX_IDEMPOTENCY_KEY_LENGTH + " characters, but has " + idempotencyKey.length());
        }
        checkNoNul(idempotencyKey, "Idempotency-Key");
        long from = accountField(body, "from");
        long to = accountField(body, "to");
        long amount = amount(body, "amount", false);
        Transfer transfer = sessions.transactionResult(WRITE,
                ctx -> Transfers.transfer(ctx, from, to, amount, idempotencyKey));
        Response response = new Response(transfer.replayed() ? 200 : 201, transferJson(transfer));
        return transfer.replayed() ? response.withHeader("Idempotent-Replayed", "true") : response;
    }

    private Response transfersOf(long id, int limit) {
        List<Transfer> transfers = sessions.transactionResult(READ, ctx -> Transfers.forAccount(ctx, id, limit));
        ObjectNode result = json.createObjectNode();
        transfers.forEach(t -> result.withArray("transfers").add(transferJson(t)));
        if (transfers.isEmpty()) {
            result.putArray("transfers");
        }
        return new Response(200, result);
    }

    private ObjectNode accountJson(long id, String owner, long balance) {
        return json.createObjectNode().put("id", id).put("owner", owner).put("balance", balance);
    }

    private ObjectNode transferJson(Transfer transfer) {
        return json.createObjectNode()
                .put("id", transfer.id().toString())
                .put("from", transfer.fromAccount())
                .put("to", transfer.toAccount())
                .put("amount", transfer.amount())
                .put("idempotencyKey", transfer.idempotencyKey())
                .put("createdAt", transfer.createdAt().toString());
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Input
    // ---------------------------------------------------------------------------------------------------------------

    private static List<String> pathSegments(String rawPath) {
        return java.util.Arrays.stream(rawPath.split("/")).filter(s -> !s.isEmpty()).toList();
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiError(405, "method_not_allowed", "Method " + method + " is not allowed here; use " + allowed)
                    .withHeader("Allow", allowed);
        }
    }

    private static long accountId(String segment) {
        try {
            long id = Long.parseLong(segment);
            if (id > 0) {
                return id;
            }
        } catch (NumberFormatException e) {
            // Reported below.
        }
        throw new ApiError(400, "invalid_account_id", "An account id is a positive integer, but the path has '"
                + printable(segment) + "'");
    }

    private static int limit(String query) {
        if (query == null) {
            return 50;
        }
        for (String parameter : query.split("&")) {
            if (parameter.startsWith("limit=")) {
                String value = parameter.substring("limit=".length());
                try {
                    int limit = Integer.parseInt(value);
                    if (limit >= 1 && limit <= 1_000) {
                        return limit;
                    }
                } catch (NumberFormatException e) {
                    // Reported below.
                }
                throw new ApiError(400, "invalid_limit", "limit must be an integer from 1 to 1000, but was '"
                        + printable(value) + "'");
            }
        }
        return 50;
    }

    private JsonNode readJson(HttpExchange exchange) throws IOException {
        String length = exchange.getRequestHeaders().getFirst("Content-Length");
        if (length != null) {
            try {
                if (Long.parseLong(length.trim()) > MAX_BODY_BYTES) {
                    throw tooLarge();
                }
            } catch (NumberFormatException e) {
                throw new ApiError(400, "invalid_content_length", "The Content-Length header is not a number");
            }
        }
        byte[] body;
        try (InputStream in = exchange.getRequestBody()) {
            body = in.readNBytes(MAX_BODY_BYTES + 1);
        }
        if (body.length > MAX_BODY_BYTES) {
            throw tooLarge();
        }
        if (body.length == 0) {
            throw new ApiError(400, "missing_body", "The request needs a JSON object as its body");
        }
        JsonNode node;
        try {
            node = json.readTree(body);
        } catch (JsonProcessingException e) {
            // Some refusals (nesting too deep, a number too long) come without a location.
            String where = e.getLocation() == null ? ""
                    : " (line " + e.getLocation().getLineNr() + ", column " + e.getLocation().getColumnNr() + ")";
            throw new ApiError(400, "malformed_json", "The body is not valid JSON: "
                    + printable(e.getOriginalMessage(), 200) + where);
        }
        if (node == null || !node.isObject()) {
            throw new ApiError(400, "malformed_json", "The body must be a JSON object");
        }
        return node;
    }

    private static ApiError tooLarge() {
        return new ApiError(413, "body_too_large", "The body is larger than " + MAX_BODY_BYTES + " bytes");
    }

    private static String requiredText(JsonNode body, String field, int maxLength) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw new ApiError(400, "missing_field", field + " is required");
        }
        if (!value.isTextual() || value.asText().isBlank()) {
            throw new ApiError(400, "invalid_field", field + " must be a non-blank string");
        }
        String text = value.asText();
        if (text.length() > maxLength) {
            throw new ApiError(400, "invalid_field", field + " must be at most " + maxLength + " characters, but has "
                    + text.length());
        }
        checkNoNul(text, field);
        return text;
    }

    private static void checkNoNul(String text, String field) {
        if (text.indexOf('\0') >= 0) {
            throw new ApiError(400, "invalid_field", field + " must not contain NUL characters");
        }
    }

    private static long accountField(JsonNode body, String field) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw new ApiError(400, "missing_field", field + " is required");
        }
        if (!value.isIntegralNumber() || !value.canConvertToLong() || value.asLong() <= 0) {
            throw new ApiError(400, "invalid_field", field + " must be a positive integer account id, but was "
                    + printable(value.toString()));
        }
        return value.asLong();
    }

    private static long amount(JsonNode body, String field, boolean zeroAllowed) {
        JsonNode value = body.get(field);
        if (value == null || value.isNull()) {
            throw new ApiError(400, "missing_field", field + " is required");
        }
        if (!value.isIntegralNumber()) {
            throw new ApiError(400, "invalid_amount", field + " must be an integer number of minor units (cents),"
                    + " but was " + printable(value.toString()));
        }
        if (!value.canConvertToLong() || value.asLong() > Money.MAX_AMOUNT) {
            throw new ApiError(400, "amount_out_of_range", field + " must be at most " + Money.MAX_AMOUNT
                    + ", but was " + printable(value.toString()));
        }
        long amount = value.asLong();
        if (amount < 0 || (amount == 0 && !zeroAllowed)) {
            throw new ApiError(400, "invalid_amount", field + " must be " + (zeroAllowed ? "zero or more" : "positive")
                    + ", but was " + amount);
        }
        return amount;
    }

    /** Echoes client input in a message without control characters and at a bounded length. */
    private static String printable(String text) {
        return printable(text, 40);
    }

    private static String printable(String text, int maxLength) {
        String cleaned = String.valueOf(text).replaceAll("\\p{Cntrl}", "?");
        return cleaned.length() > maxLength ? cleaned.substring(0, maxLength) + "..." : cleaned;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Output
    // ---------------------------------------------------------------------------------------------------------------

    private Response error(int status, String code, String message) {
        return new Response(status, errorJson(code, message));
    }

    private ObjectNode errorJson(String code, String message) {
        return json.createObjectNode().put("error", code).put("message", message);
    }

    private void send(HttpExchange exchange, Response response) {
        try (exchange) {
            byte[] bytes = response.text != null ? response.text.getBytes(java.nio.charset.StandardCharsets.UTF_8)
                    : json.writeValueAsBytes(response.body);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            response.headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
            exchange.sendResponseHeaders(response.status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            log.debug("Could not send the response to {}: {}", exchange.getRemoteAddress(), e.toString());
        }
    }

    /** A JSON body, or a text one (the metrics). */
    private record Response(int status, JsonNode body, Map<String, String> headers, String text) {

        Response(int status, JsonNode body) {
            this(status, body, Map.of(), null);
        }

        Response(int status, JsonNode body, Map<String, String> headers) {
            this(status, body, headers, null);
        }

        Response withHeader(String name, String value) {
            return new Response(status, body, Map.of(name, value), text);
        }
    }

    /** A refusal with its HTTP status and error code. */
    private static final class ApiError extends RuntimeException {

        private static final long serialVersionUID = 1L;

        private final int status;
        private final String code;
        private final Map<String, String> headers;

        ApiError(int status, String code, String message) {
            this(status, code, message, Map.of());
        }

        private ApiError(int status, String code, String message, Map<String, String> headers) {
            // No stack trace: a refusal is an answer, not a failure.
            super(message, null, false, false);
            this.status = status;
            this.code = code;
            this.headers = headers;
        }

        ApiError withHeader(String name, String value) {
            return new ApiError(status, code, getMessage(), Map.of(name, value));
        }
    }
}
