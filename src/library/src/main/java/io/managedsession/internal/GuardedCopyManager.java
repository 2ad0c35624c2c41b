package io.managedsession.internal;

import java.sql.SQLException;

import org.postgresql.copy.CopyDual;
import org.postgresql.copy.CopyIn;
import org.postgresql.copy.CopyManager;
import org.postgresql.copy.CopyOut;
import org.postgresql.core.BaseConnection;

/**
 * The driver's COPY API on a transaction's connection: made on the guarded view of the connection, and each copy's SQL
 * passes the gate as a statement's does before it is sent, so the SQL checks see it and the transaction's deadline
 * brings the server's timeouts up to the time left. The driver's other copy methods (from a {@code Reader}, to a
 * {@code Writer}...) all begin with one of the three below.
 */
final class GuardedCopyManager extends CopyManager {

    private final ConnectionGate gate;

    GuardedCopyManager(BaseConnection view, ConnectionGate gate) throws SQLException {
        super(view);
        this.gate = gate;
    }

    @Override
    public CopyIn copyIn(String sql) throws SQLException {
        gate.beforeExecute(sql);
        return super.copyIn(sql);
    }

    @Override
    public CopyOut copyOut(String sql) throws SQLException {
        gate.beforeExecute(sql);
        return super.copyOut(sql);
    }

    @Override
    public CopyDual copyDual(String sql) throws SQLException {
        gate.beforeExecute(sql);
        return super.copyDual(sql);
    }
}
