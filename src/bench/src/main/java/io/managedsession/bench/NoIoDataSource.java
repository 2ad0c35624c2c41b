package io.managedsession.bench;

import java.io.PrintWriter;
import java.sql.Connection;
import java.util.logging.Logger;

import javax.sql.DataSource;

import org.jooq.Record1;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;
import org.jooq.impl.SQLDataType;
import org.jooq.tools.jdbc.MockConnection;
import org.jooq.tools.jdbc.MockDataProvider;
import org.jooq.tools.jdbc.MockResult;

/**
 * A DataSource whose connections do no I/O (jOOQ's MockConnection answering a SELECT with one row of one bigint, 42,
 * and every other statement with one updated row), so that a benchmark sees the client-side cost of a transaction
 * layer instead of a network round trip.
 */
final class NoIoDataSource implements DataSource {

    private static final Record1<Long> ROW = oneRow();

    private static final MockDataProvider ONE_ROW = context -> new MockResult[] {
            context.sql().regionMatches(true, 0, "select", 0, 6) ? new MockResult(ROW) : new MockResult(1)};

    private static Record1<Long> oneRow() {
        Record1<Long> row = DSL.using(SQLDialect.POSTGRES).newRecord(DSL.field(DSL.name("x"), SQLDataType.BIGINT));
        row.value1(42L);
        return row;
    }

    @Override
    public Connection getConnection() {
        return new MockConnection(ONE_ROW);
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
