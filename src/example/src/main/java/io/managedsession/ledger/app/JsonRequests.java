package io.managedsession.ledger.app;

import java.io.IOException;
import java.io.InputStream;
import java.util.Arrays;
import java.util.List;

import com.fasterxml.jackson.core.JsonProcessingException;
import com.fasterxml.jackson.databind.DeserializationFeature;
import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.sun.net.httpserver.HttpExchange;

import io.managedsession.ledger.Transfers;

/**
 * Reading and checking what a request brings: its JSON body, the fields in it, ids in its path and parameters in its
 * query. Anything the service cannot take is refused with an {@link ApiError} whose message names the field and, in
 * printable form and bounded length, what was sent.
 */
final class JsonRequests {

    /** The largest request body accepted. */
    static final int MAX_BODY_BYTES = 16 * 1024;

    /** A body is one JSON value: "{...} trailing garbage" is refused, not read up to the first value. */
    private static final ObjectMapper JSON = new ObjectMapper()
            .enable(DeserializationFeature.FAIL_ON_TRAILING_TOKENS);

    private JsonRequests() {
    }

    /** The request's body, which must be one JSON object of at most {@value #MAX_BODY_BYTES} bytes. */
    static JsonNode body(HttpExchange exchange) throws IOException {
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
            node = JSON.readTree(body);
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

    /** A non-blank string field of at most {@code maxLength} characters, without NUL characters. */
    static String requiredText(JsonNode body, String field, int maxLength) {
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

    /** An account id field: a positive integer. */
    static long accountField(JsonNode body, String field) {
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

    /** An amount field in minor units: an integer up to {@link Money#MAX_AMOUNT}, positive (or zero if allowed). */
    static long amount(JsonNode body, String field, boolean zeroAllowed) {
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

    /** The {@code Idempotency-Key} header a transfer needs. */
    static String idempotencyKey(HttpExchange exchange) {
        String key = exchange.getRequestHeaders().getFirst("Idempotency-Key");
        if (key == null || key.isBlank()) {
            throw new ApiError(400, "missing_idempotency_key", "A transfer needs an Idempotency-Key header");
        }
        if (key.length() > Transfers.MAX_IDEMPOTENCY_KEY_LENGTH) {
            throw new ApiError(400, "invalid_idempotency_key", "The Idempotency-Key header must be at most "
                    + Transfers.MAX_IDEMPOTENCY_KEY_LENGTH + " characters, but has " + key.length());
        }
        checkNoNul(key, "Idempotency-Key");
        return key;
    }

    /** The path's segments, without empty ones: {@code /accounts/7/} is {@code [accounts, 7]}. */
    static List<String> pathSegments(String rawPath) {
        return Arrays.stream(rawPath.split("/")).filter(s -> !s.isEmpty()).toList();
    }

    /** An account id in the path: a positive integer. */
    static long accountId(String segment) {
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

    /** The {@code limit} query parameter: 1 to 1,000, 50 when absent. */
    static int limit(String query) {
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

    private static void checkNoNul(String text, String field) {
        if (text.indexOf('\0') >= 0) {
            throw new ApiError(400, "invalid_field", field + " must not contain NUL characters");
        }
    }

    /** Echoes client input in a message without control characters and at a bounded length. */
    private static String printable(String text) {
        return printable(text, 40);
    }

    private static String printable(String text, int maxLength) {
        String cleaned = String.valueOf(text).replaceAll("\\p{Cntrl}", "?");
        return cleaned.length() > maxLength ? cleaned.substring(0, maxLength) + "..." : cleaned;
    }
}
