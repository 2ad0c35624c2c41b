package example.todo;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import java.util.List;
import java.util.Optional;

import org.jooq.DSLContext;
import org.jooq.Field;
import org.jooq.Param;
import org.jooq.Record;
import org.jooq.Record1;
import org.jooq.Table;
import org.jooq.impl.DSL;

import io.managedsession.PreparedQuery;

/** A user's operation functions: they take the caller's DSLContext and never open a transaction. */
public final class Todos {

    static final Table<?> TODOS = table("todos");
    static final Field<Long> ID = field("id", Long.class);
    static final Field<String> TITLE = field("title", String.class);
    static final Field<Boolean> DONE = field("done", Boolean.class);

    // The hot statements, declared once with the DSL and run with only binding and fetching.
    private static final Param<Long> TODO = DSL.param("todo", Long.class);
    static final PreparedQuery<Record1<String>> TITLE_OF = PreparedQuery.of(
            DSL.select(TITLE).from(TODOS).where(ID.eq(TODO)), "todo");
    static final PreparedQuery<Record> RENAME = PreparedQuery.of(
            DSL.update(TODOS).set(TITLE, DSL.param("title", String.class)).where(ID.eq(TODO)), "title", "todo");
    static final PreparedQuery<Record> ADD = PreparedQuery.of(
            DSL.insertInto(TODOS).set(TITLE, DSL.param("title", String.class)), "title");

    private Todos() {
    }

    public static long add(DSLContext ctx, String title) {
        return ctx.insertInto(TODOS).set(TITLE, title).returningResult(ID).fetchSingle().value1();
    }

    /** Adds a todo for each title, sent as one batch: an import of many at once. */
    public static int addAll(DSLContext ctx, List<String> titles) {
        return ADD.executeBatch(ctx, titles.stream().map(title -> new Object[] {title}).toList()).length;
    }

    public static void complete(DSLContext ctx, long id) {
        if (ctx.update(TODOS).set(DONE, true).where(ID.eq(id)).execute() == 0) {
            throw new IllegalArgumentException("No todo " + id);
        }
    }

    public static List<String> open(DSLContext ctx) {
        return ctx.select(TITLE).from(TODOS).where(DONE.isFalse()).orderBy(ID).fetch(TITLE);
    }

    public static Optional<String> title(DSLContext ctx, long id) {
        return TITLE_OF.fetchOptional(ctx, id).map(Record1::value1);
    }

    public static void rename(DSLContext ctx, long id, String title) {
        if (RENAME.execute(ctx, title, id) == 0) {
            throw new IllegalArgumentException("No todo " + id);
        }
    }
}
