package io.managedsession.bench;

import java.lang.management.ManagementFactory;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Duration;
import java.time.OffsetDateTime;
import java.time.ZoneOffset;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.LongAdder;

import org.jooq.exception.DataAccessException;

import com.zaxxer.hikari.HikariDataSource;
import com.zaxxer.hikari.HikariPoolMXBean;

import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.database.DatabaseResolver;
import io.managedsession.database.PostgresDatabase;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.Audits;
import io.managedsession.ledger.Transfers;

/**
 * The soak run: a mixed load (transfers, serializable transfers with retries, read-only balances, deposits, and
 * injected rollbacks and deadline overruns) for minutes, sampled every ten seconds: throughput, errors by kind,
 * connections and heap. Writes {@code docs/soak/report.md}.
 *
 * <pre>mvn -B -q -Pbench,soak clean test-compile exec:exec -Dsoak.minutes=10</pre>
 */
final class Soak {

    private static final TransactionOptions SERIALIZABLE = TransactionOptions.serializable().toBuilder()
            .maxAttempts(10).label("soak-serializable").build();
    private static final TransactionOptions READ = TransactionOptions.readOnly().toBuilder().label("soak-read").build();
    private static final TransactionOptions OVERRUN = TransactionOptions.builder().deadline(Duration.ofMillis(20))
            .label("soak-overrun").build();

    private Soak() {
    }

    static void run(int minutes, Path out) throws Exception {
        Files.createDirectories(out);
        try (PostgresDatabase server = DatabaseResolver.fromEnvironment().resolve()) {
            server.dropDatabase("soak");
            server.createDatabase("soak", null);
            SessionManager.Builder builder = SessionManager.builder().name("soak").jdbcUrl(server.jdbcUrl("soak"))
                    .maximumPoolSize(8).migrateOnStart(true);
            if (server.username() != null) {
                builder.username(server.username());
            }
            try (SessionManager sessions = builder.build()) {
                long[] ids = new long[50];
                for (int i = 0; i < ids.length; i++) {
                    int n = i;
                    ids[i] = sessions.transactionResult(ctx -> Accounts.open(ctx, "soak-" + n, 1_000_000_00L));
                }
                LongAdder committed = new LongAdder();
                Map<String, LongAdder> errors = new ConcurrentHashMap<>();
                AtomicBoolean running = new AtomicBoolean(true);
                AtomicLong keys = new AtomicLong();
                int threads = 16;
                ExecutorService workers = Executors.newFixedThreadPool(threads);
                for (int t = 0; t < threads; t++) {
                    workers.submit(() -> {
                        while (running.get()) {
                            try {
                                oneTransaction(sessions, ids, keys);
                                committed.increment();
                            } catch (Exception e) {
                                String kind = e.getClass().getSimpleName()
                                        + (e instanceof DataAccessException d && d.sqlState() != null
                                                ? " " + d.sqlState() : "");
                                errors.computeIfAbsent(kind, k -> new LongAdder()).increment();
                            }
                        }
                    });
                }
                HikariPoolMXBean pool = ((HikariDataSource) sessions.dataSource()).getHikariPoolMXBean();
                List<String> rows = new ArrayList<>();
                long end = System.nanoTime() + TimeUnit.MINUTES.toNanos(minutes);
                long previous = 0;
                long t0 = System.nanoTime();
                while (System.nanoTime() < end) {
                    TimeUnit.SECONDS.sleep(10);
                    long now = committed.sum();
                    long heap = ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024);
                    rows.add(String.format(Locale.ROOT, "| %d | %.0f | %s | %d / %d / %d | %d |",
                            TimeUnit.NANOSECONDS.toSeconds(System.nanoTime() - t0), (now - previous) / 10.0,
                            snapshot(errors), pool.getActiveConnections(), pool.getIdleConnections(),
                            pool.getTotalConnections(), heap));
                    System.out.println(rows.get(rows.size() - 1));
                    previous = now;
                }
                running.set(false);
                workers.shutdown();
                workers.awaitTermination(1, TimeUnit.MINUTES);
                System.gc();
                Audits.Audit audit = sessions.transactionResult(Audits::audit);
                StringBuilder md = new StringBuilder("# Soak run\n\n")
                        .append("- started: ").append(OffsetDateTime.now(ZoneOffset.UTC).minusMinutes(minutes)).append('\n')
                        .append("- duration: ").append(minutes).append(" minutes, 16 threads, a pool of 8, ")
                        .append(server).append('\n')
                        .append("- mix: 45 % transfers, 15 % serializable transfers with up to 10 attempts, 25 %")
                        .append(" read-only balances, 10 % deposits, 3 % injected rollbacks, 2 % deadline overruns")
                        .append(" (20 ms deadline, 50 ms sleep)\n")
                        .append("- the injected rollbacks are the IllegalStateExceptions and the deadline overruns the"
                                + " TransactionTimeoutExceptions; a DataAccessException 40001 is a serializable transfer"
                                + " that still conflicted after its 10 attempts\n")
                        .append("- committed: ").append(committed.sum()).append("; errors by kind: ")
                        .append(snapshot(errors)).append('\n')
                        .append("- after the run: active connections ").append(pool.getActiveConnections())
                        .append(", heap after GC ")
                        .append(ManagementFactory.getMemoryMXBean().getHeapMemoryUsage().getUsed() / (1024 * 1024))
                        .append(" MiB, ledger invariant ").append(audit.holds() ? "holds" : "BROKEN")
                        .append(" over ").append(audit.accounts()).append(" accounts\n\n")
                        .append("| second | committed per second | errors so far | connections active / idle / total"
                                + " | heap used, MiB |\n| ---: | ---: | --- | --- | ---: |\n");
                rows.forEach(row -> md.append(row).append('\n'));
                Files.writeString(out.resolve("report.md"), md.toString());
            } finally {
                server.dropDatabase("soak");
            }
        }
    }

    private static void oneTransaction(SessionManager sessions, long[] ids, AtomicLong keys) throws Exception {
        ThreadLocalRandom random = ThreadLocalRandom.current();
        int roll = random.nextInt(100);
        long a = ids[random.nextInt(ids.length)];
        long b = ids[(int) ((random.nextInt(ids.length - 1) + 1 + indexOf(ids, a)) % ids.length)];
        if (roll < 45) {
            sessions.transaction(ctx -> Transfers.transfer(ctx, a, b, 1 + random.nextInt(100), "soak-" + keys.incrementAndGet()));
        } else if (roll < 60) {
            sessions.transaction(SERIALIZABLE, ctx -> Transfers.transfer(ctx, a, b, 1 + random.nextInt(100),
                    "soak-" + keys.incrementAndGet()));
        } else if (roll < 85) {
            sessions.transaction(READ, ctx -> Accounts.balance(ctx, a));
        } else if (roll < 95) {
            sessions.transaction(ctx -> Accounts.deposit(ctx, a, 1));
        } else if (roll < 98) {
            sessions.transaction(ctx -> {
                Accounts.deposit(ctx, a, 1);
                throw new IllegalStateException("injected rollback");
            });
        } else {
            sessions.transaction(OVERRUN, ctx -> ctx.execute("SELECT pg_sleep(0.05)"));
        }
    }

    private static int indexOf(long[] ids, long id) {
        for (int i = 0; i < ids.length; i++) {
            if (ids[i] == id) {
                return i;
            }
        }
        return 0;
    }

    private static String snapshot(Map<String, LongAdder> errors) {
        Map<String, Long> sorted = new TreeMap<>();
        errors.forEach((kind, count) -> sorted.put(kind, count.sum()));
        return sorted.isEmpty() ? "none" : sorted.toString();
    }
}
