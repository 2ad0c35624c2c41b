package db.injected;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/** The same migration taking its todo in its constructor, as code written for injection does; Flyway cannot make it. */
public class V2__Welcome_todo extends BaseJavaMigration {

    private final String welcome;

    public V2__Welcome_todo(String welcome) {
        this.welcome = welcome;
    }

    @Override
    public void migrate(Context context) {
        db.welcome.V2__Welcome_todo.addTodo(context, welcome);
    }
}
