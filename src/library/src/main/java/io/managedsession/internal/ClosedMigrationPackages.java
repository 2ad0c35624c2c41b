package io.managedsession.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.module.ModuleReader;
import java.lang.module.ResolvedModule;
import java.lang.reflect.Modifier;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Optional;
import java.util.TreeMap;
import java.util.stream.Stream;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.Location;
import org.flywaydb.core.api.migration.JavaMigration;

import io.managedsession.SessionException;

/**
 * Finds migrations that Flyway would list but could not use, inside a named module: SQL files in a package the module
 * does not open, and Java migrations in a package it does not export to Flyway.
 *
 * <p>Flyway reads SQL files through a class loader, which hands out a named module's resources (other than classes)
 * only from packages the module opens to everyone; a qualified {@code opens ... to} does not serve it. A folder whose
 * name is no package name ({@code db/todo-lists}) is not a package, and nothing hides it. Without this check the start
 * fails inside Flyway with "Unable to obtain inputstream for resource", which does not say why.
 *
 * <p>Flyway makes a Java migration by calling its constructor, which a module allows only for a package it exports (or
 * opens) to Flyway's module. When it cannot, Flyway logs a "Skipping" warning and migrates without that migration, so
 * the application starts on a schema that lacks it: worse than a failed start, which this check makes it.
 */
final class ClosedMigrationPackages {

    private ClosedMigrationPackages() {
    }

    /**
     * Throws when a classpath location's migrations sit in a package of a module of the boot layer that hides them from
     * Flyway. Locations with wildcards are not checked.
     *
     * @param owner who migrates, for the message
     * @throws SessionException naming the location, the module and the {@code opens} line to add
     */
    static void refuse(Location[] locations, String owner) {
        for (Location location : locations) {
            if (!"classpath:".equals(location.getPrefix()) || location.getPathRegex() != null
                    || location.getRootPath().isEmpty()) {
                continue;
            }
            String root = location.getRootPath();
            for (ResolvedModule resolved : ModuleLayer.boot().configuration().modules()) {
                Module module = ModuleLayer.boot().findModule(resolved.name()).orElseThrow();
                Hidden hidden = hiddenMigrations(resolved, module, root);
                hidden.closedResources().ifPresent(closed -> {
                    throw new SessionException(owner + ": the migrations at " + location.getDescriptor() + " are in"
                            + " module " + module.getName() + ", which does not open their package " + closed
                            + " to everyone, so Flyway finds them but cannot read them. Add \"opens " + closed
                            + ";\" to the module-info.java of " + module.getName() + " (\"opens " + closed
                            + " to ...\" is not enough: Flyway reads them through a class loader), or keep them in a"
                            + " folder whose name is no Java package name, such as " + root + "-sql (a hyphen), which"
                            + " a module does not hide; migrations only the tests have need the latter, since the"
                            + " module cannot open a package that only its tests add");
                });
                hidden.unexportedJavaMigrations().entrySet().stream().findFirst().ifPresent(unexported -> {
                    String hiddenPackage = unexported.getKey();
                    throw new SessionException(owner + ": the Java migrations at " + location.getDescriptor() + " ("
                            + String.join(", ", unexported.getValue()) + ") are in module " + module.getName()
                            + ", which does not export their package " + hiddenPackage + " to Flyway, so Flyway finds"
                            + " them but cannot make them, and would migrate without them. Add \"opens "
                            + hiddenPackage + ";\" (or \"exports " + hiddenPackage + ";\") to the module-info.java of "
                            + module.getName() + "; opens also lets Flyway read SQL migrations in that package");
                });
            }
        }
    }

    /**
     * What of the migrations under {@code root} in {@code module} Flyway could not use: the first package holding a
     * resource other than a class that is not open to everyone, and the Java migrations (by simple name) of each
     * package not exported to Flyway's module.
     */
    private record Hidden(Optional<String> closedResources, Map<String, List<String>> unexportedJavaMigrations) {

        static final Hidden NONE = new Hidden(Optional.empty(), Map.of());
    }

    private static Hidden hiddenMigrations(ResolvedModule resolved, Module module, String root) {
        String rootPackage = root.replace('/', '.');
        Module flyway = Flyway.class.getModule();
        List<String> underRoot = module.getPackages().stream()
                .filter(p -> p.equals(rootPackage) || p.startsWith(rootPackage + "."))
                .toList();
        if (underRoot.stream().allMatch(p -> module.isOpen(p) && module.isExported(p, flyway))) {
            return Hidden.NONE;
        }
        List<String> names;
        try (ModuleReader reader = resolved.reference().open(); Stream<String> listed = reader.list()) {
            names = listed.filter(name -> name.startsWith(root + "/") && !name.endsWith("/")).toList();
        } catch (IOException | UncheckedIOException e) {
            // What cannot be listed is not refused: Flyway then says what it finds.
            return Hidden.NONE;
        }
        Optional<String> closedResources = names.stream()
                .filter(name -> !name.endsWith(".class"))
                .map(ClosedMigrationPackages::packageOf)
                .filter(p -> !module.isOpen(p))
                .sorted()
                .findFirst();
        Map<String, List<String>> unexportedJavaMigrations = new TreeMap<>();
        names.stream()
                .filter(name -> name.endsWith(".class") && !module.isExported(packageOf(name), flyway))
                .map(name -> name.substring(0, name.length() - ".class".length()).replace('/', '.'))
                .sorted()
                .map(className -> javaMigration(module, className))
                .flatMap(Optional::stream)
                .forEach(migration -> unexportedJavaMigrations
                        .computeIfAbsent(migration.getPackageName(), p -> new ArrayList<>())
                        .add(migration.getSimpleName()));
        return new Hidden(closedResources, unexportedJavaMigrations);
    }

    /** The package of a resource, from its name in the module. */
    private static String packageOf(String resourceName) {
        return resourceName.substring(0, resourceName.lastIndexOf('/')).replace('/', '.');
    }

    /**
     * The class of that name when Flyway would take it for a migration (a concrete {@link JavaMigration}); loaded, not
     * initialised, so that nothing of it runs.
     */
    private static Optional<Class<?>> javaMigration(Module module, String className) {
        Class<?> type;
        try {
            type = Class.forName(module, className);
        } catch (LinkageError e) {
            return Optional.empty(); // Flyway cannot load it either, and says so
        }
        if (type == null || !JavaMigration.class.isAssignableFrom(type) || Modifier.isAbstract(type.getModifiers())
                || type.isEnum() || type.isAnonymousClass()) {
            return Optional.empty();
        }
        return Optional.of(type);
    }
}
