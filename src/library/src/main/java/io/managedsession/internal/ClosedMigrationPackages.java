package io.managedsession.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.module.ModuleReader;
import java.lang.module.ResolvedModule;
import java.util.Optional;
import java.util.stream.Stream;

import org.flywaydb.core.api.Location;

import io.managedsession.SessionException;

/**
 * Finds migrations that Flyway would list but could not read: SQL files in a package of a named module that does not
 * open it. Flyway reads them through a class loader, which hands out a named module's resources (other than classes)
 * only from packages the module opens to everyone; a qualified {@code opens ... to} does not serve it. A folder whose
 * name is no package name ({@code db/todo-lists}) is not a package, and nothing hides it. Without this check the start
 * fails inside Flyway with "Unable to obtain inputstream for resource", which does not say why.
 */
final class ClosedMigrationPackages {

    private ClosedMigrationPackages() {
    }

    /**
     * Throws when a classpath location's migrations sit in a package of a module of the boot layer that does not open
     * it. Locations with wildcards are not checked.
     *
     * @param owner who migrates, for the message
     * @throws SessionException naming the location, the module and the {@code opens} line to add
     */
    static void refuse(Location[] locations, String owner) {
        for (Location location : locations) {
            if (!isPlainClassPathFolder(location)) {
                continue;
            }
            String root = location.getRootPath();
            for (ResolvedModule resolved : ModuleLayer.boot().configuration().modules()) {
                Module module = ModuleLayer.boot().findModule(resolved.name()).orElseThrow();
                closedPackageWithResources(resolved, module, root).ifPresent(closed -> {
                    throw new SessionException(owner + ": the migrations at " + location.getDescriptor() + " are in"
                            + " module " + module.getName() + ", which does not open their package " + closed
                            + " to everyone, so Flyway finds them but cannot read them. Add \"opens " + closed
                            + ";\" to the module-info.java of " + module.getName() + " (\"opens " + closed
                            + " to ...\" is not enough: Flyway reads them through a class loader), or keep them in a"
                            + " folder whose name is no Java package name, such as " + root + "-sql (a hyphen), which"
                            + " a module does not hide; migrations only the tests have need the latter, since the"
                            + " module cannot open a package that only its tests add");
                });
            }
        }
    }

    /**
     * Whether {@code location} names one folder of the class path (no wildcards, not its root): the locations the
     * checks before a migration look into.
     */
    static boolean isPlainClassPathFolder(Location location) {
        return "classpath:".equals(location.getPrefix()) && location.getPathRegex() == null
                && !location.getRootPath().isEmpty();
    }

    /** The first package under {@code root} that holds a resource other than a class and is not open to everyone. */
    private static Optional<String> closedPackageWithResources(ResolvedModule resolved, Module module, String root) {
        String rootPackage = root.replace('/', '.');
        boolean anyClosed = module.getPackages().stream()
                .anyMatch(p -> (p.equals(rootPackage) || p.startsWith(rootPackage + ".")) && !module.isOpen(p));
        if (!anyClosed) {
            return Optional.empty();
        }
        try (ModuleReader reader = resolved.reference().open(); Stream<String> names = reader.list()) {
            return names.filter(name -> name.startsWith(root + "/") && !name.endsWith("/") && !name.endsWith(".class"))
                    .map(name -> name.substring(0, name.lastIndexOf('/')).replace('/', '.'))
                    .filter(p -> !module.isOpen(p))
                    .sorted()
                    .findFirst();
        } catch (IOException | UncheckedIOException e) {
            // What cannot be listed is not refused: Flyway then says what it finds.
            return Optional.empty();
        }
    }
}
