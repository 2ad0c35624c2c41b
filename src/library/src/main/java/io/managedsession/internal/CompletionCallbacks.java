package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionManager;

/**
 * The afterCommit and afterRollback actions registered in one attempt of a transaction, and running them once its
 * outcome is final and its connection is back in the pool. Only the transaction's own thread uses it.
 *
 * <p>Actions registered inside a savepoint that is rolled back follow that part of the work: its afterCommit actions
 * are dropped (what they would announce was undone and will never commit), and its afterRollback actions will run
 * when the transaction ends, whatever its outcome (their part was certainly rolled back).
 */
final class CompletionCallbacks {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    /** How many actions of each kind were registered at some point, for a savepoint rollback to go back to. */
    record Position(int afterCommit, int afterRollback) {

        static final Position NONE = new Position(0, 0);
    }

    /** An afterRollback action, and whether the savepoint it was registered in has rolled back already. */
    private static final class RollbackAction {

        private final Runnable action;
        private boolean rolledBackWithSavepoint;

        RollbackAction(Runnable action) {
            this.action = action;
        }
    }

    private List<Runnable> afterCommit;
    private List<RollbackAction> afterRollback;

    void addAfterCommit(Runnable action) {
        if (afterCommit == null) {
            afterCommit = new ArrayList<>(2);
        }
        afterCommit.add(action);
    }

    void addAfterRollback(Runnable action) {
        if (afterRollback == null) {
            afterRollback = new ArrayList<>(2);
        }
        afterRollback.add(new RollbackAction(action));
    }

    Position position() {
        return new Position(afterCommit == null ? 0 : afterCommit.size(),
                afterRollback == null ? 0 : afterRollback.size());
    }

    /** A savepoint set at {@code position} was rolled back: the actions registered since follow its work. */
    void undoSince(Position position) {
        if (afterCommit != null && afterCommit.size() > position.afterCommit()) {
            afterCommit.subList(position.afterCommit(), afterCommit.size()).clear();
        }
        if (afterRollback != null) {
            for (int i = position.afterRollback(); i < afterRollback.size(); i++) {
                afterRollback.get(i).rolledBackWithSavepoint = true;
            }
        }
    }

    /**
     * Runs the actions that the outcome calls for. A failing afterCommit action is logged at WARN and never undoes
     * the commit; a failing afterRollback action is attached to the exception the caller receives. When the outcome
     * is unknown (the connection failed during COMMIT), only the afterRollback actions of savepoints that were rolled
     * back run, and a WARN names what did not. Only the JVM's own errors propagate. While they run, the thread counts
     * as running its transaction's hooks, so that a {@code close()} called from one does not wait for itself.
     *
     * @param scope    the transaction, ended
     * @param failure  what the caller will receive, or {@code null} after a commit
     * @param inFlight the manager's count of running transactions
     */
    void run(TransactionScope scope, Throwable failure, InFlightTransactions inFlight) {
        inFlight.hooksRunning(true);
        try {
            if (scope.committed()) {
                if (afterCommit != null) {
                    for (Runnable action : afterCommit) {
                        runAfterOutcome(action, null, "afterCommit", scope);
                    }
                }
                runRolledBackWithSavepoints(null, scope);
            } else if (scope.rolledBack()) {
                if (afterRollback != null) {
                    for (RollbackAction action : afterRollback) {
                        runAfterOutcome(action.action, failure, "afterRollback", scope);
                    }
                }
            } else {
                runRolledBackWithSavepoints(failure, scope);
                int skipped = (afterCommit == null ? 0 : afterCommit.size()) + (afterRollback == null ? 0
                        : (int) afterRollback.stream().filter(action -> !action.rolledBackWithSavepoint).count());
                if (skipped > 0) {
                    log.warn("Transaction{} of SessionManager '{}' lost its connection during COMMIT, so its outcome is"
                            + " unknown: {} of its afterCommit and afterRollback actions did not run",
                            scope.labelText(), scope.managerName(), skipped);
                }
            }
        } finally {
            inFlight.hooksRunning(false);
        }
    }

    private void runRolledBackWithSavepoints(Throwable failure, TransactionScope scope) {
        if (afterRollback != null) {
            for (RollbackAction action : afterRollback) {
                if (action.rolledBackWithSavepoint) {
                    runAfterOutcome(action.action, failure, "afterRollback", scope);
                }
            }
        }
    }

    /**
     * Runs one action; a failure is attached to {@code failure} when there is one to attach it to, else logged. A
     * failing afterCommit action never undoes the commit.
     */
    private static void runAfterOutcome(Runnable action, Throwable failure, String kind, TransactionScope scope) {
        try {
            action.run();
        } catch (RuntimeException | Error e) {
            Throwables.rethrowIfFatal(e);
            if (failure != null && failure != e) {
                failure.addSuppressed(e);
            } else if (kind.equals("afterCommit")) {
                log.warn("An afterCommit action of transaction{} of SessionManager '{}' failed; the transaction"
                        + " stays committed and the remaining actions still run", scope.labelText(),
                        scope.managerName(), e);
            } else {
                log.warn("An {} action of transaction{} of SessionManager '{}' failed", kind, scope.labelText(),
                        scope.managerName(), e);
            }
        }
    }
}
