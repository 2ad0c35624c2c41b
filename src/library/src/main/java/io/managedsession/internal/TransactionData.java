package io.managedsession.internal;

import java.util.AbstractMap;
import java.util.HashMap;
import java.util.Map;
import java.util.Set;

/**
 * The data map of one transaction's jOOQ configuration: what is put into it stays with the transaction, and what it
 * does not hold is read from the manager's configuration (or the configuration it was derived from), as in the copy
 * jOOQ makes when it derives a configuration, but without copying anything until the first put. jOOQ's own caches
 * are the exception: they go to the shared map, where every transaction finds them warm.
 *
 * <p>Only the transaction's thread uses it, like the rest of the transaction's configuration.
 */
final class TransactionData extends AbstractMap<Object, Object> {

    private final Map<Object, Object> shared;
    private HashMap<Object, Object> local;

    TransactionData(Map<Object, Object> shared) {
        this.shared = shared;
    }

    /**
     * Whether {@code key} names one of jOOQ's caches ({@code org.jooq.impl.CacheType}: reflection, record mappers,
     * parsed SQL). They hold what is the same for every transaction, and belong with the manager's configuration.
     */
    private static boolean isJooqCache(Object key) {
        return key instanceof Enum<?> constant && constant.getDeclaringClass().getName().equals(JOOQ_CACHE_TYPE);
    }

    private static final String JOOQ_CACHE_TYPE = "org.jooq.impl.CacheType";

    /** The entries put in this transaction. */
    Map<Object, Object> local() {
        return local == null ? Map.of() : local;
    }

    @Override
    public Object get(Object key) {
        if (local != null && local.containsKey(key)) {
            return local.get(key);
        }
        return shared.get(key);
    }

    @Override
    public boolean containsKey(Object key) {
        return (local != null && local.containsKey(key)) || shared.containsKey(key);
    }

    @Override
    public Object put(Object key, Object value) {
        if (isJooqCache(key)) {
            return shared.put(key, value);
        }
        if (local == null) {
            local = new HashMap<>();
        }
        Object before = get(key);
        local.put(key, value);
        return before;
    }

    /**
     * Removes what this transaction put under {@code key}; an entry of the manager's configuration stays readable
     * (it cannot be removed from one transaction without removing it from all).
     */
    @Override
    public Object remove(Object key) {
        return local == null ? null : local.remove(key);
    }

    @Override
    public Set<Entry<Object, Object>> entrySet() {
        Map<Object, Object> merged = new HashMap<>(shared);
        merged.putAll(local());
        return merged.entrySet();
    }
}
