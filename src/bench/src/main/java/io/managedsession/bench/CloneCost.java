package io.managedsession.bench;

import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.Locale;

import org.flywaydb.core.Flyway;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;

/**
 * Measures what a fresh test database costs: a copy of the migrated template ({@code CREATE DATABASE ... TEMPLATE},
 * as {@code @DatabaseTest} does, with both of PostgreSQL's copy strategies), against running the migrations from
 * scratch into an empty database. Prints a Markdown table of medians.
 *
 * <pre>mvn -B -q -Pbench clean test-compile exec:exec -Dbench.args=--clone-cost=100</pre>
 */
public final class CloneCost {

    private CloneCost() {
    }

    /**
     * Runs the measurement.
     *
     * @param args optionally the number of clones to time (default 100); migrations get a fifth of it
     * @throws SQLException when the server refuses
     */
    public static void main(String[] args) throws SQLException {
        int clones = args.length > 0 ? Integer.parseInt(args[0]) : 100;
        int migrations = Math.max(5, clones / 5);
        try (PostgresDatabase server = DatabaseResolver.fromEnvironment().resolve()) {
            String template = "bench_template";
            server.dropDatabase(template);
            server.createDatabase(template, null);
            migrate(server, template);

            List<Double> fromScratch = new ArrayList<>();
            for (int i = 0; i < migrations; i++) {
                String name = "bench_scratch_" + i;
                long start = System.nanoTime();
                server.createDatabase(name, null);
                migrate(server, name);
                fromScratch.add(millisSince(start));
                server.dropDatabase(name);
            }
            List<Double> empty = new ArrayList<>();
            for (int i = 0; i < clones; i++) {
                String name = "bench_empty_" + i;
                long start = System.nanoTime();
                server.createDatabase(name, null);
                empty.add(millisSince(start));
                server.dropDatabase(name);
            }
            List<Double> walLog = timeClones(server, template, clones, "WAL_LOG");
            List<Double> fileCopy = timeClones(server, template, clones, "FILE_COPY");
            server.dropDatabase(template);

            System.out.println("| fresh database for a test | runs | median | p90 |");
            System.out.println("| --- | --- | --- | --- |");
            row("empty database + Flyway migrations from scratch", fromScratch);
            row("empty database only (CREATE DATABASE from template1, for reference)", empty);
            row("CREATE DATABASE ... TEMPLATE (STRATEGY WAL_LOG, the default)", walLog);
            row("CREATE DATABASE ... TEMPLATE (STRATEGY FILE_COPY)", fileCopy);
            System.out.println();
            System.out.println("Server: " + server + "; " + Runtime.getRuntime().availableProcessors() + " CPUs, "
                    + System.getProperty("java.vm.name") + " " + System.getProperty("java.version"));
        }
    }

    private static List<Double> timeClones(PostgresDatabase server, String template, int clones, String strategy)
            throws SQLException {
        List<Double> times = new ArrayList<>();
        for (int i = 0; i < clones; i++) {
            String name = "bench_clone_" + i;
            long start = System.nanoTime();
            try (Connection connection = DriverManager.getConnection(server.jdbcUrl(), server.username(),
                    server.password())) {
                connection.createStatement().execute("CREATE DATABASE " + name + " TEMPLATE " + template
                        + " STRATEGY " + strategy);
            }
            times.add(millisSince(start));
            server.dropDatabase(name);
        }
        return times;
    }

    private static void migrate(PostgresDatabase server, String database) {
        Flyway.configure().dataSource(server.jdbcUrl(database), server.username(), server.password())
                .locations("classpath:db/migration").load().migrate();
    }

    private static double millisSince(long start) {
        return (System.nanoTime() - start) / 1_000_000.0;
    }

    private static void row(String what, List<Double> times) {
        List<Double> sorted = new ArrayList<>(times);
        Collections.sort(sorted);
        System.out.printf(Locale.ROOT, "| %s | %d | %.1f ms | %.1f ms |%n", what, sorted.size(),
                sorted.get(sorted.size() / 2), sorted.get((int) Math.min(sorted.size() - 1, Math.ceil(sorted.size() * 0.9) - 1)));
    }
}
