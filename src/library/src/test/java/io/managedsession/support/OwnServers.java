package io.managedsession.support;

/**
 * Marks the test classes that run only on servers they start themselves (embedded instances, clusters, PgBouncers in
 * front of those), never on the test database: they prove the same thing whichever source the build's test database
 * comes from, so a build that runs the whole suite once per source may run them in one of its runs only
 * ({@code -DexcludedGroups=own-servers}).
 */
public final class OwnServers {

    /** The JUnit tag. */
    public static final String TAG = "own-servers";

    private OwnServers() {
    }
}
