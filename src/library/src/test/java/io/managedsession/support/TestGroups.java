package io.managedsession.support;

/**
 * JUnit tags for the test classes that a build running the whole suite once per database source (as {@code .ci/run}
 * does: a container, then embedded) needs to run in one of those runs only, because the source makes no difference
 * to what they prove.
 */
public final class TestGroups {

    /**
     * Classes that run only on servers they start themselves (embedded instances, clusters, PgBouncers in front of
     * those), never on the test database. {@code .ci/run} leaves them out of the embedded run after a container run.
     */
    public static final String OWN_SERVERS = "own-servers";

    /**
     * Classes that load the test database for minutes to prove the library's behaviour under load, which does not
     * depend on where the database comes from. {@code .ci/run} runs them in the embedded run only.
     */
    public static final String LOAD = "load";

    /**
     * Classes that run {@code @DatabaseTest} classes in test runs of their own, each a JVM: what they prove (how runs
     * mark themselves on a server and clean up after one another) is the extension's, whatever the server's source.
     * {@code .ci/run} leaves them out of the embedded run after a container run.
     */
    public static final String SEPARATE_RUNS = "separate-runs";

    private TestGroups() {
    }
}
