package io.managedsession;

import java.sql.SQLException;

/**
 * Thrown when no database connection could be had: the pool is exhausted, or the database refused or did not answer.
 *
 * <p>The message carries the pool's numbers when the pool is HikariCP's ({@code total}, {@code active}, {@code idle},
 * {@code waiting}) and the database's own reason when there is one. {@link #getSQLState()} keeps the driver's
 * SQLSTATE, so callers can tell a refused login ({@code 28P01}) from an unreachable server ({@code 08001}).
 */
public class ConnectionUnavailableException extends SessionException {

    private static final long serialVersionUID = 1L;

    /**
     * Creates the exception.
     *
     * @param message what happened, with the pool's numbers
     * @param cause   the failure reported by the pool or the driver
     */
    public ConnectionUnavailableException(String message, Throwable cause) {
        super(message, cause);
    }

    /**
     * Returns the SQLSTATE of the first {@link SQLException} in the cause chain that has one.
     *
     * @return the SQLSTATE, or {@code null} when no cause carries one
     */
    public String getSQLState() {
        for (Throwable t = getCause(); t != null; t = t.getCause()) {
            if (t instanceof SQLException sql && sql.getSQLState() != null) {
                return sql.getSQLState();
            }
        }
        return null;
    }
}
