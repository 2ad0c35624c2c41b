package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.catchThrowable;

import java.io.IOException;
import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetAddress;
import java.net.ServerSocket;
import java.net.Socket;
import java.nio.file.Path;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.SQLException;
import java.sql.Statement;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

import io.managedsession.support.HeldTransactions;
import io.managedsession.support.LogCapture;
import io.managedsession.support.PasswordProtectedPostgres;

/**
 * Wrong passwords and unreachable servers give a clear error within the connection timeout, and no exception message,
 * stack trace or log line at any level contains the password.
 */
class ConnectionFailureTest {

    private static final String PASSWORD = "Tr0ub4dor&3-correct-horse";
    private static final String WRONG_PASSWORD = "hunter2-Wrong-Passw0rd";
    private static final Duration CONNECTION_TIMEOUT = Duration.ofSeconds(2);
    /** Slack for a loaded 2-core machine; the point is "bounded", not "fast". */
    private static final Duration MARGIN = Duration.ofSeconds(3);

    @TempDir
    static Path dataDirectory;
    private static PasswordProtectedPostgres server;

    @BeforeAll
    static void startServer() throws Exception {
        server = PasswordProtectedPostgres.start(dataDirectory, PASSWORD);
    }

    @AfterAll
    static void stopServer() throws IOException {
        server.close();
    }

    @Test
    void wrongPasswordFailsWithTheServersReasonWithinTheTimeoutAndLeaksNoPassword() {
        try (LogCapture logs = LogCapture.everything()) {
            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> SessionManager.builder()
                    .jdbcUrl(server.jdbcUrl())
                    .username(PasswordProtectedPostgres.ROLE)
                    .password(WRONG_PASSWORD)
                    .connectionTimeout(CONNECTION_TIMEOUT)
                    .build());
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(ConnectionUnavailableException.class)
                    .hasMessageContaining("password authentication failed for user \"app_user\"")
                    .hasMessageContaining("as user 'app_user'");
            assertThat(((ConnectionUnavailableException) caught).getSQLState()).isEqualTo("28P01");
            assertThat(took).isLessThan(CONNECTION_TIMEOUT.plus(MARGIN));
            assertNoSecretIn(caught, logs, WRONG_PASSWORD);
        }
    }

    @Test
    void rightPasswordConnectsAndNothingShowsIt() throws Exception {
        try (LogCapture logs = LogCapture.everything()) {
            SessionManager.Builder builder = SessionManager.builder()
                    .jdbcUrl(server.jdbcUrl())
                    .username(PasswordProtectedPostgres.ROLE)
                    .password(PASSWORD)
                    .maximumPoolSize(1)
                    // Not shorter: it bounds the login too, and a SCRAM login on a loaded 2-core machine once took
                    // more than the 300 ms this test had (CI, embedded run); the exhausted pool then waits 2 s.
                    .connectionTimeout(CONNECTION_TIMEOUT);
            Throwable exhausted;
            String description;
            try (SessionManager sessions = builder.build()) {
                String user = sessions.transactionResult(ctx -> ctx.fetchValue("SELECT current_user").toString());
                assertThat(user).isEqualTo(PasswordProtectedPostgres.ROLE);

                // Exhaust the pool of one, so that the timeout error is among what must not show the password.
                try (HeldTransactions held = HeldTransactions.hold(sessions, 1)) {
                    exhausted = catchThrowable(() -> sessions.transaction(ctx -> ctx.fetchValue("SELECT 1")));
                    held.release();
                }
                description = sessions + " " + builder;
            }

            assertThat(exhausted).isInstanceOf(ConnectionUnavailableException.class)
                    .hasMessageContaining("total=1, active=1");
            assertThat(description).doesNotContain(PASSWORD);
            assertNoSecretIn(exhausted, logs, PASSWORD);
        }
    }

    @Test
    void passwordInsideTheUrlIsNeverShown() {
        String urlWithPassword = server.jdbcUrl() + "?user=" + PasswordProtectedPostgres.ROLE + "&password=" + WRONG_PASSWORD;
        try (LogCapture logs = LogCapture.everything()) {
            Throwable caught = catchThrowable(() -> SessionManager.builder()
                    .jdbcUrl(urlWithPassword)
                    .connectionTimeout(CONNECTION_TIMEOUT)
                    .build());

            assertThat(caught).isInstanceOf(ConnectionUnavailableException.class)
                    .hasMessageContaining("password=***");
            assertNoSecretIn(caught, logs, WRONG_PASSWORD);
        }
    }

    @Test
    void aUserGivenInTheUrlOnlyOrTheSameByUsernameIsTheOnePoolAndMigrationsConnectAs() throws SQLException {
        try (Connection superuser = DriverManager.getConnection(server.jdbcUrl(), "postgres", "");
             Statement statement = superuser.createStatement()) {
            statement.execute("GRANT CREATE ON SCHEMA public TO " + PasswordProtectedPostgres.ROLE);
        }
        String urlWithUser = server.jdbcUrl() + "?user=" + PasswordProtectedPostgres.ROLE;
        for (boolean alsoByUsername : new boolean[] {false, true}) {
            SessionManager.Builder builder = SessionManager.builder().jdbcUrl(urlWithUser).password(PASSWORD)
                    .migrateOnStart(true).migrationLocations("classpath:db/owned")
                    .connectionTimeout(CONNECTION_TIMEOUT);
            if (alsoByUsername) {
                builder.username(PasswordProtectedPostgres.ROLE);
            }
            try (SessionManager sessions = builder.build()) {
                Object user = sessions.transactionResult(ctx -> ctx.fetchValue("SELECT current_user"));
                Object owner = sessions.transactionResult(ctx -> ctx.fetchValue(
                        "SELECT tableowner FROM pg_tables WHERE tablename = 'owned_by_migrations'"));
                assertThat(user).isEqualTo(PasswordProtectedPostgres.ROLE);
                assertThat(owner).isEqualTo(PasswordProtectedPostgres.ROLE);
            }
        }
    }

    @Test
    void failingMigrationWithSeparateCredentialsShowsNoPassword() {
        try (LogCapture logs = LogCapture.everything()) {
            Throwable caught = catchThrowable(() -> SessionManager.builder()
                    .jdbcUrl(server.jdbcUrl())
                    .username(PasswordProtectedPostgres.ROLE)
                    .password(PASSWORD)
                    .migrationCredentials(PasswordProtectedPostgres.ROLE, WRONG_PASSWORD)
                    .migrateOnStart(true)
                    .connectionTimeout(CONNECTION_TIMEOUT)
                    .build());

            assertThat(caught).isInstanceOf(SessionException.class).hasMessageContaining("did not start");
            assertNoSecretIn(caught, logs, WRONG_PASSWORD);
            assertNoSecretIn(caught, logs, PASSWORD);
        }
    }

    @Test
    void descriptionsNeverShowEitherPassword() {
        SessionManager.Builder builder = SessionManager.builder().jdbcUrl(server.jdbcUrl()).username("app")
                .password(PASSWORD).migrationCredentials("owner", WRONG_PASSWORD).migrateOnStart(true);

        assertThat(builder.toString()).contains("migrationUsername=owner").doesNotContain(PASSWORD)
                .doesNotContain(WRONG_PASSWORD);
    }

    @Test
    void closedPortFailsFastWithTheReason() throws IOException {
        int port;
        try (ServerSocket probe = new ServerSocket(0, 1, InetAddress.getLoopbackAddress())) {
            port = probe.getLocalPort();
        }
        assertUnreachableFailsWithinTimeout("jdbc:postgresql://127.0.0.1:" + port + "/app", "refused");
    }

    @Test
    void serverThatNeverAnswersFailsWithinTheTimeout() throws Exception {
        // Accepts TCP connections and then says nothing: what a host behind a black-holing firewall looks like.
        List<Socket> accepted = new ArrayList<>();
        try (ServerSocket silent = new ServerSocket(0, 50, InetAddress.getLoopbackAddress())) {
            Thread acceptor = Thread.ofPlatform().daemon().start(() -> {
                while (!silent.isClosed()) {
                    try {
                        accepted.add(silent.accept());
                    } catch (IOException closed) {
                        return;
                    }
                }
            });
            assertUnreachableFailsWithinTimeout("jdbc:postgresql://127.0.0.1:" + silent.getLocalPort() + "/app",
                    "jdbc:postgresql://127.0.0.1:" + silent.getLocalPort() + "/app");
            silent.close();
            acceptor.join(10_000);
        } finally {
            for (Socket socket : accepted) {
                socket.close();
            }
        }
    }

    @Test
    void unknownHostFailsFastWithTheReason() {
        assertUnreachableFailsWithinTimeout("jdbc:postgresql://no-such-host.invalid:5432/app", "no-such-host.invalid");
    }

    private static void assertUnreachableFailsWithinTimeout(String url, String expectedInMessage) {
        try (LogCapture logs = LogCapture.everything()) {
            long start = System.nanoTime();
            Throwable caught = catchThrowable(() -> SessionManager.builder()
                    .jdbcUrl(url)
                    .username("app")
                    .password(WRONG_PASSWORD)
                    .connectionTimeout(CONNECTION_TIMEOUT)
                    .build());
            Duration took = Duration.ofNanos(System.nanoTime() - start);

            assertThat(caught).isInstanceOf(ConnectionUnavailableException.class)
                    .hasMessageContaining("Could not connect to")
                    .hasMessageContaining(expectedInMessage);
            assertThat(took).isLessThan(CONNECTION_TIMEOUT.plus(MARGIN));
            assertNoSecretIn(caught, logs, WRONG_PASSWORD);
        }
    }

    private static void assertNoSecretIn(Throwable caught, LogCapture logs, String secret) {
        StringWriter trace = new StringWriter();
        caught.printStackTrace(new PrintWriter(trace));
        assertThat(trace.toString()).as("exception messages and stack trace").doesNotContain(secret);
        List<String> lines = logs.lines();
        assertThat(lines).as("something was logged, or the capture is not working").isNotEmpty();
        assertThat(lines).as("log lines at every level").noneMatch(line -> line.contains(secret));
    }
}
