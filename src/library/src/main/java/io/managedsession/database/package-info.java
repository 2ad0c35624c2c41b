/**
 * Where a PostgreSQL comes from: a JDBC URL that was given, a Testcontainers container when Docker answers, or an
 * embedded server. Used by the example application and by tests; the container and embedded sources need their
 * optional dependencies on the class path.
 */
package io.managedsession.database;
