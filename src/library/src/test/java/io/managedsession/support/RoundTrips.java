package io.managedsession.support;

import java.lang.reflect.InvocationHandler;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Proxy;
import java.sql.Connection;
import java.sql.Statement;
import java.util.Set;
import java.util.concurrent.atomic.AtomicInteger;

import javax.sql.DataSource;

/**
 * Counts round trips at the driver: every statement execution and every COMMIT or ROLLBACK that reaches the server
 * through a DataSource's connections (the PostgreSQL driver sends BEGIN with the first statement, so it costs none).
 */
public final class RoundTrips {

    private static final Set<String> ROUND_TRIPS = Set.of("execute", "executeQuery", "executeUpdate",
            "executeLargeUpdate", "executeBatch", "commit", "rollback");

    private RoundTrips() {
    }

    /** A DataSource whose connections count into {@code roundTrips} the calls that reach the server. */
    public static DataSource counting(DataSource real, AtomicInteger roundTrips) {
        return (DataSource) Proxy.newProxyInstance(RoundTrips.class.getClassLoader(),
                new Class<?>[] {DataSource.class}, forwarding(real, roundTrips));
    }

    /**
     * Forwards every call; counts the ones that are round trips, and wraps what connections and statements hand out
     * so that their calls are counted too.
     */
    private static InvocationHandler forwarding(Object target, AtomicInteger roundTrips) {
        return (proxy, method, args) -> {
            if (ROUND_TRIPS.contains(method.getName())) {
                roundTrips.incrementAndGet();
            }
            Object result;
            try {
                result = method.invoke(target, args);
            } catch (InvocationTargetException e) {
                throw e.getCause();
            }
            Class<?> type = method.getReturnType();
            if (result != null && type.isInterface() && (Connection.class.isAssignableFrom(type)
                    || Statement.class.isAssignableFrom(type))) {
                return Proxy.newProxyInstance(RoundTrips.class.getClassLoader(), new Class<?>[] {type},
                        forwarding(result, roundTrips));
            }
            return result;
        };
    }
}
