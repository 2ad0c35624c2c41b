package io.managedsession.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

import io.managedsession.testing.DatabaseTest;

/**
 * The project's tests run on the library's own {@link DatabaseTest} extension: a database per class cloned from the
 * migrated ledger schema, leak checks after each test. This adds the {@link TestDatabase} helper parameter, with the
 * checks the tests make from a second connection.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@DatabaseTest
@ExtendWith(TestDatabaseResolver.class)
public @interface WithTestDatabase {
}
