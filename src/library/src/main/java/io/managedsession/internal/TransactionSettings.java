package io.managedsession.internal;

import io.managedsession.Isolation;

/**
 * The isolation level and access mode a running transaction has, as PostgreSQL reports them.
 *
 * @param isolation the isolation level
 * @param readOnly  whether it is read-only
 */
record TransactionSettings(Isolation isolation, boolean readOnly) {
}
