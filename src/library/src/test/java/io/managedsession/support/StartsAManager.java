package io.managedsession.support;

import io.managedsession.SessionManager;

/**
 * A program that builds a manager on the URL it is given and prints why it could not, for tests that run it in a
 * JVM of its own with a class path they chose.
 */
public final class StartsAManager {

    private StartsAManager() {
    }

    public static void main(String[] args) {
        try (SessionManager sessions = SessionManager.builder().jdbcUrl(args[0]).build()) {
            System.out.println("started " + sessions.name());
        } catch (RuntimeException e) {
            System.out.println(e.getClass().getName() + ": " + e.getMessage());
            System.exit(3);
        }
    }
}
