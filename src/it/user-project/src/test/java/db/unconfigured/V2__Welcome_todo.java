package db.unconfigured;

import org.flywaydb.core.api.migration.BaseJavaMigration;
import org.flywaydb.core.api.migration.Context;

/**
 * The same migration, reading its todo from the environment when it is made, as a migration with a setting of its own
 * might; where the setting is missing its constructor throws, and Flyway, which makes each migration it finds to see
 * whether it can, logs a warning and migrates without it.
 */
public class V2__Welcome_todo extends BaseJavaMigration {

    /** The environment variable it reads, which the tests never set. */
    public static final String SETTING = "TODO_WELCOME_TITLE_NEVER_SET";

    private final String title;

    public V2__Welcome_todo() {
        title = System.getenv(SETTING);
        if (title == null) {
            throw new IllegalStateException("Set " + SETTING + " to the title of the welcome todo");
        }
    }

    @Override
    public void migrate(Context context) {
        db.welcome.V2__Welcome_todo.addTodo(context, title);
    }
}
