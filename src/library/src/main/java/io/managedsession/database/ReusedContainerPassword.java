package io.managedsession.database;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.UUID;

/**
 * The password of this user's reused PostgreSQL containers, kept in {@code ~/.cache/managed-session}. Testcontainers
 * finds a container to reuse by its settings, the password among them, so it must be the same run after run; a
 * well-known one would open a container that Docker publishes on every interface of a laptop to its network.
 */
final class ReusedContainerPassword {

    private ReusedContainerPassword() {
    }

    /** The file holding it, under the user's home. */
    static Path file() {
        return Path.of(System.getProperty("user.home"), ".cache", "managed-session", "reused-postgres-password");
    }

    /** Reads the password, making one readable by this user only the first time. */
    static String read() {
        Path file = file();
        try {
            if (!Files.exists(file)) {
                create(file);
            }
            String password = Files.readString(file, StandardCharsets.UTF_8).strip();
            if (password.isEmpty()) {
                throw new IllegalStateException("The password file of reused PostgreSQL containers " + file
                        + " is empty; delete it to have a new one made");
            }
            return password;
        } catch (IOException e) {
            throw new UncheckedIOException("Could not read or make the password file of reused PostgreSQL containers "
                    + file + ": " + e.getMessage(), e);
        }
    }

    /**
     * Writes a new password to a file of its own, then moves it into place, so that another run starting at the same
     * moment reads a whole password: whichever move comes first wins, the other run reads it.
     */
    private static void create(Path file) throws IOException {
        Path directory = Files.createDirectories(file.getParent());
        // A temporary file is readable and writable by its owner only, where the file system has permissions.
        Path fresh = Files.createTempFile(directory, "reused-postgres-password", ".new");
        try {
            Files.writeString(fresh, UUID.randomUUID() + "\n", StandardCharsets.UTF_8);
            try {
                Files.move(fresh, file);
            } catch (FileAlreadyExistsException anotherRunWasFirst) {
                // Its password is the one to use.
            }
        } finally {
            Files.deleteIfExists(fresh);
        }
    }
}
