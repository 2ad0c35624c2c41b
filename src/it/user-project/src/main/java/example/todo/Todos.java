package example.todo;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import java.util.List;

import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Table;

/** A user's operation functions: they take the caller's DSLContext and never open a transaction. */
public final class Todos {

    static final Table<?> TODOS = table("todos");
    static final Field<Long> ID = field("id", Long.class);
    static final Field<String> TITLE = field("title", String.class);
    static final Field<Boolean> DONE = field("done", Boolean.class);

    private Todos() {
    }

    public static long add(DSLContext ctx, String title) {
        return ctx.insertInto(TODOS).set(TITLE, title).returningResult(ID).fetchSingle().value1();
    }

    public static void complete(DSLContext ctx, long id) {
        if (ctx.update(TODOS).set(DONE, true).where(ID.eq(id)).execute() == 0) {
            throw new IllegalArgumentException("No todo " + id);
        }
    }

    public static List<String> open(DSLContext ctx) {
        return ctx.select(TITLE).from(TODOS).where(DONE.isFalse()).orderBy(ID).fetch(TITLE);
    }
}
