package io.managedsession.internal;

/** What code that contains the failures of user-supplied hooks may and may not swallow. */
final class Throwables {

    private Throwables() {
    }

    /**
     * Rethrows the JVM's own failures (out of memory, stack overflow, internal errors), which no hook's caller can
     * recover from; anything else returns, for the caller to log. A {@link LinkageError} is not fatal here: a hook that
     * needs a class missing from the class path (an optional dependency left out of a jar) must not turn a committed
     * transaction into one the caller believes failed.
     */
    static void rethrowIfFatal(Throwable failure) {
        if (failure instanceof VirtualMachineError fatal) {
            throw fatal;
        }
    }
}
