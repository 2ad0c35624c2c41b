package io.managedsession.internal;

import java.sql.Connection;

import org.jooq.ConnectionProvider;

import io.managedsession.NoTransactionException;

/**
 * The connection provider of a manager's {@code dsl()}: each statement goes to the gate of the transaction the calling
 * thread runs, so one {@code DSLContext}, held for as long as the application likes, works in whichever transaction
 * calls it, under that transaction's checks (its thread, its end, its deadline). A thread that runs none is refused.
 */
final class CurrentTransactionConnections implements ConnectionProvider {

    private final ThreadScope threadScope;
    private final String managerName;

    CurrentTransactionConnections(ThreadScope threadScope, String managerName) {
        this.threadScope = threadScope;
        this.managerName = managerName;
    }

    /**
     * The gate of the calling thread's transaction.
     *
     * @throws NoTransactionException when the thread runs no transaction of the manager
     */
    ConnectionGate gate() {
        TransactionScope scope = threadScope.get();
        if (scope == null) {
            throw new NoTransactionException("sessions.dsl() runs each statement in the calling thread's transaction"
                    + " of SessionManager '" + managerName + "', and this thread runs none: call it from inside"
                    + " sessions.transaction(...)");
        }
        return scope.gate();
    }

    @Override
    public Connection acquire() {
        return gate().acquire();
    }

    @Override
    public void release(Connection connection) {
        // The connection stays with its transaction until it ends; the runner returns it to the pool.
    }
}
