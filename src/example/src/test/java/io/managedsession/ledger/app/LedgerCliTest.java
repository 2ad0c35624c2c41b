package io.managedsession.ledger.app;

import static io.managedsession.support.SecondConnection.queryLong;
import static org.assertj.core.api.Assertions.assertThat;

import java.io.PrintWriter;
import java.io.StringWriter;
import java.util.ArrayList;
import java.util.List;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import picocli.CommandLine;

import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/** The CLI's commands run in-process against the test database (the packaged jar is tested by LedgerJarIT). */
@DatabaseTest
class LedgerCliTest {

    private final TestDatabase db;

    LedgerCliTest(TestDatabase db) {
        this.db = db;
    }

    record Run(int exitCode, String out, String err) {
    }

    private Run run(String... args) {
        List<String> all = new ArrayList<>(List.of(args));
        if (!all.contains("--help") && all.size() > 0 && !all.get(0).equals("help")) {
            all.add("--database-url=" + db.jdbcUrl());
            if (db.username() != null) {
                all.add("--database-user=" + db.username());
            }
            if (db.password() != null) {
                all.add("--database-password=" + db.password());
            }
        }
        StringWriter out = new StringWriter();
        StringWriter err = new StringWriter();
        CommandLine commandLine = LedgerCli.commandLine();
        commandLine.setOut(new PrintWriter(out, true));
        commandLine.setErr(new PrintWriter(err, true));
        int exitCode = commandLine.execute(all.toArray(String[]::new));
        return new Run(exitCode, out.toString(), err.toString());
    }

    private static long idIn(String line) {
        return Long.parseLong(line.replaceAll("^Opened account (\\d+).*\\s*$", "$1").trim());
    }

    @Test
    void offlineCommandsOpenDepositTransferAndReport() {
        Run opened = run("open-account", "--owner", "dora", "--initial-balance", "100.00");
        Run openedToo = run("open-account", "--owner", "eve");
        long dora = idIn(opened.out());
        long eve = idIn(openedToo.out());

        Run deposit = run("deposit", "--account", String.valueOf(eve), "--amount", "2.5");
        Run transfer = run("transfer", "--from", String.valueOf(dora), "--to", String.valueOf(eve), "--amount", "10",
                "--idempotency-key", "cli-1");
        Run replay = run("transfer", "--from", String.valueOf(dora), "--to", String.valueOf(eve), "--amount", "10",
                "--idempotency-key", "cli-1");
        Run balance = run("balance", String.valueOf(dora), String.valueOf(eve));
        Run all = run("balance");
        Run history = run("history", "--account", String.valueOf(eve));

        assertThat(List.of(opened, openedToo, deposit, transfer, replay, balance, all, history))
                .extracting(Run::exitCode).containsOnly(0);
        assertThat(opened.out()).contains("for dora with 100.00");
        assertThat(deposit.out()).contains("Deposited 2.50 into account " + eve + "; balance 2.50");
        assertThat(transfer.out()).startsWith("Transferred 10.00 from account " + dora);
        assertThat(replay.out()).startsWith("Already transferred 10.00");
        assertThat(balance.out()).contains("account " + dora + ": 90.00").contains("account " + eve + ": 12.50");
        assertThat(all.out()).contains("invariant (sum of balances = sum of history): holds");
        assertThat(history.out()).contains("2 entries").contains("10.00  transfer ");
    }

    @Test
    void refusalsAndBadArgumentsExitNonZeroWithAClearMessage() {
        long frank = idIn(run("open-account", "--owner", "frank", "--initial-balance", "1.00").out());

        Run unknown = run("balance", "987654321");
        Run insufficient = run("transfer", "--from", String.valueOf(frank), "--to",
                String.valueOf(idIn(run("open-account", "--owner", "gina").out())), "--amount", "5");
        Run badAmount = run("deposit", "--account", String.valueOf(frank), "--amount", "12.345");
        Run notAnAmount = run("deposit", "--account", String.valueOf(frank), "--amount", "lots");
        Run negative = run("deposit", "--account", String.valueOf(frank), "--amount", "-3");
        Run missing = run("deposit", "--amount", "3");
        Run unknownCommand = run("withdraw");

        assertThat(unknown.exitCode()).isEqualTo(LedgerCli.EXIT_REFUSED);
        assertThat(unknown.err()).contains("refused: Account 987654321 does not exist");
        assertThat(insufficient.exitCode()).isEqualTo(LedgerCli.EXIT_REFUSED);
        assertThat(insufficient.err()).contains("has 100 but the transfer needs 500");
        assertThat(badAmount.exitCode()).isEqualTo(LedgerCli.EXIT_USAGE);
        assertThat(badAmount.err()).contains("'12.345' has more than two decimal places");
        assertThat(notAnAmount.exitCode()).isEqualTo(LedgerCli.EXIT_USAGE);
        assertThat(notAnAmount.err()).contains("'lots' is not an amount");
        assertThat(negative.exitCode()).isEqualTo(LedgerCli.EXIT_USAGE);
        assertThat(negative.err()).contains("amount must be positive, but was -300");
        assertThat(missing.exitCode()).isEqualTo(LedgerCli.EXIT_USAGE);
        assertThat(missing.err()).contains("Missing required option: '--account");
        assertThat(unknownCommand.exitCode()).isEqualTo(LedgerCli.EXIT_USAGE);
        assertThat(unknownCommand.err()).contains("Unmatched argument");
        assertThat(queryLong(db, "SELECT abalance FROM accounts WHERE aid = ?", frank)).isEqualTo(100);
    }

    @ParameterizedTest
    @ValueSource(strings = {"migrate", "demo", "open-account", "deposit", "transfer", "balance", "history", "serve"})
    void everyCommandHasHelp(String command) {
        Run help = run(command, "--help");

        assertThat(help.exitCode()).isZero();
        assertThat(help.out()).contains("Usage: ledger " + command).contains("--database-url").contains("--data-dir");
    }
}
