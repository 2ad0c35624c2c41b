package io.managedsession.ledger.app;

import java.io.IOException;

import org.jooq.exception.DataAccessException;
import org.jooq.exception.SQLStateClass;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.sun.net.httpserver.HttpExchange;

import io.managedsession.CommitOutcomeUnknownException;
import io.managedsession.ConnectionUnavailableException;
import io.managedsession.TransactionTimeoutException;
import io.managedsession.ledger.IdempotencyKeyConflictException;
import io.managedsession.ledger.InsufficientFundsException;
import io.managedsession.ledger.UnknownAccountException;

/**
 * What a client is told when its request did not succeed: each refusal of the service or the ledger, and each failure
 * of the library or the database, mapped to its status and error code. Anything unforeseen is a 500 without details,
 * logged with its stack trace.
 */
final class ErrorResponses {

    private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);

    private ErrorResponses() {
    }

    /** The reply for a request of {@code exchange} that failed with {@code failure}. */
    static Response of(Throwable failure, HttpExchange exchange) {
        return switch (failure) {
            case ApiError refused -> refused.toResponse();
            case UnknownAccountException e -> Response.error(404, "unknown_account", e.getMessage());
            case InsufficientFundsException e -> Response.error(422, "insufficient_funds", e.getMessage());
            case IdempotencyKeyConflictException e -> Response.error(409, "idempotency_key_conflict", e.getMessage());
            case IllegalArgumentException e -> Response.error(400, "invalid_request", e.getMessage());
            case CommitOutcomeUnknownException e -> Response.error(503, "outcome_unknown", "The database connection"
                    + " failed while committing; whether the request took effect is unknown. Send it again with the"
                    + " same Idempotency-Key to find out");
            case TransactionTimeoutException e -> Response.error(503, "timeout", e.getMessage());
            case ConnectionUnavailableException e -> unavailable();
            case DataAccessException e -> fromDatabase(e, exchange);
            case IOException e -> Response.error(400, "unreadable_body", "The request body could not be read: "
                    + e.getMessage());
            default -> unexpected(failure, exchange);
        };
    }

    private static Response fromDatabase(DataAccessException e, HttpExchange exchange) {
        if (e.sqlStateClass() == SQLStateClass.C08_CONNECTION_EXCEPTION
                || (e.sqlState() != null && e.sqlState().startsWith("57P"))) {
            // The connection broke, or the server is shutting down: the database is unavailable, not the request bad.
            return unavailable();
        }
        if ("22003".equals(e.sqlState())) {
            return Response.error(422, "amount_out_of_range", "The resulting balance would be out of range");
        }
        return unexpected(e, exchange);
    }

    private static Response unavailable() {
        return Response.error(503, "database_unavailable", "The database is unavailable; try again later");
    }

    private static Response unexpected(Throwable failure, HttpExchange exchange) {
        log.error("Request {} {} failed", exchange.getRequestMethod(), exchange.getRequestURI().getRawPath(), failure);
        return Response.error(500, "internal_error", "An unexpected error occurred; the server log has the details");
    }
}
