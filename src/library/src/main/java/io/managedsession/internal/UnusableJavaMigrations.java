package io.managedsession.internal;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.reflect.Constructor;
import java.lang.reflect.InvocationTargetException;
import java.lang.reflect.Modifier;
import java.net.JarURLConnection;
import java.net.URISyntaxException;
import java.net.URL;
import java.net.URLClassLoader;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Optional;
import java.util.Set;
import java.util.TreeSet;
import java.util.jar.JarEntry;
import java.util.jar.JarFile;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import org.flywaydb.core.Flyway;
import org.flywaydb.core.api.Location;
import org.flywaydb.core.api.migration.JavaMigration;

import io.managedsession.SessionException;

/**
 * Finds Java migrations that Flyway would find but not run. Flyway makes each class implementing {@link JavaMigration}
 * at a location by calling its constructor without parameters; when it cannot (the class is not public, has no such
 * public constructor, sits in a package its module does not export to Flyway, or its constructor throws), it logs a
 * "Skipping" warning and migrates without it, so the application starts on a schema that lacks the migration and
 * nothing fails. The start fails instead, naming the class and what to change. A class of which Flyway is given an
 * instance ({@code javaMigrations}, as a dependency-injection container does) is not refused: Flyway runs that
 * instance.
 *
 * <p>The classes are listed as Flyway lists them, from the class loader's resources at the location (directories
 * and jars; other kinds of resource are not looked into), and loaded without being initialised; one that passes
 * these checks is then made once, as Flyway makes each migration it finds to see whether it can (so its constructor
 * runs once more than Flyway alone would run it), and one whose constructor or static initialiser throws is refused
 * too. Locations with wildcards and those outside the class path are not checked.
 */
final class UnusableJavaMigrations {

    private UnusableJavaMigrations() {
    }

    /**
     * Throws when a classpath location holds a Java migration Flyway could not make.
     *
     * @param classLoader the class loader Flyway finds the migrations with
     * @param made        the migrations given to Flyway made ({@code javaMigrations}), whose classes Flyway skips
     *                    rightly
     * @param owner       who migrates, for the message
     * @throws SessionException naming the location, the class, why Flyway cannot make it and what to change
     */
    static void refuse(Location[] locations, ClassLoader classLoader, JavaMigration[] made, String owner) {
        if (classLoader == null) {
            return; // a thread without a context class loader: Flyway finds no classes there either
        }
        Set<Class<?>> madeClasses = Stream.of(made).map(Object::getClass).collect(Collectors.toSet());
        for (Location location : locations) {
            if (!ClosedMigrationPackages.isPlainClassPathFolder(location)) {
                continue;
            }
            for (String className : classNames(classLoader, location.getRootPath())) {
                javaMigration(classLoader, className).filter(migration -> !madeClasses.contains(migration))
                        .flatMap(UnusableJavaMigrations::whyFlywayCannotMakeIt)
                        .ifPresent(why -> {
                            throw new SessionException(owner + ": Flyway would skip the Java migration " + className
                                    + " at " + location.getDescriptor() + " and migrate without it: " + why);
                        });
            }
        }
    }

    /** What stops Flyway from calling the migration's constructor, and what to change; empty when nothing does. */
    private static Optional<String> whyFlywayCannotMakeIt(Class<?> migration) {
        Module module = migration.getModule();
        String packageName = migration.getPackageName();
        if (!module.isExported(packageName, Flyway.class.getModule())) {
            return Optional.of("it is in module " + module.getName() + ", which does not export its package "
                    + packageName + " to Flyway. Add \"opens " + packageName + ";\" (or \"exports " + packageName
                    + ";\") to the module-info.java of " + module.getName() + "; opens also lets Flyway read SQL"
                    + " migrations in that package");
        }
        if (!Modifier.isPublic(migration.getModifiers())) {
            return Optional.of("the class is not public. Make it public");
        }
        Constructor<?> constructor;
        try {
            constructor = migration.getDeclaredConstructor();
        } catch (NoSuchMethodException e) {
            return Optional.of("it has no constructor without parameters, which is how Flyway makes it. Give it"
                    + " one, or give Flyway the migration made, with javaMigrations(...) in migrationConfiguration");
        }
        if (!Modifier.isPublic(constructor.getModifiers())) {
            return Optional.of("its constructor without parameters is not public. Make it public");
        }
        // Flyway makes every migration it finds once to see whether it can, and skips one whose making throws.
        try {
            constructor.newInstance();
        } catch (InvocationTargetException e) {
            return Optional.of("its constructor threw " + described(e.getCause()) + ". Flyway makes each Java"
                    + " migration it finds to see whether it can, and skips one it cannot make");
        } catch (ExceptionInInitializerError e) {
            return Optional.of("its class's static initialiser threw " + described(e.getCause()));
        } catch (ReflectiveOperationException | LinkageError e) {
            return Optional.of("making it failed: " + described(e));
        }
        return Optional.empty();
    }

    private static String described(Throwable failure) {
        return failure == null ? "nothing Java says" : failure.getClass().getName() + ": " + failure.getMessage();
    }

    /**
     * The class of that name when Flyway would take it for a migration (a concrete {@link JavaMigration}); loaded, not
     * initialised.
     */
    private static Optional<Class<?>> javaMigration(ClassLoader classLoader, String className) {
        Class<?> type;
        try {
            type = Class.forName(className, false, classLoader);
        } catch (ClassNotFoundException | LinkageError e) {
            return Optional.empty(); // Flyway cannot load it either, and says so
        }
        if (!JavaMigration.class.isAssignableFrom(type) || Modifier.isAbstract(type.getModifiers()) || type.isEnum()
                || type.isAnonymousClass()) {
            return Optional.empty();
        }
        return Optional.of(type);
    }

    /** The names of the classes under {@code root} (a path such as {@code db/migration}), in order. */
    private static List<String> classNames(ClassLoader classLoader, String root) {
        TreeSet<String> classFiles = new TreeSet<>();
        try {
            List<URL> urls = Collections.list(classLoader.getResources(root));
            for (URL url : urls) {
                classFiles.addAll(classFiles(url, root));
            }
            if (urls.isEmpty() && classLoader instanceof URLClassLoader application) {
                // A jar without entries for its folders has no resource named like the folder; Flyway then reads
                // the entries of every jar of such a class loader, and so does this.
                for (URL url : application.getURLs()) {
                    if ("file".equals(url.getProtocol()) && url.getPath().endsWith(".jar")) {
                        try (JarFile jar = new JarFile(Path.of(url.toURI()).toFile())) {
                            classFiles.addAll(classFiles(jar, root));
                        }
                    }
                }
            }
        } catch (IOException | UncheckedIOException | URISyntaxException e) {
            return List.of(); // what cannot be listed is not refused: Flyway then says what it finds
        }
        List<String> names = new ArrayList<>();
        for (String file : classFiles) {
            names.add(file.substring(0, file.length() - ".class".length()).replace('/', '.'));
        }
        return names;
    }

    /** The class files (as resource names) under {@code root} in the folder or jar {@code url} points into. */
    private static List<String> classFiles(URL url, String root) throws IOException, URISyntaxException {
        if ("file".equals(url.getProtocol())) {
            Path folder = Path.of(url.toURI());
            try (Stream<Path> files = Files.walk(folder)) {
                return files.filter(file -> file.toString().endsWith(".class") && Files.isRegularFile(file))
                        .map(file -> root + "/" + folder.relativize(file).toString().replace(file.getFileSystem()
                                .getSeparator(), "/"))
                        .toList();
            }
        }
        if ("jar".equals(url.getProtocol())
                && url.openConnection() instanceof JarURLConnection jarConnection) { // a nested jar's too
            jarConnection.setUseCaches(false);
            try (JarFile jar = jarConnection.getJarFile()) {
                return classFiles(jar, root);
            }
        }
        return List.of();
    }

    private static List<String> classFiles(JarFile jar, String root) {
        return jar.stream().map(JarEntry::getName)
                .filter(name -> name.startsWith(root + "/") && name.endsWith(".class"))
                .toList();
    }
}
