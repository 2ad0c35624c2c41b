package io.managedsession.internal;

import java.sql.SQLException;
import java.sql.Savepoint;

import org.jooq.ConnectionProvider;
import org.jooq.Transaction;
import org.jooq.TransactionContext;
import org.jooq.TransactionProvider;
import org.jooq.exception.DataAccessException;

/**
 * The {@link TransactionProvider} behind every SessionManager transaction.
 *
 * <p>jOOQ's {@code DefaultTransactionProvider} asks the driver for the isolation level at every begin, which the
 * PostgreSQL driver answers with a server round trip; this one begins with {@code setAutoCommit(false)} only, which
 * the driver keeps local until the first statement. A jOOQ transaction nested inside a running one (a user calling
 * {@code ctx.transaction(...)} on the transaction's {@code DSLContext}) becomes a savepoint, as with jOOQ's own
 * provider. The provider is stateless: the transaction's state lives in its {@link TransactionScope}, which is the
 * configuration's connection provider.
 */
public final class ScopeTransactionProvider implements TransactionProvider {

    /** Marks the outermost jOOQ transaction of a scope, which commits or rolls back the connection itself. */
    private static final Transaction OUTERMOST = new Transaction() {
    };

    /** A jOOQ transaction nested inside another: a savepoint. */
    private record SavepointTransaction(Savepoint savepoint) implements Transaction {
    }

    @Override
    public void begin(TransactionContext ctx) {
        TransactionScope scope = scopeOf(ctx);
        scope.checkUsable();
        try {
            Savepoint savepoint = scope.begin();
            ctx.transaction(savepoint == null ? OUTERMOST : new SavepointTransaction(savepoint));
        } catch (SQLException e) {
            throw new DataAccessException("Could not begin a transaction: " + e.getMessage(), e);
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

    private static TransactionScope scopeOf(TransactionContext ctx) {
        ConnectionProvider provider = ctx.configuration().connectionProvider();
        if (provider instanceof TransactionScope scope) {
            return scope;
        }
        throw new IllegalStateException("A SessionManager transaction needs its own connection provider, but the"
                + " configuration has " + provider + "; do not replace the ConnectionProvider of a transaction's"
                + " DSLContext");
    }
}
