package io.managedsession.support;

import java.lang.annotation.ElementType;
import java.lang.annotation.Retention;
import java.lang.annotation.RetentionPolicy;
import java.lang.annotation.Target;

import org.junit.jupiter.api.extension.ExtendWith;

import io.managedsession.testing.DatabaseTest;

/** Like {@link WithTestDatabase}, with an empty database: for tests that migrate it themselves. */
@Target(ElementType.TYPE)
@Retention(RetentionPolicy.RUNTIME)
@DatabaseTest(migrations = {})
@ExtendWith(TestDatabaseResolver.class)
public @interface WithEmptyTestDatabase {
}
