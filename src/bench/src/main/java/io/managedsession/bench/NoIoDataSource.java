package io.managedsession.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.jooq.tools.jdbc.MockConnection;
import org.jooq.tools.jdbc.MockDataProvider;
import org.jooq.tools.jdbc.MockResult;

/**
 * A DataSource whose connections do no I/O (jOOQ's MockConnection answering every statement with one updated row),
 * so that a benchmark sees the client-side cost of a transaction layer instead of a network round trip.
 */
final class NoIoDataSource implements DataSource {

    private static final MockDataProvider ONE_ROW_UPDATED = context -> new MockResult[] {new MockResult(1)};

    @Override
    public Connection getConnection() {
        return new MockConnection(ONE_ROW_UPDATED);
    }

    @Override
    public Connection getConnection(String username, String password) {
        return getConnection();
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) {
    }

    @Override
    public void setLoginTimeout(int seconds) {
    }

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public Logger getParentLogger() {
        return Logger.getGlobal();
    }

    @Override
    public <T> T unwrap(Class<T> type) {
        throw new UnsupportedOperationException();
    }

    @Override
    public boolean isWrapperFor(Class<?> type) {
        return false;
    }
}
