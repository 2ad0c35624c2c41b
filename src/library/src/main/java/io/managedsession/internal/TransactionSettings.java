package io.managedsession.internal;

import io.managedsession.Isolation;

/**
 * The isolation level and access mode a running transaction has, as PostgreSQL reports them.
 *
 * @param isolation  the isolation level
 * @param readOnly   whether it is read-only
 * @param deferrable whether it is DEFERRABLE (which matters only when it is also serializable and read-only)
 */
record TransactionSettings(Isolation isolation, boolean readOnly, boolean deferrable) {
}
