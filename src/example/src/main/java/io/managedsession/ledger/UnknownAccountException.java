package io.managedsession.ledger;

/** Thrown when an operation names an account that does not exist. */
public class UnknownAccountException extends LedgerException {

    private static final long serialVersionUID = 1L;

    private final long accountId;

    /**
     * Creates the exception.
     *
     * @param accountId the account that was not found
     */
    public UnknownAccountException(long accountId) {
        super("Account " + accountId + " does not exist");
        this.accountId = accountId;
    }

    /** Returns the account that was not found. */
    public long accountId() {
        return accountId;
    }
}
