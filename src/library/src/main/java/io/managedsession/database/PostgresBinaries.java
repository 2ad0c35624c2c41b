package io.managedsession.database;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;

import io.zonky.test.db.postgres.util.LinuxUtils;

import io.managedsession.SessionException;

/**
 * The PostgreSQL programs of the embedded binaries (the folder zonky extracted them to), run the way zonky runs them:
 * through {@code unshare -U} when this process is root, since PostgreSQL refuses to run as root and a user namespace
 * makes it see another user without changing who owns the files.
 */
final class PostgresBinaries {

    private static final long COMMAND_TIMEOUT_SECONDS = 120;

    private final Path binDirectory;

    PostgresBinaries(Path binDirectory) {
        this.binDirectory = binDirectory;
    }

    /**
     * Runs {@code program} with {@code arguments} and waits for it.
     *
     * @param log a file that receives the program's output, shown in the exception when it fails
     * @throws SessionException when it exits with an error or does not end within two minutes
     */
    void run(Path log, String program, String... arguments) {
        List<String> command = new ArrayList<>();
        if (LinuxUtils.isUnshareAvailable()) {
            command.add("unshare");
            command.add("-U");
        }
        command.add(binDirectory.resolve(program).toString());
        command.addAll(List.of(arguments));
        try {
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(ProcessBuilder.Redirect.appendTo(log.toFile())).start();
            if (!process.waitFor(COMMAND_TIMEOUT_SECONDS, TimeUnit.SECONDS)) {
                process.destroyForcibly();
                throw new SessionException(program + " did not end within " + COMMAND_TIMEOUT_SECONDS + " s: "
                        + String.join(" ", command) + tail(log));
            }
            if (process.exitValue() != 0) {
                throw new SessionException(program + " failed with exit code " + process.exitValue() + ": "
                        + String.join(" ", command) + tail(log));
            }
        } catch (IOException e) {
            throw new SessionException("Could not run " + String.join(" ", command) + ": " + e.getMessage(), e);
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new SessionException("Interrupted while waiting for " + program, e);
        }
    }

    /** The last lines of a log, for an error message. */
    static String tail(Path log) {
        try {
            List<String> lines = Files.readAllLines(log, StandardCharsets.UTF_8);
            return "; the last lines of " + log + ":\n  "
                    + String.join("\n  ", lines.subList(Math.max(0, lines.size() - 15), lines.size()));
        } catch (IOException e) {
            return "; " + log + " could not be read: " + e.getMessage();
        }
    }
}
