package io.managedsession.support;

import java.util.concurrent.atomic.AtomicInteger;

import com.zaxxer.hikari.metrics.IMetricsTracker;
import com.zaxxer.hikari.metrics.MetricsTrackerFactory;
import com.zaxxer.hikari.metrics.PoolStats;

/**
 * Counts the connections a HikariCP pool makes, as its metrics tracker ({@code HikariConfig.setMetricsTrackerFactory}):
 * that a connection "stayed in the pool" is that none was made to replace it. A backend's pid cannot tell it behind
 * PgBouncer in transaction mode, where it names whichever server connection PgBouncer lent the transaction. HikariCP
 * makes its first connection before it asks for the tracker, so count from a baseline taken once the pool is in use.
 */
public final class ConnectionsMade implements MetricsTrackerFactory {

    private final AtomicInteger made = new AtomicInteger();

    @Override
    public IMetricsTracker create(String poolName, PoolStats poolStats) {
        return new IMetricsTracker() {
            @Override
            public void recordConnectionCreatedMillis(long connectionCreatedMillis) {
                made.incrementAndGet();
            }
        };
    }

    /** The connections made since the pool asked for its tracker. */
    public int count() {
        return made.get();
    }
}
