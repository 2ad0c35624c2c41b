package io.managedsession.database;

import java.io.IOException;
import java.util.List;
import java.util.function.Supplier;
import java.util.stream.Collectors;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;

/**
 * Starts zonky's embedded server whatever locale the environment names. initdb takes a new cluster's locale from the
 * environment ({@code LC_ALL}, {@code LC_*}, {@code LANG}), as PostgreSQL's own does, and refuses one the machine
 * cannot load: {@code LANG=en_US.UTF-8} in a container image without locales, or the {@code LC_CTYPE=UTF-8} that SSH
 * from a Mac brings to Linux. Such a start is made again with initdb's {@code --locale=C}, which every machine has, and
 * says so once; a locale the machine has is kept, so text sorts as the developer's machine sorts it.
 */
final class EmbeddedStart {

    private static final Logger log = LoggerFactory.getLogger(EmbeddedStart.class);

    /** The variables initdb reads a locale from, strongest first. */
    private static final List<String> LOCALE_VARIABLES = List.of("LC_ALL", "LC_COLLATE", "LC_CTYPE", "LC_MESSAGES",
            "LC_MONETARY", "LC_NUMERIC", "LC_TIME", "LANG");

    private EmbeddedStart() {
    }

    /**
     * Starts a server from a builder of {@code builders}, and from a second one with the C locale when initdb failed
     * on an environment that names a locale.
     *
     * @throws IOException      as zonky's start does, the second start's failure suppressed in it
     * @throws RuntimeException as zonky's start does, likewise
     */
    static EmbeddedPostgres start(Supplier<EmbeddedPostgres.Builder> builders) throws IOException {
        try {
            return builders.get().start();
        } catch (IOException | RuntimeException e) {
            String locale = environmentLocale();
            // zonky's message names the program that failed: "Process [..., .../bin/initdb, ...] failed".
            if (locale.isEmpty() || !String.valueOf(e.getMessage()).contains("initdb")) {
                throw e;
            }
            EmbeddedPostgres server;
            try {
                server = builders.get().setLocaleConfig("locale", "C").start();
            } catch (IOException | RuntimeException again) {
                e.addSuppressed(again);
                throw e;
            }
            // Said as what was seen: initdb failed with the environment's locale and succeeded with C.
            log.warn("initdb failed with this environment's locale ({}), as it does where the machine lacks that"
                    + " locale; the embedded PostgreSQL was initialised with --locale=C instead, so its text sorts by"
                    + " code point and only ASCII letters change case. Set LC_ALL to a locale this machine has"
                    + " (locale -a lists them) for that locale's rules", locale);
            return server;
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
