package db.migration;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/**
 * A migration of the project's written in Java, as Flyway has them for what SQL cannot say (here it only adds a todo,
 * so that a test can see it ran): compiled into module {@code todo.app} by the tests that need one.
 */
public class V2__Welcome_todo extends BaseJavaMigration {

    /** The todo this migration adds. */
    public static final String WELCOME = "read the welcome note";

    @Override
    public void migrate(Context context) {
        DSL.using(context.getConnection(), SQLDialect.POSTGRES)
                .insertInto(table("todos"), field("title", String.class))
                .values(WELCOME)
                .execute();
    }
}
