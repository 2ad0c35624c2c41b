package io.managedsession;

import static org.assertj.core.api.Assertions.assertThat;
import static org.awaitility.Awaitility.await;

import java.time.Duration;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.Queue;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;

import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.ValueSource;

import io.managedsession.support.Managers;
import io.managedsession.testing.DatabaseTest;
import io.managedsession.testing.TestDatabase;

/**
 * With more threads than connections, an owned pool serves transactions first come, first served (the default
 * {@code fairConnectionQueue(true)}): a thread that returns a connection and asks again queues behind the threads
 * already waiting, platform and virtual threads alike, and waiting threads are served in the order they came. Each
 * waiter is seen parked in the queue before the next one starts, so the order of arrival is certain. The first two
 * would pass with a queue that lets a returning thread barge too, since its window is short; the third holds every
 * turn until another thread is seen waiting, and fails with a non-fair semaphore.
 */
@DatabaseTest(migrations = {})
class FairConnectionQueueTest {

    private static final Duration PATIENCE = Duration.ofSeconds(30);

    private final Queue<Throwable> failures = new ConcurrentLinkedQueue<>();

    @ParameterizedTest(name = "{0} threads")
    @ValueSource(strings = {"platform", "virtual"})
    void aThreadThatReturnsTheConnectionAndAsksAgainQueuesBehindTheThreadAlreadyWaiting(String kind, TestDatabase db)
            throws Exception {
        try (SessionManager sessions = Managers.on(db).name("fair").maximumPoolSize(1).build()) {
            Queue<String> served = new ConcurrentLinkedQueue<>();
            CountDownLatch firstInside = new CountDownLatch(1);
            CountDownLatch waiterQueued = new CountDownLatch(1);
            Thread returning = start(threads(kind).name("returning"), () -> {
                sessions.transaction(ctx -> {
                    served.add("returning, first");
                    firstInside.countDown();
                    waiterQueued.await();
                });
                // At once, without a pause: HikariCP alone would hand this thread its connection back.
                sessions.transaction(ctx -> {
                    served.add("returning, again");
                });
            });
            assertThat(firstInside.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            Thread waiting = startQueued(sessions, threads(kind).name("waiting"), served);
            waiterQueued.countDown();

            join(returning, waiting);
            assertThat(served).containsExactly("returning, first", "waiting", "returning, again");
            db.assertNothingLeaked(sessions);
        }
    }

    @Test
    void waitingThreadsAreServedInTheOrderTheyCame(TestDatabase db) throws Exception {
        try (SessionManager sessions = Managers.on(db).name("fair").maximumPoolSize(1).build()) {
            Queue<String> served = new ConcurrentLinkedQueue<>();
            CountDownLatch holderInside = new CountDownLatch(1);
            CountDownLatch allQueued = new CountDownLatch(1);
            Thread holder = start("holder", () -> sessions.transaction(ctx -> {
                holderInside.countDown();
                allQueued.await();
            }));
            assertThat(holderInside.await(PATIENCE.toSeconds(), TimeUnit.SECONDS)).isTrue();
            List<Thread> waiters = new ArrayList<>();
            List<String> arrival = new ArrayList<>();
            for (int i = 1; i <= 5; i++) {
                arrival.add("waiter " + i);
                waiters.add(startQueued(sessions, Thread.ofPlatform().name("waiter " + i), served));
            }
            allQueued.countDown();

            join(holder);
            join(waiters.toArray(Thread[]::new));
            assertThat(served).containsExactlyElementsOf(arrival);
            db.assertNothingLeaked(sessions);
        }
    }

    @ParameterizedTest(name = "{0} threads")
    @ValueSource(strings = {"platform", "virtual"})
    void noThreadTakesTwoTurnsInARowWhileAnotherWaits(String kind, TestDatabase db) throws Exception {
        int threads = 3;
        int turns = 30;
        try (SessionManager sessions = Managers.on(db).name("fair").maximumPoolSize(1).build()) {
            Queue<String> served = new ConcurrentLinkedQueue<>();
            Queue<String> turnsWithAWaiter = new ConcurrentLinkedQueue<>();
            List<Thread> workers = new ArrayList<>();
            CountDownLatch go = new CountDownLatch(1);
            for (int i = 1; i <= threads; i++) {
                String name = "worker " + i;
                workers.add(start(threads(kind).name(name), () -> {
                    go.await();
                    for (int turn = 0; turn < turns; turn++) {
                        String id = name + " #" + turn;
                        sessions.transaction(ctx -> {
                            served.add(name);
                            ctx.fetchValue("SELECT 1");
                            // Hold the connection until another worker queues for it (or none is left to), so
                            // that the next turn is certain to be contested.
                            if (awaitAnotherWaiter(workers, Thread.currentThread())) {
                                turnsWithAWaiter.add(id);
                            }
                        });
                    }
                }));
            }
            go.countDown();
            join(workers.toArray(Thread[]::new));

            List<String> order = List.copyOf(served);
            assertThat(order).hasSize(threads * turns);
            assertThat(turnsWithAWaiter).as("contested turns").hasSizeGreaterThan(turns);
            List<String> repeats = new ArrayList<>();
            int[] turnOf = new int[threads + 1];
            for (int k = 0; k + 1 < order.size(); k++) {
                String name = order.get(k);
                int worker = Integer.parseInt(name.substring("worker ".length()));
                String id = name + " #" + turnOf[worker]++;
                if (turnsWithAWaiter.contains(id) && order.get(k + 1).equals(name)) {
                    repeats.add(id);
                }
            }
            assertThat(repeats).as("turns after which the same thread went again although another was waiting")
                    .isEmpty();
            db.assertNothingLeaked(sessions);
        }
    }

    /**
     * Waits until a worker other than {@code self} waits in the admission queue; false when all the others have
     * finished instead.
     */
    private static boolean awaitAnotherWaiter(List<Thread> workers, Thread self) {
        long giveUp = System.nanoTime() + PATIENCE.toNanos();
        while (System.nanoTime() < giveUp) {
            boolean othersAlive = false;
            for (Thread worker : List.copyOf(workers)) {
                if (worker != self && worker.isAlive()) {
                    othersAlive = true;
                    if (waitsForAdmission(worker)) {
                        return true;
                    }
                }
            }
            if (!othersAlive) {
                return false;
            }
            Thread.onSpinWait();
        }
        throw new AssertionError("no other worker queued within " + PATIENCE);
    }

    /** Starts a transaction on a thread of its own and returns once that thread waits in the manager's queue. */
    private Thread startQueued(SessionManager sessions, Thread.Builder builder, Queue<String> served) {
        Thread thread = start(builder, () -> sessions.transaction(ctx -> {
            served.add(Thread.currentThread().getName());
        }));
        await().atMost(PATIENCE).until(() -> waitsForAdmission(thread));
        return thread;
    }

    /** Whether {@code thread} is parked in the admission queue's semaphore, waiting for a connection. */
    private static boolean waitsForAdmission(Thread thread) {
        return thread.getState() == Thread.State.TIMED_WAITING && Arrays.stream(thread.getStackTrace())
                .anyMatch(frame -> frame.getClassName().equals("java.util.concurrent.Semaphore"));
    }

    /** Platform threads, or virtual ones, whose parked waiters the JDK's scheduler rather than the OS wakes. */
    private static Thread.Builder threads(String kind) {
        return kind.equals("virtual") ? Thread.ofVirtual() : Thread.ofPlatform();
    }

    private Thread start(String name, Work work) {
        return start(Thread.ofPlatform().name(name), work);
    }

    private Thread start(Thread.Builder builder, Work work) {
        return builder.start(() -> {
            try {
                work.run();
            } catch (Throwable e) {
                failures.add(e);
            }
        });
    }

    private void join(Thread... threads) throws InterruptedException {
        for (Thread thread : threads) {
            thread.join(PATIENCE);
            assertThat(thread.isAlive()).as("%s finished", thread.getName()).isFalse();
        }
        assertThat(failures).as("failures on the threads").isEmpty();
    }

    private interface Work {
        void run() throws Exception;
    }
}
