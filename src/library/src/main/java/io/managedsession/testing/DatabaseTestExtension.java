package io.managedsession.testing;

import java.util.Optional;

import org.jooq.DSLContext;
import org.junit.jupiter.api.extension.AfterAllCallback;
import org.junit.jupiter.api.extension.AfterEachCallback;
import org.junit.jupiter.api.extension.BeforeAllCallback;
import org.junit.jupiter.api.extension.BeforeEachCallback;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.jupiter.api.extension.ParameterContext;
import org.junit.jupiter.api.extension.ParameterResolutionException;
import org.junit.jupiter.api.extension.ParameterResolver;
import org.junit.jupiter.api.extension.TestInstanceFactoryContext;
import org.junit.jupiter.api.extension.TestInstancePreConstructCallback;
import org.junit.platform.commons.support.AnnotationSupport;
import org.junit.platform.commons.support.ReflectionSupport;

import io.managedsession.SessionManager;
import io.managedsession.internal.HeldTransaction;
import io.managedsession.internal.TestSupport;

/**
 * The JUnit Jupiter extension behind {@link DatabaseTest}; see there for what it does. Other extensions can build on
 * it with {@link #testDatabase(ExtensionContext)}.
 */
public final class DatabaseTestExtension implements TestInstancePreConstructCallback, BeforeAllCallback,
        AfterAllCallback, BeforeEachCallback, AfterEachCallback, ParameterResolver {

    private static final ExtensionContext.Namespace NAMESPACE =
            ExtensionContext.Namespace.create(DatabaseTestExtension.class);

    /**
     * Whether this JUnit scopes stores to the launcher session ({@code ExtensionContext.StoreScope} and the
     * {@code getStore} that takes one, both since 5.13 and still marked experimental in 6.0); looked up by name, since
     * naming the type here would fail on 5.12.
     */
    private static final boolean SESSION_STORES =
            ReflectionSupport.tryToLoadClass(ExtensionContext.class.getName() + "$StoreScope").toOptional().isPresent();

    /** Creates the extension; JUnit does this for {@link DatabaseTest}. */
    public DatabaseTestExtension() {
    }

    /**
     * Returns the database of the test class or test that {@code context} belongs to, for extensions that build on
     * this one.
     *
     * @param context a class or method context inside a {@link DatabaseTest} class
     * @return the database
     * @throws IllegalStateException when there is none (no {@code @DatabaseTest}, or a per-test database asked for
     *                               at class level)
     */
    public static TestDatabase testDatabase(ExtensionContext context) {
        return scope(context).database();
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Lifecycle
    // ---------------------------------------------------------------------------------------------------------------

    /**
     * Opens the class's database before JUnit makes the test instance when it makes one for all the class's tests
     * ({@code @TestInstance(PER_CLASS)}): it does so before any {@code @BeforeAll} callback, and the constructor may
     * take the database's parameters.
     */
    @Override
    public void preConstructTestInstance(TestInstanceFactoryContext factory, ExtensionContext context)
            throws Exception {
        if (context.getTestMethod().isEmpty()) {
            openClassDatabase(context);
        }
    }

    @Override
    public void beforeAll(ExtensionContext context) throws Exception {
        openClassDatabase(context);
    }

    @Override
    public void afterAll(ExtensionContext context) throws Exception {
        context.getStore(NAMESPACE).remove(new OpenedFor(context.getRequiredTestClass()));
        DatabaseScope scope = context.getStore(NAMESPACE).remove(DatabaseScope.class, DatabaseScope.class);
        if (scope != null) {
            scope.close();
        }
    }

    /** Marks, in a class's store, that its database was opened for it (before its instance, or before all tests). */
    private record OpenedFor(Class<?> testClass) {
    }

    /**
     * Opens the database of the class of {@code context}, a class-level context, unless it has one already. A
     * {@code @Nested} class without a {@code @DatabaseTest} of its own works in the enclosing class's database, which
     * the store hands down to it; one with its own gets a database as its annotation says, which hides the enclosing
     * one. A class whose tests each get their own database ({@code perTest}) gets none.
     */
    private static void openClassDatabase(ExtensionContext context) throws Exception {
        DatabaseTest settings = settings(context);
        Class<?> testClass = context.getRequiredTestClass();
        ExtensionContext.Store store = context.getStore(NAMESPACE);
        boolean ownAnnotation = AnnotationSupport.isAnnotated(testClass, DatabaseTest.class);
        boolean open = ownAnnotation ? store.get(new OpenedFor(testClass)) != null
                : store.get(DatabaseScope.class) != null;
        if (!settings.perTest() && !open) {
            store.put(DatabaseScope.class, DatabaseScope.open(shared(context), testClass.getSimpleName(), settings));
            store.put(new OpenedFor(testClass), Boolean.TRUE);
        }
    }

    @Override
    public void beforeEach(ExtensionContext context) throws Exception {
        DatabaseTest settings = settings(context);
        if (settings.perTest()) {
            context.getStore(NAMESPACE).put(DatabaseScope.class, DatabaseScope.open(shared(context),
                    context.getRequiredTestClass().getSimpleName() + "_" + context.getRequiredTestMethod().getName(),
                    settings));
        }
        DatabaseScope scope = findScope(context).orElse(null);
        if (scope != null) {
            scope.testStarted(context.getUniqueId(), testName(context));
            if (settings.rollback()) {
                // Before the test's @BeforeEach methods (JUnit calls this first), so that what they arrange is the
                // test's work too, rolled back with it after its @AfterEach methods, as Spring's test transactions do.
                context.getStore(NAMESPACE).put(HeldTransaction.class, TestSupport.holdUntilRolledBack(
                        scope.sessions()));
            }
        }
    }

    @Override
    public void afterEach(ExtensionContext context) throws Exception {
        DatabaseScope scope = findScope(context).orElse(null);
        DatabaseScope perTest = settings(context).perTest()
                ? context.getStore(NAMESPACE).remove(DatabaseScope.class, DatabaseScope.class) : null;
        HeldTransaction rollbackMode = context.getStore(NAMESPACE).remove(HeldTransaction.class,
                HeldTransaction.class);
        try {
            if (rollbackMode != null) {
                rollbackMode.rollBack(); // after the @AfterEach methods, and before looking for leaks
            }
        } finally {
            try {
                if (scope != null) {
                    scope.testEnded(context.getUniqueId());
                }
            } finally {
                if (perTest != null) {
                    perTest.close();
                }
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Parameters
    // ---------------------------------------------------------------------------------------------------------------

    @Override
    public boolean supportsParameter(ParameterContext parameter, ExtensionContext context) {
        Class<?> type = parameter.getParameter().getType();
        return type == SessionManager.class || type == DSLContext.class || type == TestDatabase.class;
    }

    @Override
    public Object resolveParameter(ParameterContext parameter, ExtensionContext context) {
        DatabaseScope scope;
        try {
            scope = scope(context);
        } catch (IllegalStateException e) {
            throw new ParameterResolutionException(e.getMessage(), e);
        }
        Class<?> type = parameter.getParameter().getType();
        if (type == SessionManager.class) {
            return scope.sessions();
        }
        if (type == DSLContext.class) {
            return scope.dsl();
        }
        return scope.database();
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static DatabaseTest settings(ExtensionContext context) {
        for (Optional<ExtensionContext> current = Optional.of(context); current.isPresent();
                current = current.get().getParent()) {
            Optional<Class<?>> testClass = current.get().getTestClass();
            if (testClass.isPresent()) {
                Optional<DatabaseTest> found = AnnotationSupport.findAnnotation(testClass.get(), DatabaseTest.class);
                if (found.isPresent()) {
                    return found.get();
                }
            }
        }
        throw new IllegalStateException("No @DatabaseTest on " + context.getDisplayName());
    }

    /**
     * The run's server for the class's image: one per image asked for, shared by the classes that ask for it, for as
     * long as JUnit's launcher session lasts. Surefire with more than one fork ({@code forkCount=2}) opens one session
     * per JVM and executes each class in it on its own, with a root store of its own each time: kept there, the
     * server, its templates and a container of its own would be made again for every class. The session's store
     * (JUnit 5.13 and later) outlives those executions; JUnit 5.12 (which Spring Boot 3.5 manages) has none, and there
     * the root store it is. Made with the store's {@code getOrComputeIfAbsent}, which JUnit 6 deprecates for
     * {@code computeIfAbsent}: JUnit 5 has only the former.
     */
    @SuppressWarnings("deprecation")
    private static SharedServer shared(ExtensionContext context) {
        String image = settings(context).image();
        return runStore(context).getOrComputeIfAbsent(SharedServer.class.getName() + "/" + image,
                key -> SharedServer.start(image), SharedServer.class);
    }

    /** The store that lasts the launcher session, or the root store on a JUnit without session stores. */
    private static ExtensionContext.Store runStore(ExtensionContext context) {
        return SESSION_STORES ? context.getStore(ExtensionContext.StoreScope.LAUNCHER_SESSION, NAMESPACE)
                : context.getRoot().getStore(NAMESPACE);
    }

    /** The test's method and, when it has a name of its own (a display name, a parameterized invocation), that. */
    private static String testName(ExtensionContext context) {
        String method = context.getRequiredTestMethod().getName();
        String display = context.getDisplayName();
        return display.startsWith(method) ? display : method + " " + display;
    }

    private static Optional<DatabaseScope> findScope(ExtensionContext context) {
        return Optional.ofNullable(context.getStore(NAMESPACE).get(DatabaseScope.class, DatabaseScope.class));
    }

    private static DatabaseScope scope(ExtensionContext context) {
        return findScope(context).orElseThrow(() -> new IllegalStateException(settings(context).perTest()
                ? "@DatabaseTest(perTest = true) gives each test its own database, so it cannot be injected into a"
                        + " constructor or a @BeforeAll method of " + context.getDisplayName() + "; take it as a"
                        + " parameter of the test or @BeforeEach method instead"
                : "No database for " + context.getDisplayName()));
    }
}
