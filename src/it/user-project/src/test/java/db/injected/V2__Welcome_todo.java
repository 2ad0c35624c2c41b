package db.injected;

import static org.jooq.impl.DSL.field;
import static org.jooq.impl.DSL.table;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;
import org.jooq.SQLDialect;
import org.jooq.impl.DSL;

/** The same migration taking its todo in its constructor, as code written for injection does; Flyway cannot make it. */
public class V2__Welcome_todo extends BaseJavaMigration {

    private final String welcome;

    public V2__Welcome_todo(String welcome) {
        this.welcome = welcome;
    }

    @Override
    public void migrate(Context context) {
        DSL.using(context.getConnection(), SQLDialect.POSTGRES)
                .insertInto(table("todos"), field("title", String.class))
                .values(welcome)
                .execute();
    }
}
