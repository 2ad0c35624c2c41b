/**
 * Test support for users' own tests, optional: {@link io.managedsession.testing.DatabaseTest} gives a JUnit 5 test
 * class a real PostgreSQL database of its own, migrated by the project's own Flyway migrations, and injects a
 * {@link io.managedsession.SessionManager}, a {@link org.jooq.DSLContext} and the
 * {@link io.managedsession.testing.TestDatabase}. Needs {@code org.junit.jupiter:junit-jupiter} and a source of
 * PostgreSQL (see {@link io.managedsession.database.DatabaseResolver}) on the test class path.
 */
package io.managedsession.testing;
