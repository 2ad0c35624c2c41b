package io.managedsession.internal;

import java.sql.Connection;

import org.jooq.ConnectionProvider;

import io.managedsession.NoTransactionException;

/**
 * The connection provider of a manager's {@code dsl()}, and the source of its {@code transactionalDataSource()}'s
 * connections: each goes to the gate of the transaction the calling thread runs, so one {@code DSLContext} or
 * {@code DataSource}, held for as long as the application likes, works in whichever transaction calls it, under that
 * transaction's checks (its thread, its end, its deadline). A thread that runs none is refused.
 */
final class CurrentTransactionConnections implements ConnectionProvider {

    private final ThreadScope threadScope;
    private final String refusal;

    /**
     * @param refusal the message of the {@link NoTransactionException} on a thread that runs no transaction: what
     *                the caller used, and what to do instead
     */
    CurrentTransactionConnections(ThreadScope threadScope, String refusal) {
        this.threadScope = threadScope;
        this.refusal = refusal;
    }

    /**
     * The gate of the calling thread's transaction.
     *
     * @throws NoTransactionException when the thread runs no transaction of the manager
     */
    ConnectionGate gate() {
        TransactionScope scope = threadScope.get();
        if (scope == null) {
            throw new NoTransactionException(refusal);
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
