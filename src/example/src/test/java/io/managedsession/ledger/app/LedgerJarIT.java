package io.managedsession.ledger.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.BlockingQueue;
import java.util.concurrent.CompletableFuture;
import java.util.concurrent.LinkedBlockingQueue;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Tag;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged application, {@code target/ledger.jar}, run as separate processes on the embedded default database.
 * Each test gives the processes a home directory of its own ({@code -Duser.home}), so the default data directory
 * ({@code ~/.managed-session/ledger/pgdata}) is used without touching the real one. Tagged {@code own-servers}: the
 * processes start their own server whatever the test database is, so a build that runs the suite once per source of
 * PostgreSQL ({@code .ci/run}) runs this once.
 */
@Tag("own-servers")
class LedgerJarIT {

    private static final Duration REPLY_TIMEOUT = Duration.ofSeconds(30);
    private static final Pattern LISTENING = Pattern.compile("Listening on (http://[0-9.]+:\\d+)");

    @TempDir
    Path home;

    record Finished(int exitCode, String out, String err) {
    }

    private List<String> command(String... args) {
        String jar = System.getProperty("ledger.app.jar", "target/ledger.jar");
        List<String> command = new ArrayList<>(List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "-Duser.home=" + home, "-jar", jar));
        command.addAll(List.of(args));
        return command;
    }

    private Process start(String... args) throws IOException {
        ProcessBuilder builder = new ProcessBuilder(command(args));
        builder.environment().remove("MANAGEDSESSION_DATABASE_URL");
        builder.environment().remove("LEDGER_DATA_DIR");
        return builder.start();
    }

    private Finished run(String... args) throws Exception {
        Process process = start(args);
        CompletableFuture<String> out = readAll(process.getInputStream());
        CompletableFuture<String> err = readAll(process.getErrorStream());
        assertThat(process.waitFor(3, TimeUnit.MINUTES)).as("ledger %s finished", List.of(args)).isTrue();
        return new Finished(process.exitValue(), out.get(), err.get());
    }

    private static CompletableFuture<String> readAll(InputStream stream) {
        return CompletableFuture.supplyAsync(() -> {
            try {
                return new String(stream.readAllBytes(), StandardCharsets.UTF_8);
            } catch (IOException e) {
                return "unreadable: " + e;
            }
        });
    }

    private Path dataDirectory() {
        return home.resolve(".managed-session/ledger/pgdata");
    }

    @Test
    void demoThenBalanceOnTheEmbeddedDefault() throws Exception {
        Finished demo = run("demo");
        Finished balance = run("balance");

        assertThat(demo.exitCode()).as("demo exit code; stderr:%n%s", demo.err()).isZero();
        assertThat(demo.out()).contains("Database: PostgresDatabase[EMBEDDED")
                .contains("Refused and rolled back")
                .contains("together 150.00")
                .contains("over 2 accounts: holds");
        assertThat(demo.err()).contains("Using an embedded PostgreSQL (data in " + dataDirectory() + ")");
        assertThat(balance.exitCode()).as("balance exit code; stderr:%n%s", balance.err()).isZero();
        assertThat(balance.out()).contains("account 1 (alice): ").contains("account 2 (bob): ")
                .contains("2 accounts, total 150.00; invariant (sum of balances = sum of history): holds");
        assertThat(dataDirectory().resolve("PG_VERSION")).exists();
        assertThat(dataDirectory().resolve("postmaster.pid")).as("the server was stopped cleanly").doesNotExist();
    }

    @Test
    void badArgumentExitsNonZeroWithAClearMessage() throws Exception {
        Finished bad = run("transfer", "--from", "1", "--to", "2", "--amount", "abc");
        Finished unknown = run("withdraw", "--amount", "5");

        assertThat(bad.exitCode()).isEqualTo(2);
        assertThat(bad.err()).contains("Invalid value for option '--amount': 'abc' is not an amount")
                .contains("ledger transfer --help");
        assertThat(unknown.exitCode()).isEqualTo(2);
        assertThat(unknown.err()).contains("Unmatched arguments");
    }

    @Test
    void dataWrittenThroughServeIsStillThereAfterARestart() throws Exception {
        HttpClient http = HttpClient.newHttpClient();
        long id;
        String base;

        Process first = start("serve", "--port", "0");
        try {
            base = awaitListening(first);
            HttpResponse<String> created = http.send(HttpRequest.newBuilder(URI.create(base + "/accounts"))
                    .timeout(REPLY_TIMEOUT)
                    .POST(HttpRequest.BodyPublishers.ofString("{\"owner\": \"persistent\", \"initialBalance\": 4242}"))
                    .build(), HttpResponse.BodyHandlers.ofString());
            assertThat(created.statusCode()).isEqualTo(201);
            Matcher idMatcher = Pattern.compile("\"id\":(\\d+)").matcher(created.body());
            assertThat(idMatcher.find()).isTrue();
            id = Long.parseLong(idMatcher.group(1));

            // The shaded jar must carry what the metrics need at run time, not only what the tests' classpath has.
            HttpResponse<String> scrape = http.send(HttpRequest.newBuilder(URI.create(base + "/metrics"))
                    .timeout(REPLY_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());
            assertThat(scrape.statusCode()).isEqualTo(200);
            assertThat(scrape.body())
                    .containsPattern("managedsession_transaction_duration_seconds\\{.*quantile=\"0.99\"")
                    .contains("hikaricp_connections_active");
        } finally {
            stop(first);
        }
        assertThat(dataDirectory().resolve("postmaster.pid")).as("stopped cleanly on SIGTERM").doesNotExist();

        Process second = start("serve", "--port", "0");
        try {
            base = awaitListening(second);
            HttpResponse<String> account = http.send(HttpRequest.newBuilder(URI.create(base + "/accounts/" + id))
                    .timeout(REPLY_TIMEOUT).GET().build(), HttpResponse.BodyHandlers.ofString());

            assertThat(account.statusCode()).isEqualTo(200);
            assertThat(account.body()).contains("\"owner\":\"persistent\"").contains("\"balance\":4242");
        } finally {
            stop(second);
        }
    }

    private static String awaitListening(Process process) throws Exception {
        BlockingQueue<String> lines = new LinkedBlockingQueue<>();
        Thread.ofPlatform().daemon().start(() -> {
            try (BufferedReader reader = new BufferedReader(new InputStreamReader(process.getInputStream(),
                    StandardCharsets.UTF_8))) {
                String line;
                while ((line = reader.readLine()) != null) {
                    lines.add(line);
                }
            } catch (IOException ended) {
                // The process ended.
            }
        });
        readAll(process.getErrorStream());
        long deadline = System.nanoTime() + Duration.ofMinutes(2).toNanos();
        while (System.nanoTime() < deadline) {
            String line = lines.poll(1, TimeUnit.SECONDS);
            if (line != null) {
                Matcher matcher = LISTENING.matcher(line);
                if (matcher.find()) {
                    return matcher.group(1);
                }
            }
            assertThat(process.isAlive()).as("serve is running").isTrue();
        }
        throw new AssertionError("serve did not say where it listens within 2 minutes");
    }

    /** SIGTERM, as Ctrl-C or a service manager would send, then wait for the graceful shutdown. */
    private static void stop(Process process) throws InterruptedException {
        process.destroy();
        if (!process.waitFor(1, TimeUnit.MINUTES)) {
            process.destroyForcibly();
            throw new AssertionError("serve did not stop within a minute of SIGTERM");
        }
    }
}
