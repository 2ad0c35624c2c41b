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
 * provider. The transaction's state lives in its {@link TransactionScope}: at the outermost begin, the provider makes
 * the {@link ConnectionGate} of the scope that the runner entered for this thread the connection provider of the
 * configuration jOOQ derived for the transaction (a copy of its own, so setting it touches nothing shared), and finds
 * the scope through it afterwards.
 */
final class ScopeTransactionProvider implements TransactionProvider {

    private final ThreadScope threadScope;

    /**
     * @param threadScope where the runner enters the scope of a transaction that is about to begin
     */
    ScopeTransactionProvider(ThreadScope threadScope) {
        this.threadScope = threadScope;
    }

    /** Marks the outermost jOOQ transaction of a scope, which commits or rolls back the connection itself. */
    private static final Transaction OUTERMOST = new Transaction() {
    };

    /** A jOOQ transaction nested inside another: a savepoint. */
    private record SavepointTransaction(Savepoint savepoint) implements Transaction {
    }

    @Override
    public void begin(TransactionContext ctx) {
        TransactionScope scope;
        if (ctx.configuration().connectionProvider() instanceof ConnectionGate running) {
            scope = running.scope(); // a jOOQ transaction nested inside ours: a savepoint
        } else {
            scope = threadScope.get();
            if (scope == null || scope.begun()) {
                throw new IllegalStateException("A SessionManager transaction can only be begun by the"
                        + " SessionManager itself");
            }
            ctx.configuration().set(scope.gate());
        }
        scope.gate().check();
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
        // Set by begin(); see the class comment.
        ConnectionProvider provider = ctx.configuration().connectionProvider();
        if (provider instanceof ConnectionGate gate) {
            return gate.scope();
        }
        throw new IllegalStateException("A SessionManager transaction needs its own connection provider, but the"
                + " configuration has " + provider + "; do not replace the ConnectionProvider of a transaction's"
                + " DSLContext");
    }
}
