package io.managedsession.support;

import java.sql.SQLException;
import java.util.Locale;
import java.util.UUID;

import org.flywaydb.core.Flyway;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.platform.commons.support.AnnotationSupport;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;

/**
 * The project's own test harness: one PostgreSQL per test run from {@link DatabaseResolver} (explicit URL,
 * Testcontainers, or embedded), the ledger migrated once into a template database, and for each test class a fresh
 * database cloned from it (or empty), dropped after the class.
 */
final class TestDatabaseExtension implements BeforeAllCallback, AfterAllCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE = ExtensionContext.Namespace.create(TestDatabaseExtension.class);

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        SharedServer shared = context.getRoot().getStore(NAMESPACE)
                .computeIfAbsent(SharedServer.class, key -> SharedServer.start(), SharedServer.class);
        boolean migrated = AnnotationSupport.findAnnotation(context.getRequiredTestClass(), WithTestDatabase.class)
                .map(WithTestDatabase::migrated).orElse(true);
        String name = "ms_" + context.getRequiredTestClass().getSimpleName().toLowerCase(Locale.ROOT)
                .replaceAll("[^a-z0-9]", "") + "_" + shortId();
        name = name.length() > 63 ? name.substring(0, 63) : name;
        shared.server.createDatabase(name, migrated ? shared.template : null);
        context.getStore(NAMESPACE).put(TestDatabase.class, new TestDatabase(shared.server, name));
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        TestDatabase database = context.getStore(NAMESPACE).remove(TestDatabase.class, TestDatabase.class);
        if (database != null) {
            database.server().dropDatabase(database.name());
        }
    }

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == TestDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        TestDatabase database = context.getStore(NAMESPACE).get(TestDatabase.class, TestDatabase.class);
        if (database == null) {
            throw new ParameterResolutionException("No test database: is the class annotated with @WithTestDatabase?");
        }
        return database;
    }

    private static String shortId() {
        return UUID.randomUUID().toString().substring(0, 8);
    }

    /** The server and the migrated template, shared by all test classes of a run and closed at its end. */
    private static final class SharedServer implements AutoCloseable {

        private final PostgresDatabase server;
        private final String template;

        private SharedServer(PostgresDatabase server, String template) {
            this.server = server;
            this.template = template;
        }

        static SharedServer start() {
            PostgresDatabase server = DatabaseResolver.fromEnvironment().resolve();
            String template = "ms_template_" + shortId();
            try {
                server.createDatabase(template, null);
                Flyway.configure()
                        .dataSource(server.jdbcUrl(template), server.username(), server.password())
                        .locations("classpath:db/migration")
                        .load()
                        .migrate();
            } catch (SQLException e) {
                throw new IllegalStateException("Could not create the template database on " + server, e);
            }
            return new SharedServer(server, template);
        }

        @Override
        public void close() throws Exception {
            try {
                server.dropDatabase(template);
            } finally {
                server.close();
            }
        }
    }
}
