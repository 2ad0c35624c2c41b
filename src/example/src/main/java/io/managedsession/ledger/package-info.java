/**
 * The example domain: a small ledger whose operations are plain static functions over the jOOQ classes generated
 * from {@code db/migration}. Each takes the caller's {@code DSLContext} first and never opens a transaction; the caller
 * decides the unit of work with a {@link io.managedsession.SessionManager}.
 */
package io.managedsession.ledger;
