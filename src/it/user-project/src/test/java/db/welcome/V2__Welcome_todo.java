package db.welcome;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/** A migration in Java, as a project writes one for what SQL cannot say; this one adds a todo, for tests to see. */
public class V2__Welcome_todo extends BaseJavaMigration {

    /** The todo it adds. */
    public static final String WELCOME = "read the welcome note";

    @Override
    public void migrate(Context context) {
        addTodo(context, WELCOME);
    }

    /** Adds a todo with jOOQ, on the connection of the migration's transaction. */
    public static void addTodo(Context context, String title) {
        DSL.using(context.getConnection(), SQLDialect.POSTGRES)
                .insertInto(table("todos"), field("title", String.class))
                .values(title)
                .execute();
    }
}
