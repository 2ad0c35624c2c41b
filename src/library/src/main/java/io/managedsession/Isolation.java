package io.managedsession;

import java.util.Locale;

/** PostgreSQL's transaction isolation levels (READ UNCOMMITTED behaves as READ COMMITTED there, so it is left out). */
public enum Isolation {

    /** Each statement sees what was committed before it began. PostgreSQL's default. */
    READ_COMMITTED("READ COMMITTED"),

    /** The whole transaction sees one snapshot; a concurrent update of a row it updates fails with SQLSTATE 40001. */
    REPEATABLE_READ("REPEATABLE READ"),

    /**
     * As if the transactions ran one after another; when PostgreSQL cannot guarantee that, one fails with SQLSTATE
     * 40001 and should be retried (see {@link TransactionOptions.Builder#maxAttempts(int)}).
     */
    SERIALIZABLE("SERIALIZABLE");

    private final String sql;

    Isolation(String sql) {
        this.sql = sql;
    }

    /**
     * Returns the level as PostgreSQL writes it, for example {@code REPEATABLE READ}.
     *
     * @return the SQL spelling
     */
    public String sql() {
        return sql;
    }

    /**
     * Reads PostgreSQL's spelling, as {@code SHOW transaction_isolation} prints it.
     *
     * @param setting for example {@code read committed}
     * @return the level; {@code read uncommitted} maps to {@link #READ_COMMITTED}, which is what PostgreSQL runs
     * @throws IllegalArgumentException for anything else
     */
    public static Isolation fromSetting(String setting) {
        return switch (setting.trim().toLowerCase(Locale.ROOT)) {
            case "read committed", "read uncommitted" -> READ_COMMITTED;
            case "repeatable read" -> REPEATABLE_READ;
            case "serializable" -> SERIALIZABLE;
            default -> throw new IllegalArgumentException("Unknown transaction isolation '" + setting + "'");
        };
    }
}
