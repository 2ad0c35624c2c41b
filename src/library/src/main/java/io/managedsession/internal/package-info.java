/**
 * The machinery behind {@link io.managedsession.SessionManager}: the per-thread scope, the jOOQ transaction provider,
 * exception tunnelling, SQLSTATE rules, and the HikariCP and Flyway wiring. Not an API: it may change in any release.
 */
package io.managedsession.internal;
