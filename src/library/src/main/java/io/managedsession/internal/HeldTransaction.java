package io.managedsession.internal;

/**
 * A transaction begun on a thread without a block around it, held open until {@link #rollBack()}: what rollback mode of
 * {@code @DatabaseTest} needs, since JUnit runs a test's {@code @BeforeEach} methods, the test and its
 * {@code @AfterEach} methods one after another, with no call around all of them. Every block of its manager that the
 * thread runs meanwhile joins it. It never commits. Test support, not an API.
 */
public final class HeldTransaction {

    private final TransactionRunner runner;
    private final TransactionScope scope;
    private final ServerRouter.Lease lease;
    private boolean ended;

    HeldTransaction(TransactionRunner runner, TransactionScope scope, ServerRouter.Lease lease) {
        this.runner = runner;
        this.scope = scope;
        this.lease = lease;
    }

    /**
     * Rolls the transaction back and gives its connection back, on every path; then runs its {@code afterRollback}
     * actions. Called on the thread that holds it; a second call does nothing.
     *
     * @throws IllegalStateException                 when called from another thread
     * @throws org.jooq.exception.DataAccessException when the rollback failed (the connection is evicted)
     */
    public void rollBack() {
        if (Thread.currentThread() != scope.owner()) {
            throw new IllegalStateException("The held transaction of thread " + MessageParts.thread(scope.owner())
                    + " was asked to roll back from thread " + MessageParts.thread(Thread.currentThread()));
        }
        if (!ended) {
            ended = true;
            runner.rollBackHeld(scope, lease);
        }
    }
}
