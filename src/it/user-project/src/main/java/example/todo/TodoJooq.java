package example.todo;

import java.util.function.Consumer;

import org.jooq.conf.ExecuteWithoutWhere;
import org.jooq.conf.RenderQuotedNames;
import org.jooq.impl.DefaultConfiguration;

/**
 * The service's own jOOQ configuration: given to its SessionManager's jooqConfiguration at start, and to
 * {@code @DatabaseTest(jooqConfiguration = ...)} in its tests, so that both run statements alike. An UPDATE or DELETE
 * without a WHERE clause is refused before it reaches the server, and names are rendered unquoted, as the service's
 * hand-written SQL writes them.
 */
public final class TodoJooq implements Consumer<DefaultConfiguration> {

    @Override
    public void accept(DefaultConfiguration jooq) {
        jooq.settings()
                .withExecuteUpdateWithoutWhere(ExecuteWithoutWhere.THROW)
                .withExecuteDeleteWithoutWhere(ExecuteWithoutWhere.THROW)
                .setRenderQuotedNames(RenderQuotedNames.EXPLICIT_DEFAULT_UNQUOTED);
    }
}
