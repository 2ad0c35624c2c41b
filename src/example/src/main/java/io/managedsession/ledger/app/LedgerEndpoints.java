package io.managedsession.ledger.app;

import java.io.IOException;
import java.time.Duration;
import java.util.List;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.node.ArrayNode;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.ledger.Accounts.Account;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.Health;
import io.managedsession.ledger.Transfer;
import io.managedsession.ledger.Transfers;

/**
 * The service's endpoints: each reads what it needs from the request, runs its work in one SessionManager
 * transaction with the ledger's operation functions, and shapes the reply. Reads are read-only transactions with a
 * short deadline; writes retry a serialization failure or deadlock up to three times.
 */
final class LedgerEndpoints {

    private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);
    private static final TransactionOptions READ = TransactionOptions.builder().readOnly(true)
            .deadline(Duration.ofSeconds(5)).label("http-read").build();
    private static final TransactionOptions WRITE = TransactionOptions.builder()
            .deadline(Duration.ofSeconds(10)).maxAttempts(3).label("http-write").build();
    private static final TransactionOptions HEALTH = TransactionOptions.builder().readOnly(true)
            .deadline(Duration.ofSeconds(2)).label("health").build();

    private final SessionManager sessions;

    LedgerEndpoints(SessionManager sessions) {
        this.sessions = sessions;
    }

    /** {@code GET /health}: 200 after a real round trip to the database, else 503. */
    Response health() {
        try {
            String version = sessions.transactionResult(HEALTH, Health::serverVersion);
            return Response.json(200, Response.object().put("status", "up").put("database", "PostgreSQL " + version));
        } catch (RuntimeException e) {
            log.warn("Health check failed: {}", e.toString());
            return Response.json(503, Response.object().put("status", "down")
                    .put("message", "The database did not answer"));
        }
    }

    /** {@code POST /accounts}. */
    Response openAccount(HttpExchange exchange) throws IOException {
        JsonNode body = JsonRequests.body(exchange);
        String owner = JsonRequests.requiredText(body, "owner", Accounts.MAX_OWNER_LENGTH);
        long initialBalance = body.hasNonNull("initialBalance") ? JsonRequests.amount(body, "initialBalance", true)
                : 0;
        long id = sessions.transactionResult(WRITE, ctx -> Accounts.open(ctx, owner, initialBalance));
        return Response.json(201, accountJson(new Account(id, owner, initialBalance)));
    }

    /** {@code GET /accounts/{id}}. */
    Response account(long id) {
        return Response.json(200, accountJson(sessions.transactionResult(READ, ctx -> Accounts.find(ctx, id))));
    }

    /** {@code POST /accounts/{id}/deposits}. */
    Response deposit(long id, HttpExchange exchange) throws IOException {
        long amount = JsonRequests.amount(JsonRequests.body(exchange), "amount", false);
        Account account = sessions.transactionResult(WRITE, ctx -> {
            Accounts.deposit(ctx, id, amount);
            return Accounts.find(ctx, id);
        });
        return Response.json(200, accountJson(account));
    }

    /** {@code POST /transfers} with an {@code Idempotency-Key}: 201 for a new transfer, 200 for a replay. */
    Response transfer(HttpExchange exchange) throws IOException {
        JsonNode body = JsonRequests.body(exchange);
        String idempotencyKey = JsonRequests.idempotencyKey(exchange);
        long from = JsonRequests.accountField(body, "from");
        long to = JsonRequests.accountField(body, "to");
        long amount = JsonRequests.amount(body, "amount", false);
        Transfer transfer = sessions.transactionResult(WRITE,
                ctx -> Transfers.transfer(ctx, from, to, amount, idempotencyKey));
        Response response = Response.json(transfer.replayed() ? 200 : 201, transferJson(transfer));
        return transfer.replayed() ? response.withHeaders(Map.of("Idempotent-Replayed", "true")) : response;
    }

    /** {@code GET /accounts/{id}/transfers?limit=50}. */
    Response transfersOf(long id, int limit) {
        List<Transfer> transfers = sessions.transactionResult(READ, ctx -> Transfers.forAccount(ctx, id, limit));
        ObjectNode result = Response.object();
        ArrayNode list = result.putArray("transfers");
        transfers.forEach(t -> list.add(transferJson(t)));
        return Response.json(200, result);
    }

    private static ObjectNode accountJson(Account account) {
        return Response.object().put("id", account.id()).put("owner", account.owner())
                .put("balance", account.balance());
    }

    private static ObjectNode transferJson(Transfer transfer) {
        return Response.object()
                .put("id", transfer.id().toString())
                .put("from", transfer.fromAccount())
                .put("to", transfer.toAccount())
                .put("amount", transfer.amount())
                .put("idempotencyKey", transfer.idempotencyKey())
                .put("createdAt", transfer.createdAt().toString());
    }
}
