package io.managedsession.support;

import java.time.Duration;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;
import io.managedsession.testing.TestDatabase;

/** SessionManagers the tests build for themselves, sized for a 2-core machine, and a look into their pools. */
public final class Managers {

    private Managers() {
    }

    /** A builder pointed at the test's database: a pool of 4, and timeouts that fail a stuck test in seconds. */
    public static SessionManager.Builder on(TestDatabase db) {
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

    /** The HikariCP pool behind a SessionManager built from a URL. */
    public static HikariPoolMXBean pool(SessionManager sessions) {
        return ((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean();
    }
}
