package io.managedsession.internal;

/**
 * The transaction that the current thread is running, per {@code SessionManager}.
 *
 * <p>Each manager has its own instance, so two managers used on one thread never join each other's transactions.
 * {@link #enter} returns the scope it replaces and {@link #leave} puts it back, so that a suspended transaction
 * (REQUIRES_NEW) comes back when the inner one ends. The caller always calls {@code leave} in a {@code finally}; when
 * nothing was replaced the thread-local value is removed rather than set to {@code null}, so a pooled or reused
 * thread keeps no residue.
 */
final class ThreadScope {

    private final ThreadLocal<TransactionScope> current = new ThreadLocal<>();

    /** Returns the transaction this thread is running, or {@code null}. */
    TransactionScope get() {
        return current.get();
    }

    /**
     * Makes {@code scope} this thread's transaction.
     *
     * @return the scope it replaces, to be handed to {@link #leave}; {@code null} when there was none
     */
    TransactionScope enter(TransactionScope scope) {
        TransactionScope previous = current.get();
        current.set(scope);
        return previous;
    }

    /** Restores the scope that {@link #enter} replaced. */
    void leave(TransactionScope previous) {
        if (previous == null) {
            current.remove();
        } else {
            current.set(previous);
        }
    }
}
