package io.managedsession.internal;

import org.jooq.exception.DataAccessException;

/**
 * Carries a callback's exception through {@code DSLContext.transactionResult} unchanged.
 *
 * <p>jOOQ rolls back on any throwable, which is what we want, but it wraps checked exceptions in
 * {@code DataAccessException("Rollback caused", cause)}. The transaction scope records the exception the callback
 * threw; {@link #rethrow} then throws that very object, typed as the callback's declared exception, instead of jOOQ's
 * wrapper. Suppressed exceptions (a failed rollback) are already attached to the original by jOOQ.
 */
public final class ExceptionTunnel {

    private ExceptionTunnel() {
    }

    /**
     * Throws the callback's own exception when {@code thrown} is it or jOOQ's wrapper around it, else {@code thrown}.
     *
     * @param thrown           what {@code transactionResult} threw: always a RuntimeException or an Error
     * @param callbackFailure  what the callback threw, or {@code null} when it returned normally
     * @param <X>              the callback's declared exception type; {@code callbackFailure} is one of those or unchecked
     * @return never returns; declared so that callers can write {@code throw ExceptionTunnel.rethrow(...)}
     * @throws X the callback's exception
     */
    public static <X extends Exception> RuntimeException rethrow(Throwable thrown, Throwable callbackFailure) throws X {
        if (callbackFailure != null && (thrown == callbackFailure || isJooqWrapperOf(thrown, callbackFailure))) {
            throw ExceptionTunnel.<RuntimeException>sneakyThrow(callbackFailure);
        }
        throw ExceptionTunnel.<RuntimeException>sneakyThrow(thrown);
    }

    private static boolean isJooqWrapperOf(Throwable thrown, Throwable original) {
        return thrown instanceof DataAccessException && thrown.getCause() == original;
    }

    @SuppressWarnings("unchecked")
    private static <E extends Throwable> E sneakyThrow(Throwable t) throws E {
        throw (E) t;
    }
}
