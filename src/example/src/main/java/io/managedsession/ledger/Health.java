package io.managedsession.ledger;

import static org.jooq.impl.DSL.function;
import static org.jooq.impl.DSL.inline;

import org.jooq.DSLContext;

/** Whether the database answers, for health checks. */
public final class Health {

    private Health() {
    }

    /**
     * Asks the server for its version: a real round trip, which a health check needs.
     *
     * @param ctx the transaction's context
     * @return the server's version, such as {@code 18.1}
     */
    public static String serverVersion(DSLContext ctx) {
        return ctx.select(function("current_setting", String.class, inline("server_version"))).fetchSingle().value1();
    }
}
