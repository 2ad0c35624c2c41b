package io.managedsession.ledger;

/** Thrown when a transfer would take an account below zero; nothing is changed. */
public class InsufficientFundsException extends LedgerException {

    private static final long serialVersionUID = 1L;

    private final long accountId;
    private final long balance;
    private final long amount;

    /**
     * Creates the exception.
     *
     * @param accountId the account to be debited
     * @param balance   its balance, in minor units
     * @param amount    the amount asked for, in minor units
     */
    public InsufficientFundsException(long accountId, long balance, long amount) {
        super("Account " + accountId + " has " + balance + " but the transfer needs " + amount);
        this.accountId = accountId;
        this.balance = balance;
        this.amount = amount;
    }

    /** Returns the account to be debited. */
    public long accountId() {
        return accountId;
    }

    /** Returns the account's balance when the transfer was refused, in minor units. */
    public long balance() {
        return balance;
    }

    /** Returns the amount asked for, in minor units. */
    public long amount() {
        return amount;
    }
}
