package io.managedsession.internal;

import java.time.Duration;
import java.util.concurrent.ScheduledFuture;
import java.util.concurrent.ScheduledThreadPoolExecutor;
import java.util.concurrent.TimeUnit;

import org.slf4j.Logger;
import org.slf4j.LoggerFactory;

import io.managedsession.SessionManager;

/**
 * Reports, once, a transaction that is still open after a threshold, with the stack trace of where it began: what
 * HikariCP's leak detection does for connections, at the level of the unit of work a user can act on.
 *
 * <p>The origin is captured only when detection is on; a single daemon thread per SessionManager fires the reports.
 */
final class LeakDetector {

    private static final Logger log = LoggerFactory.getLogger(SessionManager.class);

    private final Duration threshold;
    private final String managerName;
    private final ScheduledThreadPoolExecutor timer;

    LeakDetector(Duration threshold, String managerName) {
        this.threshold = threshold;
        this.managerName = managerName;
        this.timer = new ScheduledThreadPoolExecutor(1, runnable -> {
            Thread thread = new Thread(runnable, "managed-session-leak-detector-" + managerName);
            thread.setDaemon(true);
            return thread;
        });
        timer.setRemoveOnCancelPolicy(true);
    }

    /** Starts watching a transaction that begins now on the calling thread. */
    Watch watch(String labelText) {
        Watch watch = new Watch(labelText, Thread.currentThread(), System.nanoTime(),
                new Throwable("The transaction began here"));
        watch.report = timer.schedule(watch::report, threshold.toNanos(), TimeUnit.NANOSECONDS);
        return watch;
    }

    void close() {
        timer.shutdownNow();
    }

    /** One watched transaction. */
    final class Watch {

        private final String labelText;
        private final Thread thread;
        private final long startNanos;
        private final Throwable origin;
        private volatile ScheduledFuture<?> report;
        private volatile boolean reported;

        private Watch(String labelText, Thread thread, long startNanos, Throwable origin) {
            this.labelText = labelText;
            this.thread = thread;
            this.startNanos = startNanos;
            this.origin = origin;
        }

        private void report() {
            reported = true;
            log.warn("Transaction{} of SessionManager '{}' on thread {} has been open for more than {} ms"
                    + " (leakDetectionThreshold): it may be stuck or leaked", labelText, managerName,
                    MessageParts.thread(thread), threshold.toMillis(), origin);
        }

        /** The transaction ended. */
        void ended() {
            report.cancel(false);
            if (reported) {
                log.info("Transaction{} of SessionManager '{}' reported as possibly leaked has ended after {} ms",
                        labelText, managerName, TimeUnit.NANOSECONDS.toMillis(System.nanoTime() - startNanos));
            }
        }
    }
}
