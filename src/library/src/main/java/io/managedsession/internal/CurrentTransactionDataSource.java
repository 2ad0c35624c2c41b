package io.managedsession.internal;

import java.io.PrintWriter;
import java.sql.Connection;
import java.sql.SQLException;
import java.sql.SQLFeatureNotSupportedException;
import java.util.logging.Logger;

import javax.sql.DataSource;

/**
 * The {@code DataSource} of a manager's {@code transactionalDataSource()}: each {@code getConnection()} hands out the
 * calling thread's transaction's connection, guarded as the block's own ({@code close()} leaves it to the
 * transaction; ending the transaction is refused), and a thread that runs none is refused. It opens nothing, so it has
 * no logins to time or log.
 */
final class CurrentTransactionDataSource implements DataSource {

    private final CurrentTransactionConnections connections;
    private final String managerName;

    CurrentTransactionDataSource(CurrentTransactionConnections connections, String managerName) {
        this.connections = connections;
        this.managerName = managerName;
    }

    /** @throws io.managedsession.NoTransactionException when the calling thread runs no transaction of the manager */
    @Override
    public Connection getConnection() {
        return connections.acquire();
    }

    @Override
    public Connection getConnection(String username, String password) throws SQLException {
        throw new SQLFeatureNotSupportedException(this + " hands out the connection of the calling thread's"
                + " transaction, which has the manager's credentials: it cannot open one as another user");
    }

    @Override
    public PrintWriter getLogWriter() {
        return null;
    }

    @Override
    public void setLogWriter(PrintWriter out) throws SQLException {
        throw new SQLFeatureNotSupportedException(this + " opens no connections, so it has no log writer: the"
                + " manager's pool logs");
    }

    @Override
    public int getLoginTimeout() {
        return 0;
    }

    @Override
    public void setLoginTimeout(int seconds) throws SQLException {
        throw new SQLFeatureNotSupportedException(this + " opens no connections, so it has no login timeout: the"
                + " manager's connectionTimeout and the transaction's deadline bound the wait for one");
    }

    @Override
    public Logger getParentLogger() throws SQLFeatureNotSupportedException {
        throw new SQLFeatureNotSupportedException(this + " logs through SLF4J, not java.util.logging");
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        if (iface.isInstance(this)) {
            return iface.cast(this);
        }
        throw new SQLException(this + " wraps no " + iface.getName() + ": it hands out its transactions' connections"
                + " only, never the pool behind them");
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) {
        return iface.isInstance(this);
    }

    @Override
    public String toString() {
        return "sessions.transactionalDataSource() of SessionManager '" + managerName + "'";
    }
}
