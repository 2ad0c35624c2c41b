package io.managedsession.ledger;

/** The base of the ledger's business errors: a request the ledger refuses, as opposed to a failure. */
public class LedgerException extends RuntimeException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what was refused and why, with the values involved
     */
    public LedgerException(String message) {
        super(message);
    }
}
