package io.managedsession.internal;

import io.managedsession.Route;
import io.managedsession.TransactionOptions;

/** How messages and log lines name a thread and a transaction, the same way everywhere. */
final class MessageParts {

    private MessageParts() {
    }

    /** A thread as {@code 'name' (#id)}, or {@code #id} when it has no name (virtual threads often have none). */
    static String thread(Thread thread) {
        String name = thread.getName();
        String id = "#" + thread.threadId();
        return name.isEmpty() ? id : "'" + name + "' (" + id + ")";
    }

    /** A transaction's label as {@code  'label'}, with its leading space, or nothing when it has none. */
    static String label(TransactionOptions options) {
        return options.label().map(label -> " '" + label + "'").orElse("");
    }

    /**
     * Where a transaction ran, with a leading space ({@code  on replica 'x'}, {@code  on the primary instead of a
     * replica}), or nothing on the primary, which is where every transaction runs without replicas.
     */
    static String route(Route route, String replica) {
        return switch (route) {
            case PRIMARY -> "";
            case REPLICA -> " on replica '" + replica + "'";
            case PRIMARY_FALLBACK -> " on the primary instead of a replica";
        };
    }
}
