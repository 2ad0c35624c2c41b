package io.managedsession.internal;

import java.util.Objects;
import java.util.function.Function;

import io.managedsession.SessionManager;

/**
 * What the test support in {@code io.managedsession.testing} needs of a {@link SessionManager} beyond its public API,
 * without making that API larger: {@code SessionManager} hands its runner over here once, when its class is
 * initialised. Not an API.
 */
public final class TestSupport {

    private static volatile Function<SessionManager, TransactionRunner> runners;

    private TestSupport() {
    }

    /**
     * Called once, by {@code SessionManager}'s static initialiser.
     *
     * @throws IllegalStateException when called again
     */
    public static synchronized void runnersFrom(Function<SessionManager, TransactionRunner> access) {
        if (runners != null) {
            throw new IllegalStateException("SessionManager has handed over its runners already");
        }
        runners = Objects.requireNonNull(access, "access");
    }

    /**
     * Begins a transaction of {@code sessions} on this thread that stays open until rolled back (see
     * {@link TransactionRunner#holdUntilRolledBack()}).
     */
    public static HeldTransaction holdUntilRolledBack(SessionManager sessions) {
        return runners.apply(sessions).holdUntilRolledBack();
    }
}
