package io.managedsession.ledger.app;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.util.Map;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;
import com.fasterxml.jackson.databind.node.ObjectNode;
import com.sun.net.httpserver.HttpExchange;

/**
 * A reply: its status, a JSON body (or, for the metrics, text) and extra headers.
 *
 * @param status  the HTTP status
 * @param body    the JSON body, or {@code null} when {@code text} is the body
 * @param text    a plain-text body, or {@code null}
 * @param headers headers besides {@code Content-Type}
 */
record Response(int status, JsonNode body, String text, Map<String, String> headers) {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final Logger log = LoggerFactory.getLogger(LedgerServer.class);

    static Response json(int status, JsonNode body) {
        return new Response(status, body, null, Map.of());
    }

    /** A refusal or failure: {@code {"error": code, "message": message}}. */
    static Response error(int status, String code, String message) {
        return json(status, object().put("error", code).put("message", message));
    }

    static Response text(int status, String text, String contentType) {
        return new Response(status, null, text, Map.of("Content-Type", contentType));
    }

    /** A new JSON object to build a body with. */
    static ObjectNode object() {
        return JsonNodeFactory.instance.objectNode();
    }

    Response withHeaders(Map<String, String> extra) {
        return new Response(status, body, text, extra);
    }

    /** Sends the reply and ends the exchange; a client that went away is not an error of ours. */
    void send(HttpExchange exchange) {
        try (exchange) {
            byte[] bytes = text != null ? text.getBytes(StandardCharsets.UTF_8) : JSON.writeValueAsBytes(body);
            exchange.getResponseHeaders().set("Content-Type", "application/json");
            headers.forEach((name, value) -> exchange.getResponseHeaders().set(name, value));
            exchange.sendResponseHeaders(status, bytes.length);
            try (OutputStream out = exchange.getResponseBody()) {
                out.write(bytes);
            }
        } catch (IOException e) {
            log.debug("Could not send the response to {}: {}", exchange.getRemoteAddress(), e.toString());
        }
    }
}
