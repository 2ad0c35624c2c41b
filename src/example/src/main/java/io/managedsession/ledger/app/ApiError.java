package io.managedsession.ledger.app;

import java.util.Map;

/** A request the service refuses, with its HTTP status, error code and any headers the reply needs. */
final class ApiError extends RuntimeException {

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

    /** The same refusal with a header for the reply, such as {@code Allow} for a 405. */
    ApiError withHeader(String name, String value) {
        return new ApiError(status, code, getMessage(), Map.of(name, value));
    }

    Response toResponse() {
        return Response.error(status, code, getMessage()).withHeaders(headers);
    }
}
