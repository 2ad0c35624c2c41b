package io.managedsession.internal;

import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.tools.jdbc.DefaultResultSet;

/**
 * A result set of the transaction's connection: {@code getStatement()} leads back to the guarded statement that made
 * it ({@code null} for metadata), and {@code unwrap} hands out nothing that leads to the physical connection. Reading
 * rows needs no gate: the driver has them, or the statement (closed with its transaction) fetches them.
 */
final class GuardedResultSet extends DefaultResultSet {

    private final ResultSet physical;
    private final Statement statement;
    private final ConnectionGate gate;

    GuardedResultSet(ResultSet physical, Statement statement, ConnectionGate gate) {
        super(physical, statement);
        this.physical = physical;
        this.statement = statement;
        this.gate = gate;
    }

    @Override
    public Statement getStatement() {
        return statement;
    }

    @Override
    public <T> T unwrap(Class<T> iface) throws SQLException {
        return Guards.unwrap(this, physical, iface, gate);
    }

    @Override
    public boolean isWrapperFor(Class<?> iface) throws SQLException {
        return Guards.isWrapperFor(this, physical, iface);
    }
}
