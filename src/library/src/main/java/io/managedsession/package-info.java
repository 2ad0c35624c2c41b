/**
 * managed-session: run jOOQ work in PostgreSQL transactions, one safe way, from any thread.
 *
 * <p>{@link io.managedsession.SessionManager} is the entry point: built once per database, it runs
 * {@link io.managedsession.TransactionCallback callbacks} in transactions that commit on return, roll back on any
 * throwable (rethrowing it unchanged), always return their connection, and are joined by nested calls on the same
 * thread. Everything else here is an exception type that says precisely what went wrong.
 */
package io.managedsession;
