package io.managedsession.bench;

import org.jooq.DSLContext;

import io.managedsession.SessionManager;

/** The one-row table the single-client latency benchmarks write and read: one statement per transaction. */
final class CounterTable {

    private CounterTable() {
    }

    /** Creates the table and its row through {@code sessions}. */
    static void create(SessionManager sessions) {
        sessions.transaction(ctx -> ctx.execute("CREATE TABLE counter (id int PRIMARY KEY, n bigint NOT NULL)"));
        sessions.transaction(ctx -> ctx.execute("INSERT INTO counter VALUES (1, 0)"));
    }

    /** A write: one UPDATE. */
    static int increment(DSLContext ctx) {
        return ctx.execute("UPDATE counter SET n = n + 1 WHERE id = 1");
    }

    /** A read: one SELECT. */
    static long read(DSLContext ctx) {
        return ctx.fetchOne("SELECT n FROM counter WHERE id = 1").get(0, Long.class);
    }
}
