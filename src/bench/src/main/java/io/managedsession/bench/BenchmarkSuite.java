package io.managedsession.bench;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

import org.openjdk.jmh.results.Result;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * Runs the benchmarks and writes their reports to {@code docs/benchmarks/}:
 * <pre>
 * mvn -B -q -Pbench test-compile exec:exec                       # everything, on an embedded PostgreSQL
 * mvn -B -q -Pbench test-compile exec:exec -Dbench.args="--load --duration=10"
 * MANAGEDSESSION_DATABASE_URL=jdbc:postgresql://... mvn ... exec:exec   # on a given server
 * </pre>
 * Options: {@code --all} (default), {@code --load}, {@code --overhead}, {@code --outcomes} (what commit outcome resolution and lock
 * diagnostics cost a transaction that succeeds), {@code --batches} (many rows inserted in one transaction, each way),
 * {@code --replicas} (what read replicas cost a
 * transaction, on a cluster of its own), {@code --clone-cost[=RUNS]} (what a fresh
 * test database costs; prints a table and writes nothing), {@code --duration=SECONDS} per point,
 * {@code --rounds=N}, {@code --scale=N} (pgbench scale), {@code --clients=1,4,16,64}, {@code --virtual=1000},
 * {@code --pool=16}, {@code --out=docs/benchmarks}; for the load run {@code --only=a|b} and {@code --skip=a|b} (the
 * implementations whose names contain one of the parts, or none of them) and {@code --server=fast|durable} (fsync off,
 * or fsync and synchronous_commit on; only on a server the run started itself).
 */
public final class BenchmarkSuite {

    private BenchmarkSuite() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> options = parse(args);
        Path out = Path.of(options.getOrDefault("out", "docs/benchmarks"));
        Files.createDirectories(out);
        if (options.containsKey("soak")) {
            Soak.run(Integer.parseInt(options.get("soak")), Path.of(options.getOrDefault("out", "docs/soak")));
            return;
        }
        if (options.containsKey("clone-cost")) {
            String runs = options.get("clone-cost");
            CloneCost.main(runs.isEmpty() ? new String[0] : new String[] {runs});
            return;
        }
        boolean all = options.containsKey("all") || !(options.containsKey("load") || options.containsKey("overhead")
                || options.containsKey("replicas") || options.containsKey("outcomes")
                || options.containsKey("batches"));
        if (all || options.containsKey("load") || options.containsKey("overhead")) {
            Files.writeString(out.resolve("machine.md"), Machine.describe());
        }
        if (all || options.containsKey("overhead")) {
            Files.writeString(out.resolve("overhead.md"), overhead());
        }
        if (all || options.containsKey("replicas")) {
            Files.writeString(out.resolve("replicas.md"), replicas());
        }
        if (all || options.containsKey("outcomes")) {
            Files.writeString(out.resolve("outcomes.md"), outcomes());
        }
        if (all || options.containsKey("batches")) {
            Files.writeString(out.resolve("batches.md"), batches());
        }
        if (all || options.containsKey("load")) {
            TpcbLoad.Settings settings = TpcbLoad.Settings.from(options);
            TpcbLoad.run(settings, out);
        }
        System.out.println("Reports written to " + out.toAbsolutePath());
    }

    private static Map<String, String> parse(String[] args) {
        Map<String, String> options = new LinkedHashMap<>();
        for (String arg : args) {
            for (String part : arg.trim().split("\\s+")) {
                if (part.isEmpty()) {
                    continue;
                }
                String option = part.startsWith("--") ? part.substring(2) : part;
                int equals = option.indexOf('=');
                options.put(equals < 0 ? option : option.substring(0, equals), equals < 0 ? "" : option.substring(equals + 1));
            }
        }
        return options;
    }

    /** Runs OverheadBenchmark with the GC profiler and renders the per-transaction cost as Markdown. */
    static String overhead() throws Exception {
        Options jmh = new OptionsBuilder()
                .include(OverheadBenchmark.class.getName())
                .addProfiler("gc")
                .warmupTime(TimeValue.seconds(2))
                .measurementTime(TimeValue.seconds(2))
                .build();
        Collection<RunResult> results = new Runner(jmh).run();
        Map<String, double[]> byName = new LinkedHashMap<>();
        for (RunResult run : results) {
            String name = run.getParams().getBenchmark();
            name = name.substring(name.lastIndexOf('.') + 1);
            Result<?> time = run.getPrimaryResult();
            Result<?> allocated = run.getSecondaryResults().get("·gc.alloc.rate.norm");
            if (allocated == null) {
                allocated = run.getSecondaryResults().get("gc.alloc.rate.norm");
            }
            byName.put(name, new double[] {time.getScore(), time.getScoreError(),
                    allocated == null ? Double.NaN : allocated.getScore()});
        }
        StringBuilder md = new StringBuilder();
        md.append("# Cost of a transaction, on connections that do no I/O\n\n")
                .append("JMH `OverheadBenchmark` (average time, 1 fork, 5 x 2 s after 3 x 2 s of warm-up, `-prof gc`):"
                        + " each transaction on a jOOQ `MockConnection`, so only client-side work is measured.\n\n")
                .append("| benchmark | ns per transaction | ± (99.9 %) | bytes allocated per transaction |\n")
                .append("| --- | ---: | ---: | ---: |\n");
        byName.forEach((name, v) -> md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %.0f |%n", name, v[0],
                v[1], v[2])));
        md.append('\n');
        appendDifference(md, byName, "sessionManagerEmptyTransaction", "jooqEmptyTransaction", "an empty transaction");
        appendDifference(md, byName, "sessionManagerOneStatement", "jooqOneStatement", "a transaction of one statement");
        appendDifference(md, byName, "sessionManagerNestedSavepoint", "jooqNestedSavepoint", "a savepoint");
        double[] raw = byName.get("layerRawJdbc");
        if (raw != null) {
            md.append("\nThe layers alone, like for like: one JDBC prepared statement on the connection each layer's"
                    + " transaction hands out; the cost over raw JDBC (`layerRawJdbc`: getConnection, setAutoCommit,"
                    + " the statement, commit, close):\n\n")
                    .append("| layer | ns over raw JDBC | bytes over raw JDBC |\n| --- | ---: | ---: |\n");
            for (String[] layer : new String[][] {{"layerSessionManager", "SessionManager"},
                    {"layerJooq", "jOOQ transactionResult"}, {"layerSpring", "Spring TransactionTemplate"},
                    {"layerJdbi", "Jdbi inTransaction"}}) {
                double[] v = byName.get(layer[0]);
                if (v != null) {
                    md.append(String.format(Locale.ROOT, "| %s | %+.0f | %+.0f |%n", layer[1], v[0] - raw[0],
                            v[2] - raw[2]));
                }
            }
            md.append('\n');
        }
        double[] observed = byName.get("sessionManagerOneStatementObserved");
        double[] plain = byName.get("sessionManagerOneStatement");
        if (observed != null && plain != null) {
            md.append(String.format(Locale.ROOT, "- Observing (Micrometer metrics bound, a JFR recording running):"
                    + " %+.0f ns and %+.0f bytes per transaction of one statement.%n", observed[0] - plain[0],
                    observed[2] - plain[2]));
        }
        double[] jdbc = byName.get("sessionManagerJdbcUpdate");
        if (jdbc != null) {
            md.append("\nOne typed UPDATE with two parameters in a SessionManager transaction, written three ways; the"
                    + " cost over the JDBC prepared statement of the same SQL:\n\n")
                    .append("| statement | ns over JDBC | bytes over JDBC |\n| --- | ---: | ---: |\n");
            for (String[] way : new String[][] {{"sessionManagerDslUpdate", "jOOQ DSL, rendered per call"},
                    {"sessionManagerPreparedUpdate", "PreparedQuery, rendered once"}}) {
                double[] v = byName.get(way[0]);
                if (v != null) {
                    md.append(String.format(Locale.ROOT, "| %s | %+.0f | %+.0f |%n", way[1], v[0] - jdbc[0],
                            v[2] - jdbc[2]));
                }
            }
        }
        double[] dslEnum = byName.get("sessionManagerDslEnumUpdate");
        double[] preparedEnum = byName.get("sessionManagerPreparedEnumUpdate");
        if (dslEnum != null && preparedEnum != null) {
            md.append(String.format(Locale.ROOT, "%nAn UPDATE of an enum and a jsonb column in a SessionManager"
                    + " transaction: the DSL %.0f ns and %.0f bytes, PreparedQuery %.0f ns and %.0f bytes.%n",
                    dslEnum[0], dslEnum[2], preparedEnum[0], preparedEnum[2]));
        }
        double[] dslListened = byName.get("sessionManagerDslUpdateListened");
        double[] preparedListened = byName.get("sessionManagerPreparedUpdateListened");
        if (dslListened != null && preparedListened != null) {
            md.append(String.format(Locale.ROOT, "%nThe typed UPDATE on a context an ExecuteListener watches: the DSL"
                    + " %.0f ns and %.0f bytes, PreparedQuery (run through jOOQ as plain SQL) %.0f ns and %.0f"
                    + " bytes.%n", dslListened[0], dslListened[2], preparedListened[0], preparedListened[2]));
        }
        return md.toString();
    }

    /** Runs ReplicaBenchmark and renders each transaction's latency, and what the replicas add, as Markdown. */
    static String replicas() throws Exception {
        Map<String, double[]> byName = latencies(ReplicaBenchmark.class);
        StringBuilder md = latencyTable("What read replicas cost a transaction", ReplicaBenchmark.class,
                "a PostgreSQL 18 primary and one streaming standby on loopback (`PostgresCluster`), each transaction"
                        + " one statement, pools of one", byName, "%.1f");
        appendLatency(md, byName, "writeWithReplicas", "writeWithoutReplicas",
                "A write with replicas configured (its commit position read after COMMIT)");
        appendLatency(md, byName, "readOnAReplica", "readOnThePrimary", "A read on a replica, against the primary");
        appendLatency(md, byName, "readOnAReplicaNotBeforeACommit", "readOnAReplica",
                "A read on a replica that first shows it has replayed a commit position");
        md.append("\nWhere it ran:\n\n").append(Machine.describe().replaceFirst("(?s)^# Machine\\s*", ""));
        return md.toString();
    }

    /** Runs OutcomeBenchmark and renders what resolution and diagnostics cost a transaction that succeeds. */
    static String outcomes() throws Exception {
        Map<String, double[]> byName = latencies(OutcomeBenchmark.class);
        StringBuilder md = latencyTable("What knowing the outcome costs a transaction that succeeds",
                OutcomeBenchmark.class, "a PostgreSQL 18 on loopback (`PostgresCluster` without standbys), each"
                        + " transaction one statement, pools of one; the `noIo` pair on connections that do no I/O"
                        + " (a jOOQ `MockConnection`)", byName, "%.2f");
        appendLatency(md, byName, "writeResolutionOn", "writeResolutionOff",
                "A write with commit outcome resolution (its transaction id read before COMMIT)");
        appendLatency(md, byName, "readResolutionOn", "readResolutionOff",
                "A read-only transaction with resolution on (nothing to resolve, nothing read)");
        appendLatency(md, byName, "writeResolutionOff", "writeLockDiagnosticsOff",
                "A write with lock diagnostics on (the default), against off, on the server");
        appendLatency(md, byName, "noIoWriteLockDiagnosticsOn", "noIoWriteLockDiagnosticsOff",
                "The same on connections that do no I/O (the client's own work alone)");
        md.append("\nWhere it ran:\n\n").append(Machine.describe().replaceFirst("(?s)^# Machine\\s*", ""));
        return md.toString();
    }

    /** Runs BatchBenchmark and renders each way of inserting many rows against raw JDBC's batch. */
    static String batches() throws Exception {
        Map<String, double[]> byName = latencies(BatchBenchmark.class);
        StringBuilder md = new StringBuilder();
        md.append("# Inserting many rows in one transaction\n\n")
                .append("JMH `BatchBenchmark` (average time, 2 forks, 5 x 2 s after 3 x 2 s of warm-up, one client"
                        + " thread): one transaction inserting ").append(BatchBenchmark.ROWS).append(" rows of three"
                        + " columns into an unlogged table without indexes, on a PostgreSQL 18 on loopback"
                        + " (`PostgresCluster` without standbys), pools of one.\n\n")
                .append("| benchmark | µs per transaction | ± (99.9 %) | x raw JDBC's batch |\n")
                .append("| --- | ---: | ---: | ---: |\n");
        double[] raw = byName.get("rawJdbcBatch");
        byName.forEach((name, v) -> md.append(String.format(Locale.ROOT, "| %s | %.0f | %.0f | %s |%n", name, v[0],
                v[1], raw == null ? "" : String.format(Locale.ROOT, "%.2f", v[0] / raw[0]))));
        md.append("\nWhere it ran:\n\n").append(Machine.describe().replaceFirst("(?s)^# Machine\\s*", ""));
        return md.toString();
    }

    /** The title, what ran where, and a row per benchmark of a latency report (one client thread, µs). */
    private static StringBuilder latencyTable(String title, Class<?> benchmark, String setting,
            Map<String, double[]> byName, String number) {
        StringBuilder md = new StringBuilder();
        md.append("# ").append(title).append("\n\n")
                .append("JMH `").append(benchmark.getSimpleName()).append("` (average time, 2 forks, 10 x 1 s after"
                        + " 5 x 1 s of warm-up, one client thread): ").append(setting).append(".\n\n")
                .append("| benchmark | µs per transaction | ± (99.9 %) |\n| --- | ---: | ---: |\n");
        String row = "| %s | " + number + " | " + number + " |%n";
        byName.forEach((name, v) -> md.append(String.format(Locale.ROOT, row, name, v[0], v[1])));
        md.append('\n');
        return md;
    }

    /** Runs a JMH benchmark class with its own settings; returns score and error by method name. */
    private static Map<String, double[]> latencies(Class<?> benchmark) throws Exception {
        Options jmh = new OptionsBuilder().include(benchmark.getName()).build();
        Map<String, double[]> byName = new LinkedHashMap<>();
        for (RunResult run : new Runner(jmh).run()) {
            String name = run.getParams().getBenchmark();
            Result<?> time = run.getPrimaryResult();
            byName.put(name.substring(name.lastIndexOf('.') + 1), new double[] {time.getScore(),
                    time.getScoreError()});
        }
        return byName;
    }

    private static void appendLatency(StringBuilder md, Map<String, double[]> byName, String ours, String base,
            String what) {
        double[] a = byName.get(ours);
        double[] b = byName.get(base);
        if (a != null && b != null) {
            md.append(String.format(Locale.ROOT, "- %s: %+.1f µs (%.2f x).%n", what, a[0] - b[0], a[0] / b[0]));
        }
    }

    private static void appendDifference(StringBuilder md, Map<String, double[]> byName, String ours, String theirs,
            String what) {
        double[] a = byName.get(ours);
        double[] b = byName.get(theirs);
        if (a != null && b != null) {
            md.append(String.format(Locale.ROOT, "- SessionManager's own cost over plain jOOQ for %s: %+.0f ns and"
                    + " %+.0f bytes per transaction.%n", what, a[0] - b[0], a[2] - b[2]));
        }
    }

    static List<Integer> ints(String csv) {
        List<Integer> values = new ArrayList<>();
        Arrays.stream(csv.split(",")).map(String::trim).filter(s -> !s.isEmpty()).map(Integer::parseInt)
                .forEach(values::add);
        return values;
    }

    static String read(Path file) throws IOException {
        return Files.readString(file);
    }
}
