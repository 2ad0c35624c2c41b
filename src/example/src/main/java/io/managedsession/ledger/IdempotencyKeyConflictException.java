package io.managedsession.ledger;

/** Thrown when an idempotency key is used again for a different transfer; nothing is changed. */
public class IdempotencyKeyConflictException extends LedgerException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param key      the key used twice
     * @param existing the transfer the key already stands for
     */
    public IdempotencyKeyConflictException(String key, Transfer existing) {
        super("Idempotency key '" + key + "' was already used for a different transfer (" + existing.amount()
                + " from account " + existing.fromAccount() + " to account " + existing.toAccount() + ")");
    }
}
