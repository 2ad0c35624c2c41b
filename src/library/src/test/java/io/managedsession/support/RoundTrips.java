package io.managedsession.support;

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
        return ForwardingJdbc.around(real, (method, args) -> {
            if (ROUND_TRIPS.contains(method.getName())) {
                roundTrips.incrementAndGet();
            }
            return ForwardingJdbc.FORWARD;
        });
    }
}
