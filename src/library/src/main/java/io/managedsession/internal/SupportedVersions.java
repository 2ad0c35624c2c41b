package io.managedsession.internal;

import java.io.IOException;
import java.io.InputStream;
import java.nio.charset.StandardCharsets;
import java.util.Properties;

import org.flywaydb.core.Flyway;
import org.jooq.Constants;

/**
 * Checks that the jOOQ and Flyway on the class path are releases the library runs with. A build's dependency
 * management (Spring Boot's, say) picks one release of each library for the whole application, which may be older
 * than the one the library was built with; the library would then fail with a {@code NoSuchMethodError} deep inside
 * a call, when it first needs a method the older release lacks. This says so before anything starts, and how to
 * choose the release.
 */
public final class SupportedVersions {

    /** The oldest jOOQ the library runs with: it implements and calls jOOQ 3.21's API. */
    static final String OLDEST_JOOQ = "3.21";
    /** The oldest Flyway the library runs with: older ones lack methods its migrations call. */
    static final String OLDEST_FLYWAY = "11.14";

    private static final Properties BUILT_WITH = loadBuiltWith();

    private SupportedVersions() {
    }

    /**
     * Throws when the jOOQ on the class path is older than {@link #OLDEST_JOOQ}.
     *
     * @throws IllegalStateException naming both releases and how to choose the right one
     */
    public static void checkJooq() {
        String refusal = refusal("jOOQ", jooqVersion(), OLDEST_JOOQ, builtWith("jooq", OLDEST_JOOQ), "org.jooq:jooq",
                "jooq.version");
        if (refusal != null) {
            throw new IllegalStateException("SessionManager cannot start: " + refusal);
        }
    }

    /**
     * Throws when the Flyway on the class path is older than {@link #OLDEST_FLYWAY}.
     *
     * @param owner who migrates, for the message: a manager or a test database
     * @throws IllegalStateException naming both releases and how to choose the right one
     */
    public static void checkFlyway(String owner) {
        String refusal = refusal("Flyway", flywayVersion(), OLDEST_FLYWAY, builtWith("flyway", OLDEST_FLYWAY),
                "org.flywaydb:flyway-core and org.flywaydb:flyway-database-postgresql", "flyway.version");
        if (refusal != null) {
            throw new IllegalStateException(owner + " cannot migrate: " + refusal);
        }
    }

    /**
     * Why {@code found} will not do, or {@code null} when it will (or is not known: a repackaged library may not
     * say, and then the library goes ahead).
     *
     * @param artifacts what to declare in {@code <dependencyManagement>}
     * @param property  the version property of Spring Boot's dependency management
     */
    static String refusal(String library, String found, String oldest, String builtWith, String artifacts,
            String property) {
        if (found == null || compare(found, oldest) >= 0) {
            return null;
        }
        return "it needs " + library + " " + oldest + " or newer (it is built with " + builtWith + "), but the class"
                + " path has " + library + " " + found + ", which lacks methods it calls. A dependency management chose"
                + " that release, as Spring Boot's does for the whole application: declare " + artifacts + " at "
                + builtWith + " in your <dependencyManagement> (entries of your own win over an imported"
                + " spring-boot-dependencies), or set the property " + property + " to " + builtWith + " where"
                + " spring-boot-starter-parent is the parent";
    }

    /** Compares dotted release numbers by their numeric parts ({@code 3.19.35} before {@code 3.21}). */
    static int compare(String version, String other) {
        String[] left = version.split("\\.");
        String[] right = other.split("\\.");
        for (int i = 0; i < Math.max(left.length, right.length); i++) {
            int difference = Integer.compare(number(left, i), number(right, i));
            if (difference != 0) {
                return difference;
            }
        }
        return 0;
    }

    /** The leading digits of part {@code index} ({@code 0} for {@code 0-SNAPSHOT}), 0 when there is no such part. */
    private static int number(String[] parts, int index) {
        if (index >= parts.length) {
            return 0;
        }
        String part = parts[index];
        int digits = 0;
        while (digits < part.length() && digits < 9 && Character.isDigit(part.charAt(digits))) {
            digits++;
        }
        return digits == 0 ? 0 : Integer.parseInt(part.substring(0, digits));
    }

    /**
     * The release of the jOOQ loaded, read from its {@code Constants} at run time: javac copies the constant's value
     * into code compiled against it, which would give the release the library was compiled with.
     */
    static String jooqVersion() {
        try {
            return (String) Constants.class.getField("VERSION").get(null);
        } catch (ReflectiveOperationException | RuntimeException e) {
            return null;
        }
    }

    /** The release of the Flyway loaded, as Flyway itself reads it when it prints its banner. */
    static String flywayVersion() {
        try (InputStream text = Flyway.class.getResourceAsStream("/org/flywaydb/core/internal/version.txt")) {
            return text == null ? null : new String(text.readAllBytes(), StandardCharsets.UTF_8).strip();
        } catch (IOException e) {
            return null;
        }
    }

    /** The release of {@code library} this build was made with, or {@code otherwise} when that is not known. */
    static String builtWith(String library, String otherwise) {
        return BUILT_WITH.getProperty(library, otherwise);
    }

    private static Properties loadBuiltWith() {
        Properties built = new Properties();
        try (InputStream in = SupportedVersions.class.getResourceAsStream(
                "/META-INF/managed-session/built-with.properties")) {
            if (in != null) {
                built.load(in);
            }
        } catch (IOException e) {
            // The message then names the oldest release instead; the check itself does not need it.
        }
        return built;
    }
}
