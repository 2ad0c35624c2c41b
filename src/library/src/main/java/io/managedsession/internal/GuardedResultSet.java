package io.managedsession.internal;

import java.sql.Blob;
import java.sql.Clob;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.tools.jdbc.DefaultResultSet;

/**
 * A result set of the transaction's connection: {@code getStatement()} leads back to the guarded statement that made
 * it ({@code null} for metadata), and {@code unwrap} hands out nothing that leads to the physical connection.
 *
 * <p>Every call that may go to the server passes the gate: moving the cursor (with a fetch size the driver reads the
 * next rows over the connection, so a lazy jOOQ {@code Cursor} or {@code Stream} read on another thread, or after its
 * transaction ended, is refused before it does, and so is a row read after the transaction's deadline: a lazy read
 * paced by the client stops there rather than at the commit), large objects, and the writes of an updatable result
 * set. Reading the current row's values does not: the driver holds them already, and a check per column would tax
 * every fetch. {@code close()} never asks: closing what the transaction's end closed already is harmless.
 */
final class GuardedResultSet extends DefaultResultSet {

    private final ResultSet physical;
    private final Statement statement;
    private final ConnectionGate gate;
    /** Whether it is read with a fetch size, so that moving the cursor may fetch rows over the connection. */
    private final boolean fetching;
    /**
     * With a fetch size, how many of the rows the driver fetched {@link #next()} has not reached yet: the driver
     * fetches a fetch size's rows with the statement and then whenever they are used up, so at 0 the next move fetches
     * from the server.
     */
    private int unread;

    GuardedResultSet(ResultSet physical, Statement statement, ConnectionGate gate) {
        super(physical, statement);
        this.physical = physical;
        this.statement = statement;
        this.gate = gate;
        this.unread = fetchSizeOf(physical);
        this.fetching = unread > 0;
    }

    private static int fetchSizeOf(ResultSet rows) {
        try {
            return rows.getFetchSize();
        } catch (SQLException e) {
            return 0; // closed already: it fetches nothing more
        }
    }

    @Override
    public Statement getStatement() {
        return statement;
    }

    @Override
    public void close() throws SQLException {
        physical.close();
    }

    @Override
    public boolean isClosed() throws SQLException {
        return physical.isClosed();
    }

    // --- moving the cursor: the driver may fetch the next rows over the connection ------------------------------------

    /**
     * With a fetch size, no row is read after the transaction's deadline, and a move that fetches from the server first
     * brings the server's timeouts up to the time left, as a statement does: the server times each fetch on its own.
     */
    @Override
    public boolean next() throws SQLException {
        if (!fetching) {
            gate.check();
        } else if (unread > 0) {
            gate.beforeFetch();
            unread--;
        } else {
            // The server runs the query on for this fetch, under the timeouts in force when it begins: the gate
            // brings them up to the time left as before a statement.
            gate.beforeExecute();
            unread = Math.max(1, fetchSizeOf(physical)) - 1;
        }
        return physical.next();
    }

    @Override
    public boolean previous() throws SQLException {
        gate.check();
        return physical.previous();
    }

    @Override
    public boolean first() throws SQLException {
        gate.check();
        return physical.first();
    }

    @Override
    public boolean last() throws SQLException {
        gate.check();
        return physical.last();
    }

    @Override
    public void beforeFirst() throws SQLException {
        gate.check();
        physical.beforeFirst();
    }

    @Override
    public void afterLast() throws SQLException {
        gate.check();
        physical.afterLast();
    }

    @Override
    public boolean absolute(int row) throws SQLException {
        gate.check();
        return physical.absolute(row);
    }

    @Override
    public boolean relative(int rows) throws SQLException {
        gate.check();
        return physical.relative(rows);
    }

    // --- large objects, read through the connection --------------------------------------------------------------------

    @Override
    public Blob getBlob(int columnIndex) throws SQLException {
        gate.check();
        return physical.getBlob(columnIndex);
    }

    @Override
    public Blob getBlob(String columnLabel) throws SQLException {
        gate.check();
        return physical.getBlob(columnLabel);
    }

    @Override
    public Clob getClob(int columnIndex) throws SQLException {
        gate.check();
        return physical.getClob(columnIndex);
    }

    @Override
    public Clob getClob(String columnLabel) throws SQLException {
        gate.check();
        return physical.getClob(columnLabel);
    }

    // --- the writes of an updatable result set --------------------------------------------------------------------------

    @Override
    public void insertRow() throws SQLException {
        gate.check();
        physical.insertRow();
    }

    @Override
    public void updateRow() throws SQLException {
        gate.check();
        physical.updateRow();
    }

    @Override
    public void deleteRow() throws SQLException {
        gate.check();
        physical.deleteRow();
    }

    @Override
    public void refreshRow() throws SQLException {
        gate.check();
        physical.refreshRow();
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
