package io.managedsession.support;

import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import org.postgresql.ds.PGSimpleDataSource;

import io.managedsession.SessionManager;
import io.managedsession.testing.TestDatabase;

/** SessionManagers the tests build for themselves, sized for a 2-core machine, and a look into their pools. */
public final class Managers {

    private Managers() {
    }

    /**
     * Set to {@code pgbouncer} by the build's run of the contract tests behind PgBouncer: then every manager of
     * {@link #on} goes through a PgBouncer in transaction mode in front of the test's server.
     */
    public static final String THROUGH_PROPERTY = "managedsession.test.through";

    /** Whether this run sends the managers of {@link #on} through PgBouncer. */
    public static boolean throughPgBouncer() {
        return "pgbouncer".equals(System.getProperty(THROUGH_PROPERTY));
    }

    /**
     * A builder pointed at the test's database: a pool of 4, and timeouts that fail a stuck test in seconds. In the
     * run behind PgBouncer, through a PgBouncer in transaction mode, with {@code transactionPooler(true)}.
     */
    public static SessionManager.Builder on(TestDatabase db) {
        if (throughPgBouncer()) {
            return via(db, PgBouncer.shared(db).jdbcUrl(db.name())).transactionPooler(true);
        }
        return db.sessionManagerBuilder()
                .maximumPoolSize(4)
                .connectionTimeout(Duration.ofSeconds(10))
                .closeTimeout(Duration.ofSeconds(10));
    }

    /** Like {@link #on}, with the database's credentials but another URL (for example through a proxy). */
    public static SessionManager.Builder via(TestDatabase db, String url) {
        SessionManager.Builder builder = SessionManager.builder()
                .jdbcUrl(url)
                .maximumPoolSize(4)
                .connectionTimeout(Duration.ofSeconds(10))
                .closeTimeout(Duration.ofSeconds(10));
        if (db.username() != null) {
            builder.username(db.username());
        }
        if (db.password() != null) {
            builder.password(db.password());
        }
        return builder;
    }

    /** The driver's own DataSource for the test's database: for a layer of the test's around the driver. */
    public static PGSimpleDataSource driver(TestDatabase db) {
        PGSimpleDataSource driver = new PGSimpleDataSource();
        driver.setURL(db.jdbcUrl());
        driver.setUser(db.username());
        driver.setPassword(db.password());
        return driver;
    }

    /** The HikariCP pool behind a SessionManager built from a URL. */
    public static HikariPoolMXBean pool(SessionManager sessions) {
        return ((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean();
    }
}
