package io.managedsession.internal;

import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import java.util.stream.Collectors;

/**
 * Checks, before a manager starts, that the libraries it links against are there, and says how to bring them when
 * they are not, instead of a {@code NoClassDefFoundError} from deep inside the start.
 *
 * <p>On the module path the library is an automatic module ({@code Automatic-Module-Name: io.managedsession}; it
 * cannot declare its dependencies because Flyway names no module of its own, flyway/flyway#3788). An automatic module
 * reads every module Java resolves, and Java resolves every automatic module with it (the driver, Flyway), but an
 * explicit module only when a module requires it: SLF4J, HikariCP and jOOQ ship module descriptors, so an
 * application module that requires only {@code io.managedsession} starts without them.
 */
public final class RequiredModules {

    /** A library the manager cannot start without, by a class it loads at start. */
    private record Needed(String module, String artifact, String className) {
    }

    private static final List<Needed> NEEDED = List.of(
            new Needed("org.jooq", "jooq", "org.jooq.DSLContext"),
            new Needed("com.zaxxer.hikari", "HikariCP", "com.zaxxer.hikari.HikariDataSource"),
            new Needed("org.slf4j", "slf4j-api", "org.slf4j.LoggerFactory"));

    private RequiredModules() {
    }

    /**
     * Throws when a library the manager needs cannot be loaded, naming each missing one and the fix.
     *
     * @throws IllegalStateException naming the missing modules and the {@code requires} lines (or, on the class path,
     *                               the dependencies) that bring them
     */
    public static void check() {
        ClassLoader loader = RequiredModules.class.getClassLoader();
        List<Needed> missing = new ArrayList<>();
        for (Needed needed : NEEDED) {
            try {
                Class.forName(needed.className(), false, loader);
            } catch (ClassNotFoundException | LinkageError e) {
                missing.add(needed);
            }
        }
        if (missing.isEmpty()) {
            return;
        }
        Module module = RequiredModules.class.getModule();
        if (module.isNamed()) {
            throw new IllegalStateException("SessionManager cannot start: module " + module.getName() + " runs on"
                    + " the module path without " + join(missing, ", ", n -> n.module() + " (" + n.artifact() + ")")
                    + ". It is an automatic module, which reads every module Java resolves but cannot make Java"
                    + " resolve one. Add " + join(missing, " ", n -> "requires " + n.module() + ";")
                    + " to your module-info.java, or start java with --add-modules "
                    + join(missing, ",", Needed::module));
        }
        throw new IllegalStateException("SessionManager cannot start: the class path lacks "
                + join(missing, ", ", n -> n.artifact() + " (" + n.className() + ")") + "; add "
                + (missing.size() == 1 ? "that dependency" : "those dependencies"));
    }

    private static String join(List<Needed> missing, String separator, Function<Needed, String> part) {
        return missing.stream().map(part).collect(Collectors.joining(separator));
    }
}
