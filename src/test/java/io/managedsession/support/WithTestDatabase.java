package io.managedsession.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

/**
 * Gives the test class a database of its own, created before its first test and dropped after its last, and injects
 * {@link TestDatabase} parameters.
 */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@ExtendWith(TestDatabaseExtension.class)
public @interface WithTestDatabase {

    /** {@code true}: a copy of the migrated ledger schema; {@code false}: an empty database. */
    boolean migrated() default true;
}
