package io.managedsession.ledger.app;

import java.io.IOException;
import java.net.InetSocketAddress;
import java.time.Duration;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;
import com.sun.net.httpserver.HttpServer;

import io.micrometer.prometheusmetrics.PrometheusConfig;
import io.micrometer.prometheusmetrics.PrometheusMeterRegistry;

import io.managedsession.SessionManager;
import io.managedsession.micrometer.SessionManagerMetrics;

/**
 * The ledger's HTTP service: the JDK's HTTP server with one virtual thread per request, each request's work in one
 * SessionManager transaction ({@link LedgerEndpoints}), JSON in ({@link JsonRequests}) and out. Amounts are integers in
 * minor units (cents).
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
 * Errors are JSON too ({@link ErrorResponses}): {@code {"error": "insufficient_funds", "message": "..."}}. This class
 * owns the server's lifecycle and the routing.
 */
final class LedgerServer implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);

    private final HttpServer server;
    private final ExecutorService requests = Executors.newVirtualThreadPerTaskExecutor();
    private final Duration drainTimeout;
    private final LedgerEndpoints endpoints;
    private final PrometheusMeterRegistry metrics = new PrometheusMeterRegistry(PrometheusConfig.DEFAULT);

    private LedgerServer(SessionManager sessions, HttpServer server, Duration drainTimeout) {
        this.server = server;
        this.drainTimeout = drainTimeout;
        this.endpoints = new LedgerEndpoints(sessions);
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

    private void handle(HttpExchange exchange) {
        Response response;
        Throwable failure = null;
        try {
            response = route(exchange);
        } catch (IOException | RuntimeException | Error e) {
            // Errors too: a request whose handler dies without an answer leaves its client waiting forever.
            failure = e;
            response = ErrorResponses.of(e, exchange);
        }
        response.send(exchange);
        if (failure instanceof VirtualMachineError fatal) {
            throw fatal;
        }
    }

    private Response route(HttpExchange exchange) throws IOException {
        String method = exchange.getRequestMethod();
        List<String> path = JsonRequests.pathSegments(exchange.getRequestURI().getRawPath());
        if (path.equals(List.of("health"))) {
            requireMethod(method, "GET");
            return endpoints.health();
        }
        if (path.equals(List.of("metrics"))) {
            requireMethod(method, "GET");
            return Response.text(200, metrics.scrape(), "text/plain; version=0.0.4; charset=utf-8");
        }
        if (path.equals(List.of("accounts"))) {
            requireMethod(method, "POST");
            return endpoints.openAccount(exchange);
        }
        if (path.equals(List.of("transfers"))) {
            requireMethod(method, "POST");
            return endpoints.transfer(exchange);
        }
        if (path.size() == 2 && path.get(0).equals("accounts")) {
            requireMethod(method, "GET");
            return endpoints.account(JsonRequests.accountId(path.get(1)));
        }
        if (path.size() == 3 && path.get(0).equals("accounts") && path.get(2).equals("deposits")) {
            requireMethod(method, "POST");
            return endpoints.deposit(JsonRequests.accountId(path.get(1)), exchange);
        }
        if (path.size() == 3 && path.get(0).equals("accounts") && path.get(2).equals("transfers")) {
            requireMethod(method, "GET");
            return endpoints.transfersOf(JsonRequests.accountId(path.get(1)),
                    JsonRequests.limit(exchange.getRequestURI().getRawQuery()));
        }
        throw new ApiError(404, "not_found", "No route for " + method + " " + exchange.getRequestURI().getRawPath());
    }

    private static void requireMethod(String method, String allowed) {
        if (!method.equals(allowed)) {
            throw new ApiError(405, "method_not_allowed", "Method " + method + " is not allowed here; use " + allowed)
                    .withHeader("Allow", allowed);
        }
    }
}
