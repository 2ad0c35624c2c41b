package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Savepoint;
import java.util.ArrayList;
import java.util.List;

/**
 * The savepoints open in a transaction, whoever set them (NESTED, jOOQ's own nested {@code ctx.transaction(...)}, or
 * raw JDBC through the guarded connection), and what rolling back to one undoes besides the rows: the settings made
 * with {@code SET LOCAL} after it (the deadline's timeouts), the failures of joined blocks inside it (so the
 * transaction may commit again), and the completion actions registered inside it. Releasing a savepoint keeps all of
 * that; PostgreSQL's {@code ROLLBACK TO} destroys the savepoints set after the one rolled back to, and
 * {@code RELEASE} those set after it and itself.
 *
 * <p>Only the transaction's own thread uses it.
 */
final class Savepoints {

    /** What was true when a savepoint was set, for a rollback to it to restore. */
    private record Mark(Savepoint savepoint, Throwable rollbackOnlyCause, long serverTimeoutMillis,
            CompletionCallbacks.Position callbacks) {
    }

    private final Connection connection;
    private final TransactionScope scope;
    private final List<Mark> open = new ArrayList<>(2);

    Savepoints(Connection connection, TransactionScope scope) {
        this.connection = connection;
        this.scope = scope;
    }

    /** Sets a savepoint, named or not. */
    Savepoint set(String name) throws SQLException {
        Savepoint savepoint = name == null ? connection.setSavepoint() : connection.setSavepoint(name);
        open.add(new Mark(savepoint, scope.rollbackOnlyCause(), scope.serverTimeoutMillis(),
                scope.completionPosition()));
        return savepoint;
    }

    /** Rolls back to a savepoint, and undoes with the rows what was marked after it. */
    void rollbackTo(Savepoint savepoint) throws SQLException {
        connection.rollback(savepoint);
        int index = indexOf(savepoint);
        if (index < 0) {
            // Not one of this transaction's: nothing is known of what it undid, so assume the server's timeouts are
            // no longer what they were.
            scope.restoreServerTimeout(Long.MAX_VALUE);
            return;
        }
        Mark mark = open.get(index);
        scope.restoreRollbackOnly(mark.rollbackOnlyCause());
        scope.restoreServerTimeout(mark.serverTimeoutMillis());
        scope.undoCompletionActionsSince(mark.callbacks());
        open.subList(index + 1, open.size()).clear();
    }

    /** Releases a savepoint: its work and settings stay with the transaction. */
    void release(Savepoint savepoint) throws SQLException {
        connection.releaseSavepoint(savepoint);
        int index = indexOf(savepoint);
        if (index >= 0) {
            open.subList(index, open.size()).clear();
        }
    }

    private int indexOf(Savepoint savepoint) {
        for (int i = open.size() - 1; i >= 0; i--) {
            if (open.get(i).savepoint() == savepoint) {
                return i;
            }
        }
        return -1;
    }
}
