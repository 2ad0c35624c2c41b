package io.managedsession.ledger.app;

import static org.assertj.core.api.Assertions.assertThat;
import static org.assertj.core.api.Assertions.assertThatThrownBy;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.net.InetSocketAddress;
import java.net.URI;
import java.net.http.HttpClient;
import java.net.http.HttpRequest;
import java.net.http.HttpResponse;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

import com.fasterxml.jackson.databind.JsonNode;
import com.fasterxml.jackson.databind.ObjectMapper;
import com.fasterxml.jackson.databind.node.JsonNodeFactory;

import picocli.CommandLine;

import io.managedsession.SessionManager;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * Hostile input at the application's entry points, the CLI and the HTTP service: SQL injection, NUL bytes, huge and
 * malformed values, odd Unicode. Each is stored verbatim or refused with a clear error; none is executed as SQL; the
 * HTTP service never answers 500 or shows a stack trace. (The library's own settings are tested in the library's
 * HostileSettingsTest.)
 */
@DatabaseTest
class HostileInputTest {

    private static final ObjectMapper JSON = new ObjectMapper();
    private static final HttpClient HTTP = HttpClient.newHttpClient();

    private static SessionManager sessions;
    private static LedgerServer server;
    private static String base;

    @BeforeAll
    static void start(TestDatabase db) throws Exception {
        sessions = Managers.on(db).maximumPoolSize(4).build();
        server = LedgerServer.start(sessions, new InetSocketAddress("127.0.0.1", 0), Duration.ofSeconds(5));
        base = "http://127.0.0.1:" + server.port();
    }

    @AfterAll
    static void stop() {
        server.close();
        sessions.close();
    }

    static List<String> hostileStrings() {
        return List.of(
                "Robert'); DROP TABLE accounts;--",
                "x' OR '1'='1",
                "$$; DROP TABLE transfers; $$",
                "\\'; SELECT pg_sleep(10);--",
                "𝕳𝖊𝖑𝖑𝖔 👋🏽 família ñ 漢字",
                "\u202Eevil right-to-left\u202C",
                "zero\u200Bwidth\uFEFFjoiner",
                "<script>alert(1)</script>",
                "%s%n%x {0} ${jndi:ldap://x}");
    }

    private record Reply(int status, String body) {
        JsonNode json() throws Exception {
            return JSON.readTree(body);
        }
    }

    private static Reply send(String method, String path, String body, String... headers) throws Exception {
        HttpRequest.Builder request = HttpRequest.newBuilder(URI.create(base + path)).timeout(Duration.ofSeconds(30))
                .method(method, body == null ? HttpRequest.BodyPublishers.noBody()
                        : HttpRequest.BodyPublishers.ofString(body));
        for (int i = 0; i < headers.length; i += 2) {
            request.header(headers[i], headers[i + 1]);
        }
        HttpResponse<String> response = HTTP.send(request.build(), HttpResponse.BodyHandlers.ofString());
        Reply reply = new Reply(response.statusCode(), response.body());
        assertThat(reply.status()).as("%s %s: never a server error", method, path).isLessThan(500);
        assertThat(reply.body()).as("no stack trace to the client").doesNotContain("\tat ").doesNotContain("Exception");
        return reply;
    }

    private static String jsonString(String value) {
        return JsonNodeFactory.instance.textNode(value).toString();
    }

    @ParameterizedTest
    @MethodSource("hostileStrings")
    void hostileOwnerNamesAreStoredVerbatimOverHttp(String owner) throws Exception {
        Reply created = send("POST", "/accounts", "{\"owner\": " + jsonString(owner) + "}");

        assertThat(created.status()).isEqualTo(201);
        long id = created.json().get("id").asLong();
        assertThat(send("GET", "/accounts/" + id, null).json().get("owner").asText()).isEqualTo(owner);
        assertThat(storedOwner(id)).isEqualTo(owner);
        assertTablesIntact();
    }

    @ParameterizedTest
    @MethodSource("hostileStrings")
    void hostileIdempotencyKeysAreStoredVerbatim(String key) throws Exception {
        long from = send("POST", "/accounts", "{\"owner\": \"payer\", \"initialBalance\": 100}").json().get("id").asLong();
        long to = send("POST", "/accounts", "{\"owner\": \"payee\"}").json().get("id").asLong();

        Reply transfer = send("POST", "/transfers", "{\"from\": " + from + ", \"to\": " + to + ", \"amount\": 1}",
                "Idempotency-Key", key.replaceAll("[^\\x20-\\x7e]", "?"));

        assertThat(transfer.status()).isEqualTo(201);
        assertThat(transfer.json().get("idempotencyKey").asText()).isEqualTo(key.replaceAll("[^\\x20-\\x7e]", "?"));
        assertTablesIntact();
    }

    @Test
    void malformedHugeAndOddValuesAreRefusedClearlyOverHttp() throws Exception {
        String deep = "[".repeat(5_000) + "]".repeat(5_000);
        Object[][] cases = {
                {"POST", "/accounts", "{\"owner\": \"nul\\u0000byte\"}", 400, "must not contain NUL characters"},
                {"POST", "/accounts", "{\"owner\": \"" + "w".repeat(201) + "\"}", 400, "at most 200 characters"},
                {"POST", "/accounts", "{\"owner\": \"x\", \"initialBalance\": 1e400}", 400, "integer number of minor units"},
                {"POST", "/accounts", "{\"owner\": \"x\", \"initialBalance\": 99999999999999999999999999}", 400,
                        "must be at most"},
                {"POST", "/accounts", "{\"owner\": [\"not\", \"a\", \"string\"]}", 400, "must be a non-blank string"},
                {"POST", "/accounts", deep, 400, "not valid JSON"},
                {"POST", "/accounts", "{\"owner\": \"x\"} trailing garbage", 400, "not valid JSON"},
                {"POST", "/accounts", "\u0000\u0001\u0002", 400, "not valid JSON"},
                {"GET", "/accounts/1%27%20OR%201=1", null, 400, "positive integer"},
                {"GET", "/accounts/99999999999999999999", null, 400, "positive integer"},
                {"GET", "/accounts/-1", null, 400, "positive integer"},
                {"GET", "/accounts/1;DROP%20TABLE%20accounts", null, 400, "positive integer"},
                {"GET", "/accounts/1/transfers?limit=1;DROP", null, 400, "limit must be an integer"},
                {"POST", "/transfers", "{\"from\": 1, \"to\": 2, \"amount\": 1}", 400, "at most 200 characters"},
        };
        for (Object[] c : cases) {
            String[] headers = c[1].equals("/transfers") ? new String[] {"Idempotency-Key", "k".repeat(201)}
                    : new String[0];
            Reply reply = send((String) c[0], (String) c[1], (String) c[2], headers);
            assertThat(reply.status()).as("%s %s", c[0], c[1]).isEqualTo(c[3]);
            assertThat(reply.json().get("message").asText()).as("%s %s", c[0], c[1]).contains((String) c[4]);
        }
        assertTablesIntact();
    }

    @ParameterizedTest
    @MethodSource("hostileStrings")
    void hostileOwnerNamesAreStoredVerbatimThroughTheCli(String owner, TestDatabase db) {
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        int exit = cli(new PrintWriter(out, true), new PrintWriter(err, true),
                withDatabase(db, "open-account", "--owner", owner));

        assertThat(exit).as(err.toString()).isZero();
        long id = Long.parseLong(out.toString().replaceAll("(?s)^Opened account (\\d+).*$", "$1"));
        assertThat(storedOwner(id)).isEqualTo(owner);
        assertTablesIntact();
    }

    @Test
    void hostileCliArgumentsAreRefusedClearly(TestDatabase db) {
        Object[][] cases = {
                {withDatabase(db, "deposit", "--account", "1 OR 1=1", "--amount", "1"), "'1 OR 1=1' is not a long"},
                {withDatabase(db, "deposit", "--account", "1", "--amount", "1; DROP TABLE accounts"),
                        "is not an amount"},
                {withDatabase(db, "deposit", "--account", "1", "--amount", "1e999"), "is out of range"},
                {withDatabase(db, "open-account", "--owner", "v".repeat(201)), "at most 200 characters"},
                {withDatabase(db, "history", "--account", "1", "--limit", "100000000000"), "is not an int"},
        };
        for (Object[] c : cases) {
            StringWriter err = new StringWriter();
            int exit = cli(new PrintWriter(new StringWriter(), true), new PrintWriter(err, true), (String[]) c[0]);
            assertThat(exit).as(String.join(" ", (String[]) c[0])).isEqualTo(2);
            assertThat(err.toString()).as(String.join(" ", (String[]) c[0])).contains((String) c[1])
                    .doesNotContain("\tat ");
        }
        assertTablesIntact();
    }

    private static String storedOwner(long id) {
        return sessions.transactionResult(ctx -> String.valueOf(ctx.fetchValue("SELECT owner FROM accounts WHERE aid = ?",
                id)));
    }

    /** A command line pointed at the test's database with its credentials, as a user of the CLI writes it. */
    private static String[] withDatabase(TestDatabase db, String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        all.add("--database-url=" + db.jdbcUrl());
        if (db.username() != null) {
            all.add("--database-user=" + db.username());
        }
        if (db.password() != null) {
            all.add("--database-password=" + db.password());
        }
        return all.toArray(String[]::new);
    }

    private static int cli(PrintWriter out, PrintWriter err, String... args) {
        CommandLine commandLine = LedgerCli.commandLine();
        commandLine.setOut(out);
        commandLine.setErr(err);
        return commandLine.execute(args);
    }

    private static void assertTablesIntact() {
        long tables = sessions.transactionResult(ctx -> ctx.fetchCount(ctx.selectFrom(
                "information_schema.tables").where("table_schema = 'public' AND table_name IN ('accounts',"
                + " 'transfers', 'history', 'branches', 'tellers')")));
        assertThat(tables).as("no hostile input was executed as SQL").isEqualTo(5);
    }
}
