package io.managedsession.internal;

import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;

/**
 * What a transaction must know before its COMMIT to ask the server later whether the COMMIT took effect: its
 * transaction id, the backend that runs it, and the WAL timeline of the server, read in one round trip just before
 * COMMIT.
 *
 * @param xid      the 64-bit transaction id, or {@code null} when the transaction wrote nothing (PostgreSQL assigns an
 *                 id at the first write), so that losing its COMMIT loses nothing
 * @param pid      the backend's process id, to end it if it still holds the transaction open
 * @param timeline the server's WAL timeline (8 hex digits): a promoted standby answers on another one, where
 *                 transaction ids are not comparable
 */
record CommitTicket(String xid, int pid, String timeline) {

    /** The query that reads a ticket: the first 8 hex digits of a WAL file name are its timeline. */
    static final String QUERY = "SELECT pg_current_xact_id_if_assigned()::text, pg_backend_pid(),"
            + " substr(pg_walfile_name(pg_current_wal_lsn()), 1, 8)";

    /** Reads the ticket of the transaction running on {@code connection}: one round trip. */
    static CommitTicket read(Connection connection) throws SQLException {
        try (Statement statement = connection.createStatement(); ResultSet row = statement.executeQuery(QUERY)) {
            row.next();
            return new CommitTicket(row.getString(1), row.getInt(2), row.getString(3));
        }
    }

    /** Whether the transaction wrote anything, and so has something a lost COMMIT could lose. */
    boolean wroteAnything() {
        return xid != null;
    }
}
