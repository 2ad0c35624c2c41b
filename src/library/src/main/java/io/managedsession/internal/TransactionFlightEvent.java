package io.managedsession.internal;

import jdk.jfr.Category;
import jdk.jfr.Description;
import jdk.jfr.Event;
import jdk.jfr.Label;
import jdk.jfr.Name;
import jdk.jfr.StackTrace;

/**
 * One transaction, as a JDK Flight Recorder event ({@code io.managedsession.Transaction}), so that JDK Mission Control
 * and {@code jfr print --events io.managedsession.Transaction} show transactions beside the JVM's own events. Its
 * duration covers all attempts. Recording it costs next to nothing unless a recording enables it.
 */
@Name("io.managedsession.Transaction")
@Label("Transaction")
@Category({"managed-session"})
@Description("A transaction run by a managed-session SessionManager, all attempts included")
@StackTrace(false)
final class TransactionFlightEvent extends Event {

    @Label("SessionManager")
    String manager;

    @Label("Label")
    String label;

    @Label("Outcome")
    String outcome;

    @Label("Propagation")
    String propagation;

    @Label("Isolation")
    String isolation;

    @Label("Read-only")
    boolean readOnly;

    @Label("Attempts")
    int attempts;

    @Label("Route")
    @Description("PRIMARY, REPLICA, or PRIMARY_FALLBACK for a read-only transaction no replica could serve")
    String route;

    @Label("Replica")
    @Description("The read replica the last attempt ran on, if any")
    String replica;
}
