package io.managedsession.internal;

import java.sql.SQLException;
import java.sql.Savepoint;

import org.jooq.ConnectionProvider;
import org.jooq.Transaction;
import org.jooq.TransactionContext;
import org.jooq.TransactionProvider;
import org.jooq.exception.DataAccessException;

/**
 * The {@link TransactionProvider} of every SessionManager transaction's configuration, for what jOOQ still begins:
 * a {@code ctx.transaction(...)} inside a running transaction (a user's, or the runner's for
 * {@code Propagation.NESTED}) becomes a savepoint, as with jOOQ's own provider. The transaction itself is begun,
 * committed and rolled back by the {@link TransactionRunner} through its {@link TransactionScope}; jOOQ finds that
 * scope through the {@link ConnectionGate}, the connection provider of the configuration it derived, or through the
 * {@link CurrentTransactionConnections} of the manager's {@code dsl()}, which lead to the calling thread's gate.
 */
final class ScopeTransactionProvider implements TransactionProvider {

    /** A jOOQ transaction nested inside another: a savepoint. */
    private record SavepointTransaction(Savepoint savepoint) implements Transaction {
    }

    @Override
    public void begin(TransactionContext ctx) {
        ConnectionGate running = gateOf(ctx.configuration().connectionProvider());
        if (running == null) {
            throw new IllegalStateException("A SessionManager transaction can only be begun by the SessionManager"
                    + " itself");
        }
        TransactionScope scope = running.scope();
        scope.gate().check();
        try {
            ctx.transaction(new SavepointTransaction(scope.begin()));
        } catch (SQLException e) {
            throw new DataAccessException("Could not set a savepoint: " + e.getMessage(), e);
        }
    }

    @Override
    public void commit(TransactionContext ctx) {
        scopeOf(ctx).commit(savepointOf(ctx));
    }

    @Override
    public void rollback(TransactionContext ctx) {
        if (ctx.transaction() == null) {
            return; // begin() failed: there is nothing to roll back
        }
        scopeOf(ctx).rollback(savepointOf(ctx));
    }

    private static Savepoint savepointOf(TransactionContext ctx) {
        return ctx.transaction() instanceof SavepointTransaction nested ? nested.savepoint() : null;
    }

    /**
     * The gate of the transaction a configuration's statements run in: its own, or the calling thread's for the
     * manager's {@code dsl()}; {@code null} for a connection provider of anyone else's.
     */
    private static ConnectionGate gateOf(ConnectionProvider provider) {
        if (provider instanceof ConnectionGate gate) {
            return gate;
        }
        return provider instanceof CurrentTransactionConnections current ? current.gate() : null;
    }

    private static TransactionScope scopeOf(TransactionContext ctx) {
        // Set by begin(); see the class comment.
        ConnectionProvider provider = ctx.configuration().connectionProvider();
        ConnectionGate gate = gateOf(provider);
        if (gate != null) {
            return gate.scope();
        }
        throw new IllegalStateException("A SessionManager transaction needs its own connection provider, but the"
                + " configuration has " + provider + "; do not replace the ConnectionProvider of a transaction's"
                + " DSLContext");
    }
}
