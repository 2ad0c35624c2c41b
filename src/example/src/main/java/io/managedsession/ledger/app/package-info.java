/** The runnable example built from the ledger's operations. */
package io.managedsession.ledger.app;
