package io.managedsession.support;

import static org.assertj.core.api.Assertions.assertThat;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;

/** Checks of a SessionManager's pool and of the server after a test. */
public final class Pools {

    private Pools() {
    }

    /** The HikariCP pool behind a SessionManager built from a URL. */
    public static HikariPoolMXBean pool(SessionManager sessions) {
        return ((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean();
    }

    /**
     * Asserts that nothing was left behind: no connection checked out of the pool, no session idle in a transaction
     * on the server, and no transaction on this thread.
     */
    public static void assertNothingLeaked(SessionManager sessions, TestDatabase database) {
        assertThat(pool(sessions).getActiveConnections()).as("connections still checked out of the pool").isZero();
        assertThat(database.idleInTransaction()).as("sessions 'idle in transaction' on the server").isZero();
        assertThat(sessions.current()).as("transaction left on this thread").isEmpty();
    }
}
