package io.managedsession.internal;

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
}
