package io.managedsession.bench;

import java.awt.BasicStroke;
import java.awt.Color;
import java.awt.Graphics2D;
import java.awt.geom.Rectangle2D;
import java.awt.image.BufferedImage;
import java.io.IOException;
import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Optional;
import java.util.Properties;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.BiFunction;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import javax.imageio.ImageIO;

import jdk.jfr.Recording;

import org.HdrHistogram.Histogram;
import org.jfree.chart.ChartFactory;
import org.jfree.chart.JFreeChart;
import org.jfree.chart.axis.LogarithmicAxis;
import org.jfree.chart.axis.NumberAxis;
import org.jfree.chart.axis.SymbolAxis;
import org.jfree.chart.plot.CategoryPlot;
import org.jfree.chart.plot.PlotOrientation;
import org.jfree.chart.plot.ValueMarker;
import org.jfree.chart.plot.XYPlot;
import org.jfree.chart.renderer.category.LineAndShapeRenderer;
import org.jfree.chart.renderer.xy.XYErrorRenderer;
import org.jfree.chart.ui.RectangleAnchor;
import org.jfree.chart.ui.TextAnchor;
import org.jfree.data.category.DefaultCategoryDataset;
import org.jfree.data.xy.YIntervalSeries;
import org.jfree.data.xy.YIntervalSeriesCollection;
import org.postgresql.Driver;

import com.sun.management.OperatingSystemMXBean;
import com.zaxxer.hikari.HikariConfig;
import com.zaxxer.hikari.HikariDataSource;

import io.micrometer.core.instrument.simple.SimpleMeterRegistry;

import io.managedsession.SessionManager;
import io.managedsession.bench.TpcbImplementations.Draw;
import io.managedsession.bench.TpcbImplementations.Implementation;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.micrometer.SessionManagerMetrics;

/**
 * The load driver: pgbench's TPC-B transaction on the ledger tables through each implementation, at several client
 * counts, the implementations interleaved in rounds so that drift of the machine falls on all of them alike; and
 * pgbench itself, with the same transaction as a custom script, as the ceiling.
 */
final class TpcbLoad {

    /** The implementations the typed-SQL targets name, besides raw JDBC and the other jOOQ stacks. */
    private static final String PREPARED = "SessionManager + jOOQ, prepared statements";
    private static final String LAYER = "SessionManager, JDBC statements";
    private static final String DSL = "SessionManager + jOOQ";

    private TpcbLoad() {
    }

    /**
     * @param serverConfig {@code fast} (fsync off), {@code durable} (fsync and synchronous_commit on), or empty for
     *                     the server as it is; only a server the run started itself is reconfigured
     */
    record Settings(int durationSeconds, int warmupSeconds, int rounds, int scale, List<Integer> clients,
            int virtualThreads, int poolSize, String only, String skip, boolean pgbench, String serverConfig) {

        static Settings from(Map<String, String> options) {
            return new Settings(
                    Integer.parseInt(options.getOrDefault("duration", "10")),
                    Integer.parseInt(options.getOrDefault("warmup", "5")),
                    Integer.parseInt(options.getOrDefault("rounds", "2")),
                    Integer.parseInt(options.getOrDefault("scale", "16")),
                    BenchmarkSuite.ints(options.getOrDefault("clients", "1,4,16,64")),
                    Integer.parseInt(options.getOrDefault("virtual", "1000")),
                    Integer.parseInt(options.getOrDefault("pool", "16")),
                    options.getOrDefault("only", ""),
                    options.getOrDefault("skip", ""),
                    !options.containsKey("no-pgbench"),
                    options.getOrDefault("server", ""));
        }
    }

    /** A point: one implementation at one client count, summed over rounds. */
    static final class Point {
        final Histogram latencies = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
        long transactions;
        long errors;
        double seconds;
        /** Each round's own throughput, in round order, for the rounds' ratios (RoundRatios). */
        final List<Double> roundTps = new ArrayList<>();
        /** Context switches of the whole machine (client and server share it) during the point, if Linux says. */
        long contextSwitches = -1;
        /** CPU time of this process (the client) during the point, in nanoseconds. */
        long clientCpuNanos;
        /** CPU time of the whole machine during the point, in nanoseconds, if Linux says; else -1. */
        long machineCpuNanos = -1;

        double clientMicrosPerTransaction() {
            return clientCpuNanos / 1e3 / transactions;
        }

        double machineMicrosPerTransaction() {
            return machineCpuNanos < 0 ? Double.NaN : machineCpuNanos / 1e3 / transactions;
        }

        double switchesPerTransaction() {
            return contextSwitches < 0 ? Double.NaN : (double) contextSwitches / transactions;
        }

        double tps() {
            return transactions / seconds;
        }

        double p50Millis() {
            return latencies.getValueAtPercentile(50) / 1e6;
        }

        double p99Millis() {
            return latencies.getValueAtPercentile(99) / 1e6;
        }
    }

    static void run(Settings settings, Path out) throws Exception {
        DatabaseResolver resolver = DatabaseResolver.fromEnvironment();
        Path dataDirectory = null;
        if (settings.serverConfig().equals("durable")) {
            // The throw-away embedded server starts with fsync and synchronous_commit off on its command line, which
            // ALTER SYSTEM cannot override; one with a data directory of its own starts with both on.
            dataDirectory = Files.createTempDirectory("tpcb-durable");
            resolver = resolver.withEmbeddedDataDirectory(dataDirectory);
        }
        try (PostgresDatabase server = resolver.resolve()) {
            configure(server, settings.serverConfig());
            String database = "bench_tpcb";
            server.dropDatabase(database);
            server.createDatabase(database, null);
            HikariConfig config = new HikariConfig();
            config.setJdbcUrl(server.jdbcUrl(database));
            config.setUsername(server.username());
            config.setPassword(server.password());
            config.setMaximumPoolSize(settings.poolSize());
            config.setPoolName("bench");
            // The managers own their pools, as applications use them; the peers share one HikariCP pool. All pools
            // have the same size, and only one implementation runs at a time.
            try (SessionManager sessions = managerOn(server, database, "bench", settings.poolSize())
                         .migrateOnStart(true).build();
                 HikariDataSource pool = new HikariDataSource(config);
                 SessionManager observed = managerOn(server, database, "bench-observed", settings.poolSize())
                         .build();
                 SessionManager unfair = managerOn(server, database, "bench-unfair", settings.poolSize())
                         .fairConnectionQueue(false).build();
                 SessionManager resolving = managerOn(server, database, "bench-resolving", settings.poolSize())
                         .resolveCommitOutcomes(true).build();
                 SessionManager undiagnosed = managerOn(server, database, "bench-undiagnosed", settings.poolSize())
                         .lockDiagnostics(false).build();
                 // On the peers' pool, which it does not own: no admission queue, waiting happens in HikariCP.
                 SessionManager unowned = SessionManager.builder().name("bench-unowned").dataSource(pool).build()) {
                System.out.println("Loading pgbench's data set, scale " + settings.scale() + " ...");
                sessions.transaction(ctx -> Tpcb.populate(ctx, settings.scale()));
                try (Connection connection = pool.getConnection()) {
                    connection.createStatement().execute("VACUUM ANALYZE");
                }
                new SessionManagerMetrics(observed).bindTo(new SimpleMeterRegistry());

                String observedName = "SessionManager + jOOQ, metrics and JFR on";
                List<Implementation> all = List.of(
                        TpcbImplementations.rawJdbc(pool),
                        TpcbImplementations.sessionManagerJdbc(sessions, "SessionManager, JDBC statements"),
                        TpcbImplementations.sessionManagerJdbc(unfair,
                                "SessionManager, JDBC statements, fair queue off"),
                        TpcbImplementations.sessionManagerJdbc(unowned,
                                "SessionManager, JDBC statements, on the peers' pool"),
                        TpcbImplementations.sessionManagerJdbc(resolving,
                                "SessionManager, JDBC statements, commit outcomes resolved"),
                        TpcbImplementations.sessionManagerJdbc(undiagnosed,
                                "SessionManager, JDBC statements, lock diagnostics off"),
                        TpcbImplementations.jooqJdbc(pool),
                        TpcbImplementations.springJdbc(pool),
                        TpcbImplementations.jdbiJdbc(pool),
                        TpcbImplementations.sessionManager(sessions, "SessionManager + jOOQ"),
                        TpcbImplementations.sessionManagerPrepared(sessions,
                                "SessionManager + jOOQ, prepared statements"),
                        TpcbImplementations.sessionManager(observed, observedName),
                        TpcbImplementations.sessionManager(unfair, "SessionManager + jOOQ, fair queue off"),
                        // The jOOQ stacks on one pool without an admission queue, as Spring's and jOOQ's own run.
                        TpcbImplementations.sessionManager(unowned, "SessionManager + jOOQ, on the peers' pool"),
                        TpcbImplementations.sessionManagerPrepared(unowned,
                                "SessionManager + jOOQ, prepared statements, on the peers' pool"),
                        TpcbImplementations.jooq(pool),
                        TpcbImplementations.spring(pool),
                        TpcbImplementations.jdbi(pool));
                List<Implementation> implementations = all.stream()
                        .filter(i -> settings.only().isEmpty() || Arrays.stream(settings.only().split("\\|"))
                                .anyMatch(i.name()::contains))
                        .filter(i -> settings.skip().isEmpty() || Arrays.stream(settings.skip().split("\\|"))
                                .noneMatch(i.name()::contains)).toList();

                for (Implementation implementation : implementations) {
                    System.out.println("Warming up " + implementation.name());
                    measure(implementation, 4, false, settings.warmupSeconds(), settings.scale(), new Point());
                }

                List<String> columns = new ArrayList<>();
                settings.clients().forEach(c -> columns.add(String.valueOf(c)));
                if (settings.virtualThreads() > 0) {
                    columns.add(settings.virtualThreads() + " virtual");
                }
                Map<String, Map<String, Point>> results = new LinkedHashMap<>();
                implementations.forEach(i -> results.put(i.name(), new LinkedHashMap<>()));
                boolean pgbench = settings.pgbench() && pgbenchAvailable();
                if (pgbench) {
                    results.put("pgbench (-M prepared)", new LinkedHashMap<>());
                }

                for (String column : columns) {
                    boolean virtual = column.endsWith("virtual");
                    int clients = Integer.parseInt(column.split(" ")[0]);
                    for (int round = 0; round < settings.rounds(); round++) {
                        // Rotate the order every round, by an equal share of the list, so that no implementation always
                        // runs first or last and each runs early in one round and late in another.
                        int offset = round * implementations.size() / settings.rounds();
                        for (int k = 0; k < implementations.size(); k++) {
                            Implementation implementation = implementations.get((k + offset) % implementations.size());
                            Point point = results.get(implementation.name()).computeIfAbsent(column, c -> new Point());
                            Recording recording = null;
                            if (implementation.name().equals(observedName)) {
                                recording = new Recording();
                                recording.enable("io.managedsession.Transaction");
                                recording.setToDisk(false);
                                recording.start();
                            }
                            try {
                                vacuumSmallTables(pool);
                                measure(implementation, clients, virtual, settings.durationSeconds(), settings.scale(),
                                        point);
                            } finally {
                                if (recording != null) {
                                    recording.close();
                                }
                            }
                            System.out.printf(Locale.ROOT, "%-45s %-12s round %d: %8.0f tps (this round %.0f),"
                                    + " %.1f switches/tx, CPU/tx %.0f µs client, %.0f µs machine%n",
                                    implementation.name(), column, round + 1, point.tps(), point.roundTps.getLast(),
                                    point.switchesPerTransaction(), point.clientMicrosPerTransaction(),
                                    point.machineMicrosPerTransaction());
                        }
                        if (pgbench && !virtual) {
                            Point point = results.get("pgbench (-M prepared)").computeIfAbsent(column, c -> new Point());
                            vacuumSmallTables(pool);
                            runPgbench(server, database, clients, settings, point);
                            System.out.printf(Locale.ROOT, "%-45s %-12s round %d: %8.0f tps%n", "pgbench", column,
                                    round + 1, point.tps());
                        }
                    }
                }
                Files.writeString(out.resolve("tpcb.md"), report(settings, server, pool, columns, results, pgbench));
                chart(out.resolve("tpcb-throughput.png"), columns, results);
            } finally {
                server.dropDatabase(database);
            }
        } finally {
            if (dataDirectory != null) {
                deleteRecursively(dataDirectory);
            }
        }
    }

    private static void deleteRecursively(Path directory) throws IOException {
        try (var paths = Files.walk(directory)) {
            for (Path path : paths.sorted(java.util.Comparator.reverseOrder()).toList()) {
                Files.deleteIfExists(path);
            }
        }
    }

    /**
     * Sets the server's durability for the run: {@code fast} turns fsync off (commits wait for no disk),
     * {@code durable} turns fsync and synchronous_commit on (each commit waits for its WAL to reach the disk). Only a
     * server this run started itself (embedded or a container) is changed; a server given by URL is measured as it
     * is.
     */
    private static void configure(PostgresDatabase server, String config) throws SQLException {
        if (config.isEmpty()) {
            return;
        }
        if (!config.equals("fast") && !config.equals("durable")) {
            throw new IllegalArgumentException("--server must be fast or durable, but was " + config);
        }
        if (server.origin() == PostgresDatabase.Origin.EXPLICIT_URL) {
            throw new IllegalArgumentException("--server=" + config + " reconfigures the server, which this run"
                    + " only does to a server it started itself, not to " + server);
        }
        boolean durable = config.equals("durable");
        try (Connection connection = server.connect();
             var statement = connection.createStatement()) {
            statement.execute("ALTER SYSTEM SET fsync = " + (durable ? "on" : "off"));
            if (durable) {
                statement.execute("ALTER SYSTEM SET synchronous_commit = on");
            }
            statement.execute("SELECT pg_reload_conf()");
        }
        // The postmaster reloads asynchronously: wait until new connections see the new setting.
        String wanted = durable ? "on" : "off";
        long giveUp = System.nanoTime() + TimeUnit.SECONDS.toNanos(10);
        while (true) {
            try (Connection connection = server.connect();
                 ResultSet row = connection.createStatement().executeQuery("SHOW fsync")) {
                row.next();
                if (row.getString(1).equals(wanted)) {
                    return;
                }
            }
            if (System.nanoTime() > giveUp) {
                throw new IllegalStateException("The server did not take fsync = " + wanted + " within 10 s");
            }
            try {
                Thread.sleep(50);
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
                throw new IllegalStateException("Interrupted while waiting for the server's new settings", e);
            }
        }
    }

    /**
     * Vacuums the branches and tellers before each point, as pgbench does before each of its runs: every transaction
     * updates one of their few rows, so their dead row versions pile up within seconds and would make each point
     * slower than the one before it, whatever runs in it.
     */
    private static void vacuumSmallTables(HikariDataSource pool) throws SQLException {
        try (Connection connection = pool.getConnection();
             var statement = connection.createStatement()) {
            statement.execute("VACUUM branches, tellers");
        }
    }

    private static SessionManager.Builder managerOn(PostgresDatabase server, String database, String name,
            int poolSize) {
        SessionManager.Builder builder = SessionManager.builder().name(name).jdbcUrl(server.jdbcUrl(database))
                .maximumPoolSize(poolSize);
        if (server.username() != null) {
            builder.username(server.username());
        }
        if (server.password() != null) {
            builder.password(server.password());
        }
        return builder;
    }

    private static void measure(Implementation implementation, int clients, boolean virtual, int seconds, int scale,
            Point point) throws Exception {
        ExecutorService threads = virtual ? Executors.newVirtualThreadPerTaskExecutor()
                : Executors.newFixedThreadPool(clients);
        AtomicLong done = new AtomicLong();
        AtomicLong errors = new AtomicLong();
        CountDownLatch start = new CountDownLatch(1);
        List<Future<Histogram>> workers = new ArrayList<>();
        long[] window = new long[2];
        try {
            for (int i = 0; i < clients; i++) {
                workers.add(threads.submit(() -> {
                    Histogram mine = new Histogram(TimeUnit.SECONDS.toNanos(60), 3);
                    start.await();
                    long end = window[1];
                    while (true) {
                        long t0 = System.nanoTime();
                        if (t0 >= end) {
                            return mine;
                        }
                        try {
                            implementation.transaction(Draw.next(scale));
                            mine.recordValue(Math.min(System.nanoTime() - t0, TimeUnit.SECONDS.toNanos(60)));
                            done.incrementAndGet();
                        } catch (Exception e) {
                            errors.incrementAndGet();
                        }
                    }
                }));
            }
            MachineCounters before = MachineCounters.read();
            long clientCpuBefore = clientCpuNanos();
            window[0] = System.nanoTime();
            window[1] = window[0] + TimeUnit.SECONDS.toNanos(seconds);
            start.countDown();
            for (Future<Histogram> worker : workers) {
                point.latencies.add(worker.get());
            }
            double roundSeconds = (System.nanoTime() - window[0]) / 1e9;
            point.seconds += roundSeconds;
            point.roundTps.add(done.get() / roundSeconds);
            point.clientCpuNanos += clientCpuNanos() - clientCpuBefore;
            MachineCounters after = MachineCounters.read();
            if (before != null && after != null) {
                point.machineCpuNanos = Math.max(0, point.machineCpuNanos) + after.busyNanos() - before.busyNanos();
                point.contextSwitches = Math.max(0, point.contextSwitches) + after.contextSwitches()
                        - before.contextSwitches();
            }
            point.transactions += done.get();
            point.errors += errors.get();
        } finally {
            threads.shutdownNow();
        }
    }

    private static long clientCpuNanos() {
        return ((OperatingSystemMXBean) ManagementFactory.getOperatingSystemMXBean()).getProcessCpuTime();
    }

    /**
     * The whole machine's counters since boot, from Linux's {@code /proc/stat}: busy CPU time (all but idle and I/O
     * wait) and context switches. Counted per transaction, the switches show whether an implementation makes threads
     * sleep and wake more often.
     */
    record MachineCounters(long busyNanos, long contextSwitches) {

        /** The counters now, or {@code null} where there is no {@code /proc/stat} to read (not Linux). */
        static MachineCounters read() {
            try {
                long busyNanos = -1;
                long contextSwitches = -1;
                for (String line : Files.readAllLines(Path.of("/proc/stat"))) {
                    if (line.startsWith("cpu ")) {
                        String[] ticks = line.trim().split("\\s+");
                        long busy = 0;
                        for (int i = 1; i < ticks.length && i <= 8; i++) {
                            if (i != 4 && i != 5) {
                                busy += Long.parseLong(ticks[i]);
                            }
                        }
                        // USER_HZ is 100 on every Linux the JDK runs on.
                        busyNanos = busy * 10_000_000L;
                    } else if (line.startsWith("ctxt ")) {
                        contextSwitches = Long.parseLong(line.substring(5).trim());
                    }
                }
                return busyNanos < 0 || contextSwitches < 0 ? null : new MachineCounters(busyNanos, contextSwitches);
            } catch (IOException | RuntimeException e) {
                // Not Linux, or a /proc that hides it: the report leaves the columns out.
                return null;
            }
        }
    }

    private static boolean pgbenchAvailable() {
        try {
            Process process = new ProcessBuilder("pgbench", "--version").redirectErrorStream(true).start();
            process.getInputStream().readAllBytes();
            return process.waitFor() == 0;
        } catch (IOException | InterruptedException e) {
            System.out.println("pgbench is not installed: its ceiling is left out (" + e.getMessage() + ")");
            return false;
        }
    }

    private static final Pattern TPS = Pattern.compile("tps = ([0-9.]+) \\(without initial connection time\\)");

    private static void runPgbench(PostgresDatabase server, String database, int clients, Settings settings,
            Point point) throws IOException, InterruptedException {
        Path dir = Files.createTempDirectory("pgbench");
        Path script = dir.resolve("tpcb-ledger.sql");
        Files.write(script, TpcbImplementations.pgbenchScript());
        Properties url = Driver.parseURL(server.jdbcUrl(database), null);
        List<String> command = new ArrayList<>(List.of("pgbench", "-n", "-M", "prepared",
                "-c", String.valueOf(clients), "-j", String.valueOf(Math.min(clients, 2)),
                "-T", String.valueOf(settings.durationSeconds()), "-f", script.toString(),
                "-D", "scale=" + settings.scale(), "-l", "--log-prefix=" + dir.resolve("log"),
                "-h", url.getProperty("PGHOST"), "-p", url.getProperty("PGPORT")));
        if (server.username() != null) {
            command.addAll(List.of("-U", server.username()));
        }
        command.add(database);
        ProcessBuilder builder = new ProcessBuilder(command).redirectErrorStream(true);
        if (server.password() != null) {
            builder.environment().put("PGPASSWORD", server.password());
        }
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes());
        process.waitFor();
        Matcher tps = TPS.matcher(output);
        if (!tps.find()) {
            throw new IllegalStateException("pgbench failed:\n" + output);
        }
        long count = 0;
        try (var logs = Files.list(dir)) {
            for (Path log : logs.filter(p -> p.getFileName().toString().startsWith("log")).toList()) {
                for (String line : Files.readAllLines(log)) {
                    // client_id transaction_no time_us script_no time_epoch time_us_part
                    long micros = Long.parseLong(line.split(" ")[2]);
                    point.latencies.recordValue(Math.min(micros * 1000, TimeUnit.SECONDS.toNanos(60)));
                    count++;
                }
            }
        }
        double tpsValue = Double.parseDouble(tps.group(1));
        point.transactions += count;
        point.seconds += count / tpsValue;
        point.roundTps.add(tpsValue);
    }

    private static String report(Settings settings, PostgresDatabase server, HikariDataSource pool, List<String> columns,
            Map<String, Map<String, Point>> results, boolean pgbench) throws SQLException {
        StringBuilder md = new StringBuilder("# TPC-B throughput and latency\n\n");
        md.append("pgbench's TPC-B transaction (update an account, read its balance, update a teller, update a branch,"
                + " insert into history) on the ledger's tables, scale ").append(settings.scale())
                .append(" (").append(settings.scale() * 100_000).append(" accounts). Each point runs ")
                .append(settings.durationSeconds()).append(" s per round, ").append(settings.rounds())
                .append(" rounds, the implementations interleaved in a rotating order; a ").append(settings.warmupSeconds())
                .append(" s warm-up per implementation first. Each SessionManager owns a HikariCP pool of ")
                .append(settings.poolSize()).append(" connections; the peers share one more of the same size; pgbench"
                        + " opens one connection per client.\n\n");
        md.append("Server: ").append(server).append(", ").append(serverSettings(pool)).append(".\n\n");

        Map<String, Point> raw = results.getOrDefault("raw JDBC + HikariCP", results.values().iterator().next());
        Map<String, Point> ceiling = pgbench ? results.get("pgbench (-M prepared)") : null;
        md.append("## Throughput, transactions per second (ratio to raw JDBC)\n\n");
        table(md, columns, results, (column, p) -> String.format(Locale.ROOT, "%.0f (%.2f×)", p.tps(),
                p.tps() / raw.get(column).tps()));
        if (ceiling != null) {
            md.append("\n## Ratio to pgbench\n\n");
            table(md, columns, results, (column, p) -> ceiling.get(column) == null ? null
                    : String.format(Locale.ROOT, "%.2f", p.tps() / ceiling.get(column).tps()));
        }
        md.append("\n## Latency, p50 / p99 in milliseconds\n\n");
        table(md, columns, results, (column, p) -> String.format(Locale.ROOT, "%.2f / %.2f", p.p50Millis(),
                p.p99Millis()));
        md.append("\n## Context switches per transaction, the whole machine\n\n")
                .append("From Linux's `/proc/stat` around each point: client threads, PostgreSQL's backends and"
                        + " everything else on the machine. Each statement's round trip puts a waiting thread to sleep"
                        + " and wakes it, on both sides.\n\n");
        table(md, columns, results, (column, p) -> p.contextSwitches < 0 ? null
                : String.format(Locale.ROOT, "%.1f", p.switchesPerTransaction()));
        md.append("\n## CPU: the machine busy (% of all cores), and per transaction the machine's and the client's"
                + " CPU in µs\n\n")
                .append("From `/proc/stat` and the JVM around each point. A point that leaves the cores idle lost"
                        + " throughput to waiting rather than to work; the client is this JVM, the rest is PostgreSQL"
                        + " and the kernel.\n\n");
        int cores = Runtime.getRuntime().availableProcessors();
        table(md, columns, results, (column, p) -> p.machineCpuNanos < 0 || p.clientCpuNanos == 0 ? null
                : String.format(Locale.ROOT, "%.0f %% · %.0f · %.0f", 100.0 * p.machineCpuNanos / 1e9 / p.seconds / cores,
                        p.machineMicrosPerTransaction(), p.clientMicrosPerTransaction()));
        Map<String, Point> plain = results.get("SessionManager + jOOQ");
        Map<String, Point> observed = results.get("SessionManager + jOOQ, metrics and JFR on");
        if (plain != null && observed != null) {
            md.append("\n## Cost of observing: Micrometer metrics and a JFR recording on, against off\n\n")
                    .append("Throughput of \"SessionManager + jOOQ, metrics and JFR on\" (SessionManagerMetrics bound to"
                            + " a registry, a JFR recording with `io.managedsession.Transaction` enabled) divided by"
                            + " \"SessionManager + jOOQ\", both in the same rounds:\n\n");
            header(md, "", columns);
            md.append("| on / off |");
            for (String column : columns) {
                Point on = observed.get(column);
                Point off = plain.get(column);
                md.append(on == null || off == null ? " n/a |"
                        : String.format(Locale.ROOT, " %.3f |", on.tps() / off.tps()));
            }
            md.append('\n');
        }
        targets(md, columns, results, raw);
        long errors = results.values().stream().flatMap(m -> m.values().stream()).mapToLong(p -> p.errors).sum();
        md.append("\nFailed transactions during the run: ").append(errors).append(".\n\n")
                .append("![throughput against clients](tpcb-throughput.png)\n");
        return md.toString();
    }

    /**
     * The ratios the typed-SQL work set out to reach, each point against its target: prepared statements and the
     * layer against raw JDBC, and the plain DSL against the other jOOQ stacks; once as the ratio of the points' sums,
     * once from the rounds' own ratios.
     */
    private static void targets(StringBuilder md, List<String> columns, Map<String, Map<String, Point>> results,
            Map<String, Point> raw) {
        if (!results.containsKey(PREPARED) || !results.containsKey(LAYER) || !results.containsKey(DSL)) {
            return;
        }
        md.append("\n## Against the targets\n\n");
        header(md, "ratio (target)", columns);
        targetRows(md, columns, results, raw, TpcbLoad::cell);
        md.append("\n\nA point below its target is marked ✗.\n");
        // The targets again, read from the rounds: each round's ratio, the two measured in the same round, their
        // median and its interval (RoundRatios), so that a point the rounds disagree about is not read as met or missed.
        md.append("\n## Against the targets, round by round\n\n")
                .append("Each round runs every implementation once, so each round gives its own ratio of the two. Each"
                        + " cell: the median of the rounds' ratios, and in brackets a distribution-free interval for it"
                        + " (order statistics of the rounds' ratios, holding the median with a probability of at least ")
                .append(Math.round(RoundRatios.CONFIDENCE * 100)).append(" %). No mark: the whole interval reaches"
                        + " the target (met); ✗: the whole interval is below it (missed); ?: the target lies inside it,"
                        + " and the run did not settle the point. Fewer than six rounds give no interval (n/a).\n\n");
        header(md, "median [interval] (target)", columns);
        targetRows(md, columns, results, raw, TpcbLoad::roundCell);
        md.append('\n');
    }

    /** How a target's cell is written: a point measured against another, and the ratio it should reach. */
    @FunctionalInterface
    private interface TargetCell {
        String write(Point measured, Point against, double target);
    }

    /**
     * One row per target: prepared statements and the layer against raw JDBC, and the plain DSL against the other
     * jOOQ stacks that ran.
     */
    private static void targetRows(StringBuilder md, List<String> columns, Map<String, Map<String, Point>> results,
            Map<String, Point> raw, TargetCell cell) {
        md.append("| ").append(PREPARED).append(" / raw JDBC (≥ 0.95) |");
        columns.forEach(c -> md.append(cell.write(results.get(PREPARED).get(c), raw.get(c), 0.95)));
        md.append("\n| ").append(LAYER).append(" / raw JDBC (≥ 0.98) |");
        columns.forEach(c -> md.append(cell.write(results.get(LAYER).get(c), raw.get(c), 0.98)));
        for (String other : List.of("jOOQ transactionResult", "Spring TransactionTemplate + jOOQ")) {
            Map<String, Point> peer = results.get(other);
            if (peer != null) {
                md.append("\n| ").append(DSL).append(" / ").append(other).append(" (≥ 1.00) |");
                columns.forEach(c -> md.append(cell.write(results.get(DSL).get(c), peer.get(c), 1.0)));
            }
        }
    }

    private static String roundCell(Point measured, Point against, double target) {
        if (measured == null || against == null) {
            return " n/a |";
        }
        return RoundRatios.of(measured.roundTps, against.roundTps)
                .map(r -> String.format(Locale.ROOT, " %.2f [%.2f–%.2f]%s |", r.median(), r.lower(), r.upper(),
                        r.against(target).mark))
                .orElse(" n/a |");
    }

    private static String cell(Point measured, Point against, double target) {
        if (measured == null || against == null) {
            return " n/a |";
        }
        double ratio = measured.tps() / against.tps();
        return String.format(Locale.ROOT, " %.2f%s |", ratio, ratio >= target ? "" : " ✗");
    }

    /**
     * A table of one row per implementation and one cell per column; {@code cell} gives a point's text, or
     * {@code null} for "n/a" (also written where the implementation has no point).
     */
    private static void table(StringBuilder md, List<String> columns, Map<String, Map<String, Point>> results,
            BiFunction<String, Point, String> cell) {
        header(md, "implementation", columns);
        results.forEach((name, points) -> {
            md.append("| ").append(name).append(" |");
            for (String column : columns) {
                Point p = points.get(column);
                String text = p == null ? null : cell.apply(column, p);
                md.append(' ').append(text == null ? "n/a" : text).append(" |");
            }
            md.append('\n');
        });
    }

    private static void header(StringBuilder md, String first, List<String> columns) {
        md.append("| ").append(first).append(" |");
        columns.forEach(c -> md.append(' ').append(c).append(c.endsWith("virtual") ? " threads |" : " clients |"));
        md.append("\n| --- |");
        columns.forEach(c -> md.append(" ---: |"));
        md.append('\n');
    }

    private static String serverSettings(HikariDataSource pool) throws SQLException {
        StringBuilder text = new StringBuilder();
        try (Connection connection = pool.getConnection();
             ResultSet rows = connection.createStatement().executeQuery("SELECT name, setting FROM pg_settings"
                     + " WHERE name IN ('server_version', 'fsync', 'synchronous_commit', 'shared_buffers',"
                     + " 'max_connections') ORDER BY name")) {
            while (rows.next()) {
                text.append(text.isEmpty() ? "" : ", ").append(rows.getString(1)).append('=').append(rows.getString(2));
            }
        }
        return text.toString();
    }

    /**
     * Draws the run as four panels: throughput as a ratio to raw JDBC, and p99 latency, each for the transaction layers
     * around plain JDBC statements and for the statement stacks (jOOQ, Jdbi's own statements), so that neither group
     * drowns the other. The ratio panels draw what the report's "round by round" table reads when the run has rounds
     * enough for an interval (the median of the rounds' ratios, its interval as a bar), so that a reader sees which
     * differences the run settled rather than a line through noise; with fewer rounds, the ratio of the points' sums.
     */
    static void chart(Path file, List<String> columns, Map<String, Map<String, Point>> results)
            throws IOException {
        Map<String, Point> raw = results.getOrDefault("raw JDBC + HikariCP", results.values().iterator().next());
        Map<String, Map<String, Point>> layers = new LinkedHashMap<>();
        Map<String, Map<String, Point>> stacks = new LinkedHashMap<>();
        results.forEach((name, points) -> (isLayer(name) ? layers : stacks).put(name, points));
        DefaultCategoryDataset layerP99 = new DefaultCategoryDataset();
        DefaultCategoryDataset stackP99 = new DefaultCategoryDataset();
        results.forEach((name, points) -> {
            for (String column : columns) {
                Point p = points.get(column);
                if (p != null) {
                    (isLayer(name) ? layerP99 : stackP99).addValue(p.p99Millis(), name, label(column));
                }
            }
        });
        // One colour per implementation, the same in every panel.
        Map<String, Color> colours = new LinkedHashMap<>();
        results.keySet().forEach(name -> colours.put(name, PALETTE[colours.size() % PALETTE.length]));
        JFreeChart[] panels = {
                ratioPanel("Transaction layers around JDBC statements: throughput / raw JDBC",
                        Ratios.of(columns, layers, raw), columns, colours, 0.98),
                ratioPanel("Statement stacks (jOOQ, Jdbi): throughput / raw JDBC",
                        Ratios.of(columns, stacks, raw), columns, colours, 0.95),
                latencyPanel("Transaction layers: p99 latency", layerP99, colours),
                latencyPanel("Statement stacks: p99 latency", stackP99, colours)};
        int width = 900;
        int height = 560;
        BufferedImage image = new BufferedImage(2 * width, 2 * height, BufferedImage.TYPE_INT_RGB);
        Graphics2D g = image.createGraphics();
        try {
            for (int i = 0; i < panels.length; i++) {
                panels[i].draw(g, new Rectangle2D.Double((i % 2) * width, (i / 2) * height, width, height));
            }
        } finally {
            g.dispose();
        }
        ImageIO.write(image, "png", file.toFile());
    }

    /**
     * A ratio panel's data: one series per implementation, x the column's index (shifted a little per series, so that
     * intervals at one column do not hide each other), y the median of the rounds' ratios to raw JDBC with its
     * interval ({@link RoundRatios}); where the rounds are too few for an interval, the ratio of the sums, with no
     * interval (low and high equal to it).
     *
     * @param byRounds whether any point is read from the rounds (and so drawn with an interval)
     */
    record Ratios(YIntervalSeriesCollection data, boolean byRounds) {

        /** How far apart two neighbouring series are drawn at one column, in columns. */
        private static final double SERIES_SHIFT = 0.03;

        static Ratios of(List<String> columns, Map<String, Map<String, Point>> implementations,
                Map<String, Point> raw) {
            YIntervalSeriesCollection data = new YIntervalSeriesCollection();
            boolean byRounds = false;
            int series = 0;
            for (Map.Entry<String, Map<String, Point>> implementation : implementations.entrySet()) {
                YIntervalSeries ratios = new YIntervalSeries(implementation.getKey(), false, false);
                double shift = SERIES_SHIFT * (series - (implementations.size() - 1) / 2.0);
                for (int column = 0; column < columns.size(); column++) {
                    Point p = implementation.getValue().get(columns.get(column));
                    Point r = raw.get(columns.get(column));
                    if (p == null || r == null) {
                        continue;
                    }
                    Optional<RoundRatios> rounds = p.roundTps.size() == r.roundTps.size()
                            ? RoundRatios.of(p.roundTps, r.roundTps) : Optional.empty();
                    if (rounds.isPresent()) {
                        ratios.add(column + shift, rounds.get().median(), rounds.get().lower(), rounds.get().upper());
                        byRounds = true;
                    } else {
                        double ratio = p.tps() / r.tps();
                        ratios.add(column + shift, ratio, ratio, ratio);
                    }
                }
                data.addSeries(ratios);
                series++;
            }
            return new Ratios(data, byRounds);
        }
    }

    private static JFreeChart ratioPanel(String title, Ratios ratios, List<String> columns, Map<String, Color> colours,
            double target) {
        YIntervalSeriesCollection data = ratios.data();
        String[] labels = columns.stream().map(TpcbLoad::label).toArray(String[]::new);
        SymbolAxis clients = new SymbolAxis("clients", labels);
        NumberAxis ratio = new NumberAxis(ratios.byRounds()
                ? "median of the rounds' ratios; bars: " + Math.round(RoundRatios.CONFIDENCE * 100) + " % interval"
                : "ratio of the points' sums");
        XYErrorRenderer renderer = new XYErrorRenderer();
        XYPlot plot = new XYPlot(data, clients, ratio, renderer);
        JFreeChart chart = new JFreeChart(title, JFreeChart.DEFAULT_TITLE_FONT, plot, true);
        // First the look ChartFactory gives the latency panels, so that the four read as one picture; then this one's.
        ChartFactory.getChartTheme().apply(chart);
        clients.setRange(-0.5, labels.length - 0.5);
        clients.setGridBandsVisible(false);
        ratio.setAutoRangeIncludesZero(false);
        renderer.setDrawXError(false);
        renderer.setDefaultLinesVisible(true);
        renderer.setCapLength(6);
        for (int series = 0; series < data.getSeriesCount(); series++) {
            renderer.setSeriesPaint(series, colours.get((String) data.getSeriesKey(series)));
            renderer.setSeriesStroke(series, new BasicStroke(2f));
        }
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        plot.setDomainGridlinesVisible(false);
        // The target the typed-SQL work set for this group, so that a bar wholly above or below it reads at a glance.
        ValueMarker line = new ValueMarker(target, Color.GRAY, new BasicStroke(1f, BasicStroke.CAP_BUTT,
                BasicStroke.JOIN_MITER, 1f, new float[] {6f, 4f}, 0f));
        line.setLabel("target " + target);
        line.setLabelAnchor(RectangleAnchor.BOTTOM_LEFT);
        line.setLabelTextAnchor(TextAnchor.TOP_LEFT);
        plot.addRangeMarker(line);
        return chart;
    }

    private static JFreeChart latencyPanel(String title, DefaultCategoryDataset data, Map<String, Color> colours) {
        JFreeChart chart = ChartFactory.createLineChart(title, "clients", "ms (log scale)", data,
                PlotOrientation.VERTICAL, true, false, false);
        CategoryPlot plot = chart.getCategoryPlot();
        plot.setBackgroundPaint(Color.WHITE);
        plot.setRangeGridlinePaint(Color.LIGHT_GRAY);
        LogarithmicAxis axis = new LogarithmicAxis("ms (log scale)");
        axis.setStrictValuesFlag(false);
        axis.setExpTickLabelsFlag(false);
        plot.setRangeAxis(axis);
        if (plot.getRenderer() instanceof LineAndShapeRenderer lines) {
            lines.setDefaultShapesVisible(true);
            for (int series = 0; series < data.getRowCount(); series++) {
                lines.setSeriesStroke(series, new BasicStroke(2f));
                lines.setSeriesPaint(series, colours.get((String) data.getRowKey(series)));
            }
        }
        return chart;
    }

    private static String label(String column) {
        return column.endsWith("virtual") ? column + " threads" : column;
    }

    /** Colours told apart easily, also by most colour-blind readers (Okabe and Ito's, then darker shades). */
    private static final Color[] PALETTE = {new Color(0, 0, 0), new Color(230, 159, 0), new Color(86, 180, 233),
            new Color(0, 158, 115), new Color(213, 94, 0), new Color(0, 114, 178), new Color(204, 121, 167),
            new Color(240, 228, 66), new Color(128, 0, 0), new Color(0, 90, 50), new Color(120, 60, 170),
            new Color(128, 128, 128), new Color(160, 100, 40), new Color(50, 50, 160), new Color(128, 128, 0),
            new Color(0, 128, 128), new Color(255, 105, 180)};

    /** Whether an implementation is a transaction layer around plain JDBC statements (or the floor and ceiling). */
    static boolean isLayer(String name) {
        return name.contains("JDBC") || name.startsWith("pgbench");
    }
}
