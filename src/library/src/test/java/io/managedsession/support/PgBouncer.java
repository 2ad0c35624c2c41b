package io.managedsession.support;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.InetSocketAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

import org.junit.jupiter.api.Assumptions;

import io.zonky.test.db.postgres.util.LinuxUtils;

import io.managedsession.testing.TestDatabase;

/**
 * A PgBouncer in transaction pooling mode that a test starts in front of its PostgreSQL, on a free loopback port:
 * Debian's {@code pgbouncer} package (1.18, which cannot track named prepared statements). Every database of the server
 * is reachable through it under its own name; clients log in with the server's credentials, which PgBouncer then uses
 * itself. Started as root, it runs in a user namespace ({@code unshare -U}), as the embedded PostgreSQL does, since it
 * refuses to run as root.
 */
public final class PgBouncer implements AutoCloseable {

    /** Where Debian's package installs it. */
    private static final Path BINARY = Path.of("/usr/sbin/pgbouncer");
    /** Set to {@code true} by {@code .ci/run}: a missing PgBouncer fails the tests that need it instead of skipping them. */
    private static final String REQUIRED_ENVIRONMENT = "MANAGEDSESSION_PGBOUNCER_REQUIRED";
    private static final Pattern HOST_AND_PORT = Pattern.compile("jdbc:postgresql://([^:/?,]+):(\\d+)/.*");

    /** One PgBouncer per server for the run behind PgBouncer, stopped when the test JVM ends. */
    private static final Map<String, PgBouncer> SHARED = new ConcurrentHashMap<>();

    private final Path directory;
    private final Process process;
    private final int port;

    private PgBouncer(Path directory, Process process, int port) {
        this.directory = directory;
        this.process = process;
        this.port = port;
    }

    /**
     * Skips the calling test (JUnit assumption) when PgBouncer is not installed, unless the build says it must be.
     *
     * @throws IllegalStateException when it is missing and required
     */
    public static void assumeInstalled() {
        if (Files.isExecutable(BINARY)) {
            return;
        }
        if (Boolean.parseBoolean(System.getenv(REQUIRED_ENVIRONMENT))) {
            throw new IllegalStateException(BINARY + " is missing, and " + REQUIRED_ENVIRONMENT + "=true says the"
                    + " PgBouncer tests must run: apt-get install pgbouncer");
        }
        Assumptions.abort("PgBouncer is not installed (" + BINARY + "; on Debian: apt-get install pgbouncer)");
    }

    /**
     * Returns the PgBouncer in front of the server of {@code db}, starting it on first use; it serves every database
     * of that server and stops when the JVM does.
     */
    public static PgBouncer shared(TestDatabase db) {
        return SHARED.computeIfAbsent(db.server().jdbcUrl(), server -> {
            PgBouncer bouncer = inFrontOf(db);
            Runtime.getRuntime().addShutdownHook(new Thread(bouncer::close, "pgbouncer-stopper"));
            return bouncer;
        });
    }

    /** Starts a PgBouncer in transaction mode in front of the server of {@code db}. */
    public static PgBouncer inFrontOf(TestDatabase db) {
        return inFrontOf(db, Map.of());
    }

    /**
     * Starts a PgBouncer in transaction mode in front of the server of {@code db}, with {@code settings} added to its
     * {@code [pgbouncer]} section ({@code idle_transaction_timeout}, say).
     */
    public static PgBouncer inFrontOf(TestDatabase db, Map<String, String> settings) {
        assumeInstalled();
        Matcher server = HOST_AND_PORT.matcher(db.jdbcUrl());
        if (!server.matches()) {
            throw new IllegalArgumentException("Cannot tell host and port from " + db.jdbcUrl());
        }
        String host = "localhost".equals(server.group(1)) ? "127.0.0.1" : server.group(1);
        try {
            Path directory = Files.createTempDirectory("managed-session-pgbouncer-");
            int port = freePort();
            // A URL without a user logs in as the driver does then: as the operating system's user.
            String user = db.username() == null ? System.getProperty("user.name") : db.username();
            String password = db.password();
            Files.writeString(directory.resolve("users.txt"), quoted(user) + " " + quoted(password == null ? ""
                    : password) + "\n");
            Files.writeString(directory.resolve("pgbouncer.ini"), String.join("\n",
                    "[databases]",
                    "* = host=" + host + " port=" + server.group(2),
                    "[pgbouncer]",
                    "listen_addr = 127.0.0.1",
                    "listen_port = " + port,
                    "unix_socket_dir =",
                    // Clients give the server's password; PgBouncer logs in to the server with it.
                    "auth_type = " + (password == null ? "trust" : "scram-sha-256"),
                    "auth_file = " + directory.resolve("users.txt"),
                    "pool_mode = transaction",
                    "max_client_conn = 200",
                    "default_pool_size = 20",
                    "logfile = " + directory.resolve("pgbouncer.log"),
                    ""));
            for (Map.Entry<String, String> setting : settings.entrySet()) {
                Files.writeString(directory.resolve("pgbouncer.ini"), setting.getKey() + " = " + setting.getValue()
                        + "\n", StandardOpenOption.APPEND);
            }
            List<String> command = new ArrayList<>();
            if (LinuxUtils.isUnshareAvailable()) {
                command.add("unshare");
                command.add("-U");
            }
            command.add(BINARY.toString());
            command.add(directory.resolve("pgbouncer.ini").toString());
            Process process = new ProcessBuilder(command).redirectErrorStream(true)
                    .redirectOutput(directory.resolve("stdout.txt").toFile()).start();
            PgBouncer bouncer = new PgBouncer(directory, process, port);
            bouncer.awaitListening();
            return bouncer;
        } catch (IOException e) {
            throw new UncheckedIOException("Could not start PgBouncer", e);
        }
    }

    /**
     * Returns the JDBC URL of one of the server's databases, through PgBouncer.
     *
     * @param database the database name
     * @return the URL
     */
    public String jdbcUrl(String database) {
        return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
    }

    /** The port it listens on, on 127.0.0.1. */
    public int port() {
        return port;
    }

    private void awaitListening() throws IOException {
        long end = System.nanoTime() + TimeUnit.SECONDS.toNanos(20);
        while (true) {
            try (Socket socket = new Socket()) {
                socket.connect(new InetSocketAddress(InetAddress.getLoopbackAddress(), port), 200);
                return;
            } catch (IOException notYet) {
                if (!process.isAlive() || System.nanoTime() - end > 0) {
                    close();
                    throw new IOException("PgBouncer did not start listening on 127.0.0.1:" + port + ": "
                            + Files.readString(directory.resolve("stdout.txt")));
                }
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IOException("Interrupted while PgBouncer started", e);
            }
        }
    }

    /** Stops PgBouncer (every client connection is cut) and deletes its files. */
    @Override
    public void close() {
        process.destroy();
        try {
            if (!process.waitFor(10, TimeUnit.SECONDS)) {
                process.destroyForcibly();
            }
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            process.destroyForcibly();
        }
        try (Stream<Path> files = Files.walk(directory)) {
            for (Path path : files.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            // A temporary directory left behind is not worth failing a test for.
        }
    }

    private static String quoted(String text) {
        return '"' + text.replace("\"", "\"\"") + '"';
    }

    private static int freePort() throws IOException {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        }
    }
}
