package io.managedsession.internal;

import java.sql.Connection;
import java.sql.SQLException;
import java.sql.Statement;

import org.jooq.ConnectionProvider;
import org.postgresql.core.BaseConnection;
import org.postgresql.largeobject.LargeObjectManager;

/**
 * The gate every use of a transaction's connection passes through. It is the {@link ConnectionProvider} of the
 * transaction's jOOQ configuration, so jOOQ asks it for the connection before each query; it hands out the
 * {@link GuardedConnection}, whose every call, and every call of the statements, result sets and metadata it hands out
 * in turn, asks the gate again. It refuses a {@code DSLContext} or connection used after its transaction ended, from
 * another thread, or while a REQUIRES_NEW transaction has it suspended, with a clear error instead of letting it reach
 * a pooled connection that now belongs to somebody else; it refuses SQL text that would end the transaction or change
 * the server session; and it lets the transaction's deadline bring the server's timeouts up to date before a statement
 * is used.
 */
final class ConnectionGate implements ConnectionProvider {

    /**
     * What a user holding something fetched rather than a DSLContext needs to hear: records keep their transaction's
     * configuration, so their store() and the like come here too, and a lazy cursor reads on over its connection.
     */
    private static final String FETCHED = "A record fetched in that transaction stays attached to it: pass it to"
            + " ctx.attach(...) in the running transaction before store(), update(), delete() or refresh(). A lazy"
            + " Cursor or Stream is read on the thread of the transaction that fetched it, before that transaction"
            + " ends, or fetched at once with fetch()";

    /** jOOQ's own way of reaching another thread with a transaction's context, the one users meet most. */
    private static final String ASYNC = "jOOQ's fetchAsync(), executeAsync() and transactionResultAsync() run on"
            + " another thread: call the synchronous forms inside the transaction, or begin a transaction inside the"
            + " asynchronous task";

    private final TransactionScope scope;
    private final Thread owner;
    private final String managerName;
    private final GuardedConnection guarded;
    private LargeObjectManager largeObjects;

    ConnectionGate(TransactionScope scope, Connection connection, Thread owner, String managerName) {
        this.scope = scope;
        this.owner = owner;
        this.managerName = managerName;
        this.guarded = new GuardedConnection(connection, this);
    }

    /** The transaction behind the gate. */
    TransactionScope scope() {
        return scope;
    }

    @Override
    public Connection acquire() {
        check();
        return guarded;
    }

    @Override
    public void release(Connection released) {
        // The connection stays with the transaction until it ends; the runner returns it to the pool.
    }

    /**
     * SQL text the transaction's code is about to prepare, run or batch: after {@link #check()}, refused when it would
     * outlive the transaction ({@link UnscopedSql}), and shown to the deadline, which must know when the code sets
     * timeouts of its own.
     */
    void beforeSql(String sql) {
        check();
        UnscopedSql.refuse(sql);
        scope.sqlSeen(sql);
    }

    /** Before a statement executes the SQL text given to it: {@link #beforeSql(String)}, then the deadline's turn. */
    void beforeExecute(String sql) {
        beforeSql(sql);
        scope.beforeStatement();
    }

    /** Before a statement executes: {@link #check()}, then the deadline's turn to bring the server's timeouts up. */
    void beforeExecute() {
        check();
        scope.beforeStatement();
    }

    /**
     * Before {@code statement} executes the SQL text given to it: {@link #beforeExecute(String)}, and when the text may
     * hold several statements, which the server answers together, the deadline bounds them as a whole.
     */
    void beforeExecute(Statement statement, String sql) throws SQLException {
        beforeExecute(sql);
        if (DeadlineEnforcement.mayHoldSeveralStatements(sql)) {
            scope.beforeStatementsSentTogether(statement);
        }
    }

    /**
     * Before a prepared statement executes: {@link #beforeExecute()}, and when its SQL may hold several statements
     * ({@code severalStatements}, found when it was prepared), the deadline bounds them as a whole.
     */
    void beforeExecute(Statement statement, boolean severalStatements) throws SQLException {
        beforeExecute();
        if (severalStatements) {
            scope.beforeStatementsSentTogether(statement);
        }
    }

    /** Before {@code statement} executes its batch: {@link #beforeExecute()}, and the deadline bounds the batch. */
    void beforeBatch(Statement statement) throws SQLException {
        beforeExecute();
        scope.beforeStatementsSentTogether(statement);
    }

    /**
     * Before a result set read with a fetch size moves to a row the driver holds already: {@link #check()}, and
     * refused once the transaction's deadline has passed. A move that fetches from the server passes
     * {@link #beforeExecute()} instead, as the statement did.
     */
    void beforeFetch() {
        check();
        scope.beforeFetch();
    }

    /**
     * The driver's large-object API on the guarded connection, made once per transaction: making it reads the
     * server's function table, which the driver itself does once per connection.
     */
    LargeObjectManager largeObjects(BaseConnection view) throws SQLException {
        if (largeObjects == null) {
            largeObjects = new LargeObjectManager(view);
        }
        return largeObjects;
    }

    /** Refuses use after the transaction ended, from a thread other than its own, or while it is suspended. */
    void check() {
        TransactionScope.State state = scope.state();
        if (state != TransactionScope.State.ACTIVE) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' that has already ended (" + describe(state) + "); its connection went back to the pool."
                    + " Use the DSLContext passed to the running callback, or sessions.current(), instead of keeping"
                    + " one beyond its transaction. " + FETCHED);
        }
        Thread caller = Thread.currentThread();
        if (caller != owner) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' running on thread " + MessageParts.thread(owner) + " and was used from thread "
                    + MessageParts.thread(caller) + ". JDBC connections are not thread safe: start a transaction on"
                    + " this thread with sessions.transaction(...) instead. " + ASYNC + ". " + FETCHED);
        }
        if (scope.isSuspended()) {
            throw new IllegalStateException("This DSLContext belongs to a transaction of SessionManager '" + managerName
                    + "' that is suspended while a REQUIRES_NEW transaction runs on this thread; use the DSLContext"
                    + " passed to the REQUIRES_NEW callback until it returns");
        }
    }

    private static String describe(TransactionScope.State state) {
        return switch (state) {
            case ACTIVE -> "active";
            case COMMITTED -> "committed";
            case ROLLED_BACK -> "rolled back";
            case FAILED -> "failed";
        };
    }
}
