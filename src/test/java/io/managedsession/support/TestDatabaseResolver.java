package io.managedsession.support;

import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolver;

import io.managedsession.testing.DatabaseTestExtension;

/** Resolves {@link TestDatabase} parameters from the database that {@link DatabaseTestExtension} gave the class. */
final class TestDatabaseResolver implements ParameterResolver {

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        return parameter.getParameter().getType() == TestDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        io.managedsession.testing.TestDatabase database = DatabaseTestExtension.testDatabase(context);
        return new TestDatabase(database.server(), database.name());
    }
}
