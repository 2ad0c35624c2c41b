package io.managedsession;

/** What a transactional call does when the calling thread is, or is not, already running a transaction. */
public enum Propagation {

    /** Join the running transaction; begin one when there is none. The default. */
    REQUIRED,

    /**
     * Always begin a transaction of its own, on a second connection; the running one, if any, is suspended on this
     * thread until the new one ends, and may not be used meanwhile. The new transaction commits or rolls back on its
     * own. Each level holds one more pooled connection per thread: see the pool-starvation note on
     * {@link SessionManager}.
     */
    REQUIRES_NEW,

    /**
     * Run inside a savepoint of the running transaction: when the block fails, its work is rolled back to the
     * savepoint and the outer block may go on. Begins a transaction when there is none.
     */
    NESTED,

    /** Join the running transaction; throw {@link NoTransactionException} when there is none. */
    MANDATORY
}
