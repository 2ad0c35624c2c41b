package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;

import javax.sql.DataSource;

import org.postgresql.PGConnection;

import io.managedsession.ConnectionUnavailableException;

/**
 * What a pooler in transaction mode (PgBouncer's {@code pool_mode = transaction}) needs of the driver. Consecutive
 * transactions of one client connection may run on different server connections, so nothing may live in the server
 * session from one transaction to the next. The manager itself only sets transaction-scoped state ({@code SET
 * TRANSACTION}, {@code SET LOCAL}) and refuses the JDBC calls that would set session state; what is left is the
 * driver's named server-side prepared statements, which it makes from a statement's fifth execution
 * ({@code prepareThreshold}, default 5) and which the next transaction's server connection does not know. An owned
 * pool gets {@code prepareThreshold=0}; a DataSource passed in is checked here.
 */
final class PoolerCompatibility {

    private PoolerCompatibility() {
    }

    /**
     * Refuses a DataSource whose connections would make named server-side prepared statements.
     *
     * @throws IllegalStateException when its driver's {@code prepareThreshold} is above zero
     * @throws ConnectionUnavailableException when no connection could be had to look
     */
    static void requireNoServerPreparedStatements(DataSource dataSource, String managerName) {
        int threshold;
        try (Connection connection = dataSource.getConnection()) {
            if (!connection.isWrapperFor(PGConnection.class)) {
                return;
            }
            threshold = connection.unwrap(PGConnection.class).getPrepareThreshold();
        } catch (SQLException e) {
            throw new ConnectionUnavailableException("SessionManager '" + managerName + "' could not check its"
                    + " DataSource for transactionPooler(true): " + e.getMessage(), e);
        }
        if (threshold > 0) {
            throw new IllegalStateException("SessionManager '" + managerName + "' has transactionPooler(true), but its"
                    + " DataSource's connections make a named server-side prepared statement of any statement run "
                    + threshold + " time(s) (prepareThreshold=" + threshold + "), which a pooler in transaction mode breaks: the next transaction may run on a server"
                    + " connection that does not know them. Set prepareThreshold=0 on the DataSource (URL parameter"
                    + " or PGSimpleDataSource.setPrepareThreshold(0)); a PgBouncer 1.21 or later with"
                    + " max_prepared_statements above zero tracks them, and then transactionPooler is not needed");
        }
    }
}
