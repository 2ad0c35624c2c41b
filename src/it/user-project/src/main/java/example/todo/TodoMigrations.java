package example.todo;

import java.util.Map;
import java.util.function.Consumer;

import org.flywaydb.core.api.configuration.FluentConfiguration;

/**
 * The service's own Flyway configuration: given to its SessionManager's migrationConfiguration at start, and to
 * {@code @DatabaseTest(migrationConfiguration = ...)} in its tests, so that both migrate alike.
 */
public final class TodoMigrations implements Consumer<FluentConfiguration> {

    /** Where a todo goes when nobody says. */
    public static final String DEFAULT_LIST = "inbox";

    @Override
    public void accept(FluentConfiguration flyway) {
        flyway.placeholders(Map.of("default_list", DEFAULT_LIST));
    }
}
