package io.managedsession.ledger.app;

import java.io.PrintWriter;
import java.net.InetSocketAddress;
import java.nio.file.Path;
import java.time.Duration;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.List;
import java.util.UUID;
import java.util.concurrent.CountDownLatch;

import org.jooq.exception.DataAccessException;

import picocli.CommandLine.Command;
import picocli.CommandLine.Model.CommandSpec;
import picocli.CommandLine.Option;
import picocli.CommandLine.Parameters;
import picocli.CommandLine.ScopeType;
import picocli.CommandLine.Spec;
import picocli.CommandLine;

import io.managedsession.ConnectionUnavailableException;
import io.managedsession.SessionException;
import io.managedsession.SessionManager;
import io.managedsession.TransactionOptions;
import io.managedsession.ledger.Accounts.Account;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.Audits;
import io.managedsession.ledger.Entry;
import io.managedsession.ledger.LedgerException;
import io.managedsession.ledger.Transfer;
import io.managedsession.ledger.Transfers;

/**
 * The ledger application: {@code java -jar ledger.jar <command>}. Offline commands each run one SessionManager
 * transaction and exit; {@code serve} runs the HTTP service until it is stopped (Ctrl-C or SIGTERM), then shuts down
 * gracefully.
 *
 * <p>Exit codes: 0 done, 1 refused by the ledger (unknown account, insufficient funds), 2 bad command line or
 * argument, 3 database unavailable or failed, 4 unexpected error.
 */
@Command(name = "ledger", mixinStandardHelpOptions = true, version = "ledger (managed-session example) 0.1",
        description = "The managed-session example ledger: one SessionManager serving offline commands and an online"
                + " HTTP service.%nWith no --database-url it runs an embedded PostgreSQL 18 whose data stays in"
                + " --data-dir between runs.",
        subcommands = CommandLine.HelpCommand.class)
public final class LedgerCli {

    static final int EXIT_REFUSED = 1;
    static final int EXIT_USAGE = 2;
    static final int EXIT_DATABASE = 3;
    static final int EXIT_UNEXPECTED = 4;

    @Spec
    CommandSpec spec;

    @Option(names = "--database-url", scope = ScopeType.INHERIT, paramLabel = "JDBC_URL",
            description = "A PostgreSQL JDBC URL to use instead of the embedded server (also: environment variable "
                    + "MANAGEDSESSION_DATABASE_URL).")
    String databaseUrl;

    @Option(names = "--database-user", scope = ScopeType.INHERIT, paramLabel = "USER",
            description = "The user for --database-url (also: MANAGEDSESSION_DATABASE_USERNAME).")
    String databaseUser;

    @Option(names = "--database-password", scope = ScopeType.INHERIT, paramLabel = "PASSWORD", interactive = false,
            description = "The password for --database-url; prefer the environment variable "
                    + "MANAGEDSESSION_DATABASE_PASSWORD, which does not show in the process list.")
    String databasePassword;

    @Option(names = "--data-dir", scope = ScopeType.INHERIT, paramLabel = "DIR",
            description = "Where the embedded PostgreSQL keeps its data (default: ${DEFAULT-VALUE}, or the "
                    + "environment variable LEDGER_DATA_DIR).")
    Path dataDirectory = LedgerDatabase.defaultDataDirectory();

    /**
     * Runs the application.
     *
     * @param args the command line
     */
    public static void main(String[] args) {
        System.setProperty("org.jooq.no-logo", "true");
        System.setProperty("org.jooq.no-tips", "true");
        System.exit(commandLine().execute(args));
    }

    /** The configured command line, also used by tests to run commands in-process. */
    static CommandLine commandLine() {
        CommandLine commandLine = new CommandLine(new LedgerCli());
        commandLine.setExecutionExceptionHandler(LedgerCli::handleFailure);
        commandLine.setExitCodeExceptionMapper(failure -> EXIT_UNEXPECTED);
        commandLine.setParameterExceptionHandler((failure, args) -> {
            CommandLine failed = failure.getCommandLine();
            failed.getErr().println("error: " + failure.getMessage());
            failed.getErr().println("Run '" + failed.getCommandSpec().qualifiedName() + " --help' for usage.");
            return EXIT_USAGE;
        });
        return commandLine;
    }

    private static int handleFailure(Exception failure, CommandLine commandLine, CommandLine.ParseResult parsed) {
        PrintWriter err = commandLine.getErr();
        if (failure instanceof LedgerException refused) {
            err.println("refused: " + refused.getMessage());
            return EXIT_REFUSED;
        }
        if (failure instanceof IllegalArgumentException invalid) {
            err.println("error: " + invalid.getMessage());
            return EXIT_USAGE;
        }
        if (failure instanceof ConnectionUnavailableException || failure instanceof SessionException
                || failure instanceof DataAccessException) {
            err.println("database error: " + failure.getMessage());
            return EXIT_DATABASE;
        }
        err.println("unexpected error: " + failure);
        failure.printStackTrace(err);
        return EXIT_UNEXPECTED;
    }

    // ---------------------------------------------------------------------------------------------------------------
    // Commands
    // ---------------------------------------------------------------------------------------------------------------

    @Command(name = "migrate", mixinStandardHelpOptions = true,
            description = "Apply the ledger's database migrations and exit.")
    int migrate() {
        try (LedgerDatabase database = open(2)) {
            out().println("Database migrated: " + database.database());
            return 0;
        }
    }

    @Command(name = "demo", mixinStandardHelpOptions = true,
            description = "Open two accounts, move money, show a refused transfer rolling back and a concurrent burst,"
                    + " then print the balances and check that no money was made or lost.")
    int demo() throws Exception {
        try (LedgerDatabase database = open(8)) {
            out().println("Database: " + database.database());
            boolean holds = Demo.run(database.sessions(), out());
            return holds ? 0 : EXIT_UNEXPECTED;
        }
    }

    @Command(name = "open-account", mixinStandardHelpOptions = true, description = "Open an account.")
    int openAccount(
            @Option(names = "--owner", required = true, description = "The owner's name.") String owner,
            @Option(names = "--initial-balance", defaultValue = "0", paramLabel = "AMOUNT",
                    converter = AmountConverter.class, description = "The opening balance, like 100.00.")
            long initialBalance) {
        try (LedgerDatabase database = open(2)) {
            long id = database.sessions().transactionResult(ctx -> Accounts.open(ctx, owner, initialBalance));
            out().printf("Opened account %d for %s with %s%n", id, owner, Money.format(initialBalance));
            return 0;
        }
    }

    @Command(name = "deposit", mixinStandardHelpOptions = true, description = "Pay money into an account.")
    int deposit(
            @Option(names = "--account", required = true, description = "The account id.") long account,
            @Option(names = "--amount", required = true, converter = AmountConverter.class, paramLabel = "AMOUNT",
                    description = "The amount, like 12.50.") long amount) {
        try (LedgerDatabase database = open(2)) {
            long balance = database.sessions().transactionResult(ctx -> Accounts.deposit(ctx, account, amount));
            out().printf("Deposited %s into account %d; balance %s%n", Money.format(amount), account,
                    Money.format(balance));
            return 0;
        }
    }

    @Command(name = "transfer", mixinStandardHelpOptions = true,
            description = "Move money between two accounts, once per idempotency key.")
    int transfer(
            @Option(names = "--from", required = true, description = "The account to debit.") long from,
            @Option(names = "--to", required = true, description = "The account to credit.") long to,
            @Option(names = "--amount", required = true, converter = AmountConverter.class, paramLabel = "AMOUNT",
                    description = "The amount, like 12.50.") long amount,
            @Option(names = "--idempotency-key", paramLabel = "KEY",
                    description = "Run the command again with the same key and no money moves twice"
                            + " (default: a new random key).") String key) {
        String idempotencyKey = key != null ? key : UUID.randomUUID().toString();
        try (LedgerDatabase database = open(2)) {
            Transfer transfer = database.sessions().transactionResult(TransactionOptions.builder().maxAttempts(3)
                    .label("cli-transfer").build(), ctx -> Transfers.transfer(ctx, from, to, amount, idempotencyKey));
            out().printf("%s %s from account %d to account %d (transfer %s, key %s)%n",
                    transfer.replayed() ? "Already transferred" : "Transferred", Money.format(transfer.amount()),
                    transfer.fromAccount(), transfer.toAccount(), transfer.id(), transfer.idempotencyKey());
            return 0;
        }
    }

    @Command(name = "balance", mixinStandardHelpOptions = true,
            description = "Print balances: of the accounts given, or of all accounts with the total and the"
                    + " ledger's invariant check.")
    int balance(@Parameters(paramLabel = "ACCOUNT", arity = "0..*", description = "Account ids.") List<Long> ids,
            @Option(names = "--limit", defaultValue = "100", description = "At most this many accounts when none"
                    + " are given (default: ${DEFAULT-VALUE}).") int limit) {
        try (LedgerDatabase database = open(2)) {
            SessionManager sessions = database.sessions();
            sessions.transaction(TransactionOptions.readOnly(), ctx -> {
                if (ids != null && !ids.isEmpty()) {
                    for (long id : ids) {
                        out().printf("account %d: %s%n", id, Money.format(Accounts.balance(ctx, id)));
                    }
                    return;
                }
                for (Account account : Accounts.list(ctx, limit)) {
                    out().printf("account %d (%s): %s%n", account.id(), account.owner(),
                            Money.format(account.balance()));
                }
                Audits.Audit audit = Audits.audit(ctx);
                out().printf("%d accounts, total %s; invariant (sum of balances = sum of history): %s%n",
                        audit.accounts(), Money.format(audit.totalBalance().longValueExact()),
                        audit.holds() ? "holds" : "BROKEN");
            });
            return 0;
        }
    }

    @Command(name = "history", mixinStandardHelpOptions = true, description = "Print an account's balance changes,"
            + " newest first.")
    int history(@Option(names = "--account", required = true, description = "The account id.") long account,
            @Option(names = "--limit", defaultValue = "20", description = "At most this many entries"
                    + " (default: ${DEFAULT-VALUE}).") int limit) {
        try (LedgerDatabase database = open(2)) {
            List<Entry> entries = database.sessions().transactionResult(TransactionOptions.readOnly(),
                    ctx -> Accounts.history(ctx, account, limit));
            for (Entry entry : entries) {
                out().printf("%s %12s%s%n", entry.at(), Money.format(entry.delta()),
                        entry.transferId() == null ? "" : "  transfer " + entry.transferId());
            }
            out().printf("%d entries%n", entries.size());
            return 0;
        }
    }

    @Command(name = "serve", mixinStandardHelpOptions = true,
            description = "Run the HTTP service until stopped (Ctrl-C or SIGTERM): stop accepting, finish the"
                    + " requests in flight, close the pool, stop the database.")
    int serve(
            @Option(names = "--port", defaultValue = "8080", description = "The port; 0 picks a free one"
                    + " (default: ${DEFAULT-VALUE}).") int port,
            @Option(names = "--bind", defaultValue = "127.0.0.1", description = "The address to listen on"
                    + " (default: ${DEFAULT-VALUE}).") String bind,
            @Option(names = "--pool-size", defaultValue = "16", description = "Database connections"
                    + " (default: ${DEFAULT-VALUE}).") int poolSize) throws Exception {
        if (port < 0 || port > 65_535) {
            throw new IllegalArgumentException("--port must be between 0 and 65535, but was " + port);
        }
        Deque<AutoCloseable> shutdown = new ArrayDeque<>();
        CountDownLatch stopped = new CountDownLatch(1);
        // No hook of the database's own: this one stops the server before the database, in that order.
        LedgerDatabase database = LedgerDatabase.open(databaseUrl, databaseUser, databasePassword, dataDirectory,
                poolSize, false);
        shutdown.push(database);
        LedgerServer server = LedgerServer.start(database.sessions(), new InetSocketAddress(bind, port),
                Duration.ofSeconds(10));
        shutdown.push(server);
        Thread hook = new Thread(() -> {
            closeAll(shutdown);
            stopped.countDown();
        }, "ledger-shutdown");
        Runtime.getRuntime().addShutdownHook(hook);
        out().printf("Listening on http://%s:%d (database: %s)%n", bind, server.port(), database.database());
        out().flush();
        stopped.await();
        return 0;
    }

    // ---------------------------------------------------------------------------------------------------------------

    /** Opens the database for a one-shot command; Ctrl-C during the command still stops it cleanly. */
    private LedgerDatabase open(int poolSize) {
        return LedgerDatabase.open(databaseUrl, databaseUser, databasePassword, dataDirectory, poolSize, true);
    }

    private PrintWriter out() {
        return spec.commandLine().getOut();
    }

    private static void closeAll(Deque<AutoCloseable> resources) {
        while (!resources.isEmpty()) {
            try {
                resources.pop().close();
            } catch (Exception e) {
                System.err.println("error while shutting down: " + e);
            }
        }
    }

    /** Parses amounts like {@code 12.34} into minor units, with picocli's error reporting. */
    static final class AmountConverter implements CommandLine.ITypeConverter<Long> {
        @Override
        public Long convert(String value) {
            try {
                return Money.parse(value);
            } catch (IllegalArgumentException e) {
                throw new CommandLine.TypeConversionException(e.getMessage());
            }
        }
    }
}
