package io.managedsession.ledger.app;

import java.io.PrintWriter;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;

import io.managedsession.SessionManager;
import io.managedsession.ledger.Accounts;
import io.managedsession.ledger.Audits;
import io.managedsession.ledger.InsufficientFundsException;
import io.managedsession.ledger.Transfers;

/**
 * The {@code demo} command: opens two accounts, moves money, shows a refused transfer rolling back, runs a concurrent
 * burst on virtual threads, and checks that no money was made or lost.
 */
final class Demo {

    private Demo() {
    }

    /**
     * Runs the demo with {@code sessions}, printing to {@code out}.
     *
     * @param sessions a SessionManager on a migrated ledger database
     * @param out      where the demo reports what it does
     * @return whether the ledger's invariant holds at the end and the two new accounts still hold 150.00
     * @throws Exception when a worker of the concurrent burst fails
     */
    static boolean run(SessionManager sessions, PrintWriter out) throws Exception {
        long alice = sessions.transactionResult(ctx -> Accounts.open(ctx, "alice", 100_00));
        long bob = sessions.transactionResult(ctx -> Accounts.open(ctx, "bob", 50_00));
        out.printf("Opened account %d (alice, 100.00) and %d (bob, 50.00)%n", alice, bob);

        sessions.transaction(ctx -> Transfers.transfer(ctx, alice, bob, 25_00, "demo-" + alice + "-1"));
        out.println("Transferred 25.00 from alice to bob");

        try {
            sessions.transaction(ctx -> {
                Accounts.deposit(ctx, bob, 1_00);
                Transfers.transfer(ctx, bob, alice, 1_000_00, "demo-" + alice + "-2");
            });
        } catch (InsufficientFundsException refused) {
            out.println("Refused and rolled back (the 1.00 deposit in the same transaction too): "
                    + refused.getMessage());
        }

        int burst = burst(sessions, alice, bob);
        out.printf("Concurrent burst: %d transfers on 16 virtual threads%n", burst);

        long aliceBalance = sessions.transactionResult(ctx -> Accounts.balance(ctx, alice));
        long bobBalance = sessions.transactionResult(ctx -> Accounts.balance(ctx, bob));
        out.printf("Balances: alice %s, bob %s, together %s%n", Money.format(aliceBalance), Money.format(bobBalance),
                Money.format(aliceBalance + bobBalance));
        Audits.Audit audit = sessions.transactionResult(Audits::audit);
        out.printf("Invariant (sum of balances = sum of history) over %d accounts: %s%n", audit.accounts(),
                audit.holds() ? "holds" : "BROKEN " + audit);
        return audit.holds() && aliceBalance + bobBalance == 150_00;
    }

    /** Sixteen virtual threads moving small amounts back and forth between the two accounts. */
    private static int burst(SessionManager sessions, long alice, long bob) throws Exception {
        AtomicInteger done = new AtomicInteger();
        List<Future<?>> workers = new ArrayList<>();
        try (ExecutorService threads = Executors.newVirtualThreadPerTaskExecutor()) {
            for (int worker = 0; worker < 16; worker++) {
                int id = worker;
                workers.add(threads.submit(() -> {
                    for (int i = 0; i < 10; i++) {
                        boolean forward = ThreadLocalRandom.current().nextBoolean();
                        long amount = 1 + ThreadLocalRandom.current().nextInt(1_00);
                        String key = "demo-burst-" + alice + "-" + id + "-" + i;
                        try {
                            sessions.transaction(ctx -> Transfers.transfer(ctx, forward ? alice : bob,
                                    forward ? bob : alice, amount, key));
                            done.incrementAndGet();
                        } catch (InsufficientFundsException ignored) {
                            // A refused transfer changes nothing; the burst goes on.
                        }
                    }
                    return null;
                }));
            }
            for (Future<?> worker : workers) {
                worker.get();
            }
        }
        return done.get();
    }
}
