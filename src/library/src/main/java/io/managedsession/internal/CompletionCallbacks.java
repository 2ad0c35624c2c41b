package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionManager;

/**
 * The afterCommit and afterRollback actions registered in one attempt of a transaction, and running them once its
 * outcome is final and its connection is back in the pool. Only the transaction's own thread uses it.
 */
final class CompletionCallbacks {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private List<Runnable> afterCommit;
    private List<Runnable> afterRollback;

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
        afterRollback.add(action);
    }

    /**
     * Runs the actions that the outcome calls for. A failing afterCommit action is logged at WARN and never undoes
     * the commit; a failing afterRollback action is attached to the exception the caller receives. When the outcome
     * is unknown (the connection failed during COMMIT), neither kind runs, and a WARN says so. Only the JVM's own
     * errors propagate.
     *
     * @param scope   the transaction, ended
     * @param failure what the caller will receive, or {@code null} after a commit
     */
    void run(TransactionScope scope, Throwable failure) {
        if (scope.committed()) {
            for (Runnable action : actions(afterCommit)) {
                try {
                    action.run();
                } catch (RuntimeException | Error e) {
                    Throwables.rethrowIfFatal(e);
                    log.warn("An afterCommit action of transaction{} of SessionManager '{}' failed; the transaction"
                            + " stays committed and the remaining actions still run", scope.labelText(),
                            scope.managerName(), e);
                }
            }
        } else if (scope.rolledBack()) {
            for (Runnable action : actions(afterRollback)) {
                try {
                    action.run();
                } catch (RuntimeException | Error e) {
                    Throwables.rethrowIfFatal(e);
                    if (failure != null && failure != e) {
                        failure.addSuppressed(e);
                    } else {
                        log.warn("An afterRollback action of transaction{} of SessionManager '{}' failed",
                                scope.labelText(), scope.managerName(), e);
                    }
                }
            }
        } else if (afterCommit != null || afterRollback != null) {
            log.warn("Transaction{} of SessionManager '{}' lost its connection during COMMIT, so its outcome is"
                    + " unknown: none of its {} afterCommit and {} afterRollback action(s) ran", scope.labelText(),
                    scope.managerName(), actions(afterCommit).size(), actions(afterRollback).size());
        }
    }

    private static List<Runnable> actions(List<Runnable> registered) {
        return registered == null ? List.of() : registered;
    }
}
