package io.managedsession.testing;

import java.sql.SQLException;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.UUID;
import java.util.concurrent.ConcurrentHashMap;
import java.util.function.Consumer;

import org.flywaydb.core.api.configuration.FluentConfiguration;
import org.junit.jupiter.api.extension.ExtensionContext;
import org.junit.platform.commons.support.ReflectionSupport;
import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.internal.Migrations;

/**
 * The PostgreSQL shared by every {@link DatabaseTest} of a test run, and the template databases migrated on it, one
 * per set of migration locations and Flyway configuration. Kept in the store of JUnit's launcher session (on JUnit
 * 5.12, which has none, in the root store), which closes it at the end of the run: the templates are dropped and a
 * server that was started for the run is stopped.
 *
 * <p>A {@code CloseableResource} as well as {@code AutoCloseable}: JUnit before 5.13 (Spring Boot 3.5 manages 5.12)
 * closes only the former of its stores' values, so that on a server of the developer's the templates would stay after
 * every run; JUnit 5.13 and later close a value of both kinds once, and a session's store closes its
 * {@code AutoCloseable}s whatever Jupiter is told about its own stores.
 *
 * <p>On a server whose databases outlive the run (an explicit URL, a reused container), the run holds a
 * {@link RunLease}: its databases carry the run's id, and the databases of runs killed before their end are dropped
 * when the next run starts.
 */
@SuppressWarnings("deprecation") // CloseableResource: deprecated since JUnit 5.13, the only kind 5.12 closes
final class SharedServer implements AutoCloseable, ExtensionContext.Store.CloseableResource {

    private final PostgresDatabase server;
    /** The run's mark on a server that outlives it, or {@code null} on one started for the run. */
    private final RunLease lease;
    private final Map<Migrated, Template> templates = new ConcurrentHashMap<>();

    /** What a template holds: the migrations at these locations, run with this adjustment of Flyway's configuration. */
    record Migrated(List<String> locations, Class<? extends Consumer<FluentConfiguration>> configuration) {
    }

    /** A migrated template database, which nothing stays connected to once Flyway is done. */
    private record Template(String name) {
    }

    private SharedServer(PostgresDatabase server, RunLease lease) {
        this.server = server;
        this.lease = lease;
    }

    /**
     * Finds or starts the run's server.
     *
     * @param image the container image to use when the server comes from Docker, or empty for the default
     */
    static SharedServer start(String image) {
        DatabaseResolver resolver = DatabaseResolver.fromEnvironment();
        PostgresDatabase server = (image.isEmpty() ? resolver : resolver.withContainerImage(image)).resolve();
        if (!server.keepsDatabases()) {
            return new SharedServer(server, null);
        }
        try {
            return new SharedServer(server, RunLease.take(server));
        } catch (SQLException e) {
            server.close();
            throw new IllegalStateException("Could not mark this test run on " + server + ": " + e.getMessage(), e);
        }
    }

    PostgresDatabase server() {
        return server;
    }

    /**
     * Creates a fresh database for {@code owner}: a copy of the template migrated as {@code migrations} says, or an
     * empty one when it names no location. Tests running in parallel copy a template at the same time: PostgreSQL
     * refuses to copy a database that a session is connected to, and the sessions running CREATE DATABASE are
     * connected elsewhere.
     */
    TestDatabase createDatabase(String owner, Migrated migrations) throws SQLException {
        String name = uniqueName(owner.toLowerCase(Locale.ROOT).replaceAll("[^a-z0-9]", ""));
        if (migrations.locations().isEmpty()) {
            server.createDatabase(name, null);
        } else {
            Template template = templates.computeIfAbsent(migrations, this::migrateTemplate);
            server.createDatabase(name, template.name());
        }
        return new TestDatabase(server, name);
    }

    void dropDatabase(TestDatabase database) throws SQLException {
        server.dropDatabase(database.name());
    }

    private Template migrateTemplate(Migrated migrations) {
        String template = uniqueName("template");
        try {
            server.createDatabase(template, null);
            PGSimpleDataSource dataSource = new PGSimpleDataSource();
            dataSource.setURL(server.jdbcUrl(template));
            dataSource.setUser(server.username());
            dataSource.setPassword(server.password());
            Migrations.configuration(dataSource, migrations.locations(),
                    ReflectionSupport.newInstance(migrations.configuration()), false, "The template " + template)
                    .load().migrate();
            return new Template(template);
        } catch (SQLException | RuntimeException e) {
            try {
                server.dropDatabase(template);
            } catch (SQLException cleanup) {
                e.addSuppressed(cleanup);
            }
            throw new IllegalStateException("Could not migrate a template database from " + migrations.locations()
                    + (migrations.configuration() == DatabaseTest.FlywayDefaults.class ? ""
                            : " with " + migrations.configuration().getName()) + " on "
                    + server + ": " + e.getMessage(), e);
        }
    }

    /** {@code ms_<owner>_<random>}, or {@code ms_<owner>_<run id>_<random>} on a leased run: at most 61 characters. */
    private String uniqueName(String owner) {
        String base = owner.isEmpty() ? "db" : owner.length() > 38 ? owner.substring(0, 38) : owner;
        return "ms_" + base + (lease == null ? "" : "_" + lease.runId()) + "_"
                + UUID.randomUUID().toString().replace("-", "").substring(0, 10);
    }

    @Override
    public void close() throws SQLException {
        SQLException failure = null;
        for (Template template : templates.values()) {
            try {
                server.dropDatabase(template.name());
            } catch (SQLException e) {
                failure = e;
            }
        }
        if (lease != null) {
            try {
                lease.close();
            } catch (SQLException e) {
                failure = e;
            }
        }
        server.close();
        if (failure != null) {
            throw failure;
        }
    }
}
