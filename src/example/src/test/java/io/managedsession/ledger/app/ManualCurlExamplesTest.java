package io.managedsession.ledger.app;

import static org.assertj.core.api.Assertions.assertThat;

import java.net.InetSocketAddress;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;

import org.junit.jupiter.api.Test;

import io.managedsession.SessionManager;
import io.managedsession.support.Checkout;
import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The manual's curl examples (docs/ledger.md), run verbatim with bash and curl against a server on an empty ledger. */
@DatabaseTest(migrations = {})
class ManualCurlExamplesTest {

    private static final Pattern BASH_BLOCK = Pattern.compile("```bash\\n(LEDGER=.*?)```", Pattern.DOTALL);

    @Test
    void curlExamplesGiveTheRepliesTheManualShows(TestDatabase db) throws Exception {
        Matcher block = BASH_BLOCK.matcher(Files.readString(Checkout.file("docs/ledger.md")));
        assertThat(block.find()).as("the manual's curl block").isTrue();
        List<String> lines = block.group(1).lines().filter(line -> !line.isBlank()).toList();
        String assignment = lines.get(0);
        record Example(String command, String expected) {
        }
        List<Example> examples = new ArrayList<>();
        for (int i = 1; i < lines.size(); i += 2) {
            assertThat(lines.get(i)).startsWith("curl ");
            assertThat(lines.get(i + 1)).startsWith("# ");
            examples.add(new Example(lines.get(i), lines.get(i + 1).substring(2)));
        }
        assertThat(examples).hasSizeGreaterThanOrEqualTo(8);

        try (SessionManager sessions = Managers.on(db).migrateOnStart(true).build();
             LedgerServer server = LedgerServer.start(sessions, new InetSocketAddress("127.0.0.1", 0),
                     Duration.ofSeconds(5))) {
            for (Example example : examples) {
                String reply = bash(assignment + "\n" + example.command(), "http://127.0.0.1:" + server.port());
                assertThat(reply.strip()).as(example.command()).matches(asPattern(example.expected()));
            }
        }
    }

    /** The expected reply with {@code ...} standing for anything. */
    private static String asPattern(String expected) {
        StringBuilder regex = new StringBuilder();
        String[] parts = expected.split("\\.\\.\\.", -1);
        for (int i = 0; i < parts.length; i++) {
            regex.append(Pattern.quote(parts[i]));
            if (i < parts.length - 1) {
                regex.append(".+?");
            }
        }
        return regex.toString();
    }

    private static String bash(String script, String ledger) throws Exception {
        ProcessBuilder builder = new ProcessBuilder("bash", "-c", script).redirectErrorStream(true);
        builder.environment().put("LEDGER", ledger);
        Process process = builder.start();
        String output = new String(process.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertThat(process.waitFor(30, TimeUnit.SECONDS)).isTrue();
        assertThat(process.exitValue()).as("bash exit code for %s: %s", script, output).isZero();
        return output;
    }
}
