package io.managedsession;

/**
 * Which server a transaction ran on, when the manager has read replicas (see
 * {@link SessionManager.Builder#replicaUrls(String...)}). Without replicas every transaction runs on the primary.
 */
public enum Route {

    /** On the primary: the transaction may write, or no replicas are configured. */
    PRIMARY,

    /**
     * On a read replica: a read-only transaction, on a replica that was up (and had replayed its
     * {@linkplain TransactionOptions#notBefore() position}, when it asked for one).
     */
    REPLICA,

    /**
     * On the primary instead of a replica: a read-only transaction that no replica could serve, because none was up,
     * or none had replayed its {@linkplain TransactionOptions#notBefore() position} within the catch-up timeout. A
     * count of these says the replicas lag or are down.
     */
    PRIMARY_FALLBACK
}
