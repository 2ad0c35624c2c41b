package io.managedsession;

import java.time.Duration;
import java.util.Objects;
import java.util.Optional;
import java.util.function.Predicate;

import io.managedsession.internal.PrintableAscii;
import io.managedsession.internal.SqlStates;

/**
 * How a transaction runs: propagation, isolation, read-only, deadline, retries and a label. Immutable; build one with
 * {@link #builder()}, start from a preset ({@link #defaults()}, {@link #readOnly()}, {@link #serializable()}) or change
 * one with {@link #toBuilder()}. Instances are thread safe and meant to be kept in constants.
 *
 * <pre>{@code
 * static final TransactionOptions TRANSFER = TransactionOptions.serializable().toBuilder()
 *         .maxAttempts(5)
 *         .deadline(Duration.ofSeconds(2))
 *         .label("transfer")
 *         .build();
 * }</pre>
 *
 * <p><b>Retries run the callback again from the start.</b> With {@code maxAttempts} above one, a callback whose
 * transaction fails with a retryable error (by default a serialization failure, SQLSTATE {@code 40001}, a deadlock,
 * {@code 40P01}, a connection lost before COMMIT, or a statement prepared before DDL changed its result: see
 * {@link #isTransientFailure(Throwable)}) runs again in a new
 * transaction, so it must be safe to run more than once: no side effects outside the database (use
 * {@link SessionManager#afterCommit(Runnable)} for those), no state carried over from the failed attempt.
 * Only the transaction that begins is retried, never a call that joined a running one; deadline and retries of a
 * joined call are those of the transaction it joins.
 */
public final class TransactionOptions {

    /** The most attempts a transaction may have. */
    public static final int MAX_ATTEMPTS = 100;

    /** The longest label: PostgreSQL's limit for {@code application_name}. */
    public static final int MAX_LABEL_LENGTH = 63;

    private static final Duration DEFAULT_INITIAL_BACKOFF = Duration.ofMillis(10);
    private static final Duration DEFAULT_MAX_BACKOFF = Duration.ofSeconds(1);
    private static final Predicate<Throwable> TRANSIENT_FAILURE = TransactionOptions::isTransientFailure;

    private static final TransactionOptions DEFAULTS = builder().build();
    private static final TransactionOptions READ_ONLY = builder().readOnly(true).build();
    private static final TransactionOptions SERIALIZABLE = builder().isolation(Isolation.SERIALIZABLE).maxAttempts(3)
            .build();

    private final Propagation propagation;
    private final Isolation isolation;
    private final Boolean readOnly;
    private final Duration deadline;
    private final int maxAttempts;
    private final Predicate<Throwable> retryOn;
    private final Duration initialBackoff;
    private final Duration maxBackoff;
    private final String label;
    private final CommitPosition notBefore;
    private final boolean deferrable;
    private final Boolean resolveCommitOutcome;

    private TransactionOptions(Builder builder) {
        this.propagation = builder.propagation;
        this.isolation = builder.isolation;
        this.readOnly = builder.readOnly;
        this.deadline = builder.deadline;
        this.maxAttempts = builder.maxAttempts;
        this.retryOn = builder.retryOn;
        this.initialBackoff = builder.initialBackoff;
        this.maxBackoff = builder.maxBackoff;
        this.label = builder.label;
        this.notBefore = builder.notBefore;
        this.deferrable = builder.deferrable;
        this.resolveCommitOutcome = builder.resolveCommitOutcome;
    }

    /**
     * Returns the defaults: {@link Propagation#REQUIRED}, the database's isolation and access mode, no deadline, one
     * attempt.
     *
     * @return the default options
     */
    public static TransactionOptions defaults() {
        return DEFAULTS;
    }

    /**
     * Returns the defaults with a read-only transaction: PostgreSQL refuses every write in it (SQLSTATE
     * {@code 25006}).
     *
     * @return read-only options
     */
    public static TransactionOptions readOnly() {
        return READ_ONLY;
    }

    /**
     * Returns SERIALIZABLE isolation with up to three attempts, for work whose correctness depends on serializability
     * (the callback must be safe to run again; see the class documentation).
     *
     * @return serializable options with retries
     */
    public static TransactionOptions serializable() {
        return SERIALIZABLE;
    }

    /**
     * Starts building options from the defaults.
     *
     * @return a new builder
     */
    public static Builder builder() {
        return new Builder();
    }

    /**
     * Starts building options from these.
     *
     * @return a new builder holding these options' values
     */
    public Builder toBuilder() {
        Builder builder = new Builder();
        builder.propagation = propagation;
        builder.isolation = isolation;
        builder.readOnly = readOnly;
        builder.deadline = deadline;
        builder.maxAttempts = maxAttempts;
        builder.retryOn = retryOn;
        builder.initialBackoff = initialBackoff;
        builder.maxBackoff = maxBackoff;
        builder.label = label;
        builder.notBefore = notBefore;
        builder.deferrable = deferrable;
        builder.resolveCommitOutcome = resolveCommitOutcome;
        return builder;
    }

    /**
     * Whether a serialization failure (SQLSTATE {@code 40001}) or a deadlock ({@code 40P01}) is anywhere in the cause
     * chain. Public so that a custom rule can build on it:
     * {@code retryOn(t -> isSerializationFailureOrDeadlock(t) || t instanceof MyTransientException)}.
     *
     * @param failure what the transaction failed with
     * @return whether it is a serialization failure or a deadlock
     */
    public static boolean isSerializationFailureOrDeadlock(Throwable failure) {
        return SqlStates.isSerializationFailureOrDeadlock(failure);
    }

    /**
     * The retry rule used unless {@link Builder#retryOn(Predicate)} says otherwise: a failure after which the
     * transaction certainly did not commit and running it again may well succeed. That is a serialization failure
     * ({@code 40001}) or a deadlock ({@code 40P01}), or the connection lost while the transaction ran, before COMMIT
     * was sent (SQLSTATE class {@code 08}, or {@code 57P01} to {@code 57P03} when the server shut down or restarts):
     * the next attempt takes a fresh connection, which after a failover reaches the new primary. Also a statement the
     * driver had prepared on the server before DDL changed the type of its result ({@code 0A000}, "cached plan must
     * not change result type", say after the next release's migration altered a column while this release runs):
     * the driver prepares it again on the next attempt. A connection lost during COMMIT is a
     * {@link CommitOutcomeUnknownException}, never retried; a {@link ConnectionUnavailableException} is not transient
     * either, since it already waited the connection timeout. Nor is a session ended for idling in the transaction,
     * by the server ({@code idle_in_transaction_session_timeout}, {@code 25P03}) or by PgBouncer (its
     * {@code idle_transaction_timeout}, {@code 08P01}): that limit is on the block's own pace, which another attempt
     * would likely meet again.
     *
     * @param failure what the transaction failed with
     * @return whether running the transaction again is safe and may succeed
     */
    public static boolean isTransientFailure(Throwable failure) {
        if (failure instanceof CommitOutcomeUnknownException || failure instanceof ConnectionUnavailableException) {
            return false;
        }
        return SqlStates.isSerializationFailureOrDeadlock(failure) || SqlStates.isConnectionFailure(failure)
                || SqlStates.isStalePreparedPlan(failure);
    }

    /** @return the propagation, {@link Propagation#REQUIRED} unless set */
    public Propagation propagation() {
        return propagation;
    }

    /** @return the isolation asked for, or empty for the database's default */
    public Optional<Isolation> isolation() {
        return Optional.ofNullable(isolation);
    }

    /** @return whether a read-only transaction was asked for */
    public boolean isReadOnly() {
        return Boolean.TRUE.equals(readOnly);
    }

    /** @return {@code true} or {@code false} when the access mode was set explicitly, empty when it was left alone */
    public Optional<Boolean> readOnlySetting() {
        return Optional.ofNullable(readOnly);
    }

    /** @return the time the whole transaction, retries included, may take; empty for none */
    public Optional<Duration> deadline() {
        return Optional.ofNullable(deadline);
    }

    /** @return how many times the transaction may run, the first included: 1 means no retry */
    public int maxAttempts() {
        return maxAttempts;
    }

    /** @return which failures are retried */
    public Predicate<Throwable> retryOn() {
        return retryOn;
    }

    /** @return the cap of the first backoff; later ones double, up to {@link #maxBackoff()} */
    public Duration initialBackoff() {
        return initialBackoff;
    }

    /** @return the cap of every backoff */
    public Duration maxBackoff() {
        return maxBackoff;
    }

    /** @return the label shown in errors and logs, or empty */
    public Optional<String> label() {
        return Optional.ofNullable(label);
    }

    /**
     * @return {@code true} or {@code false} when this transaction says whether a COMMIT whose connection failed is
     *         resolved by asking the server, empty to follow the manager's
     *         {@link SessionManager.Builder#resolveCommitOutcomes(boolean)}
     */
    public Optional<Boolean> resolveCommitOutcomeSetting() {
        return Optional.ofNullable(resolveCommitOutcome);
    }

    /** @return whether a serializable read-only transaction waits for a snapshot that cannot fail (DEFERRABLE) */
    public boolean isDeferrable() {
        return deferrable;
    }

    /**
     * @return the commit a read-only transaction must see when it runs on a replica, or empty when any replica will do
     */
    public Optional<CommitPosition> notBefore() {
        return Optional.ofNullable(notBefore);
    }

    @Override
    public boolean equals(Object other) {
        return other instanceof TransactionOptions that
                && propagation == that.propagation
                && isolation == that.isolation
                && Objects.equals(readOnly, that.readOnly)
                && Objects.equals(deadline, that.deadline)
                && maxAttempts == that.maxAttempts
                && retryOn.equals(that.retryOn)
                && initialBackoff.equals(that.initialBackoff)
                && maxBackoff.equals(that.maxBackoff)
                && Objects.equals(label, that.label)
                && Objects.equals(notBefore, that.notBefore)
                && deferrable == that.deferrable
                && Objects.equals(resolveCommitOutcome, that.resolveCommitOutcome);
    }

    @Override
    public int hashCode() {
        return Objects.hash(propagation, isolation, readOnly, deadline, maxAttempts, retryOn, initialBackoff,
                maxBackoff, label, notBefore, deferrable, resolveCommitOutcome);
    }

    @Override
    public String toString() {
        StringBuilder text = new StringBuilder("TransactionOptions[").append(propagation);
        if (isolation != null) {
            text.append(", ").append(isolation);
        }
        if (readOnly != null) {
            text.append(readOnly ? ", read-only" : ", read-write");
        }
        if (deferrable) {
            text.append(", deferrable");
        }
        if (resolveCommitOutcome != null) {
            text.append(resolveCommitOutcome ? ", resolving commit outcomes" : ", not resolving commit outcomes");
        }
        if (deadline != null) {
            text.append(", deadline ").append(deadline.toMillis()).append(" ms");
        }
        if (maxAttempts > 1) {
            text.append(", up to ").append(maxAttempts).append(" attempts");
        }
        if (label != null) {
            text.append(", label '").append(label).append('\'');
        }
        if (notBefore != null) {
            text.append(", not before ").append(notBefore);
        }
        return text.append(']').toString();
    }

    /**
     * Builds {@link TransactionOptions}. Each setter checks its argument at once and names the setting, the value
     * and the bound when it refuses one; {@link #build()} refuses combinations that cannot work. Not thread safe.
     */
    public static final class Builder {

        private Propagation propagation = Propagation.REQUIRED;
        private Isolation isolation;
        private Boolean readOnly;
        private Duration deadline;
        private int maxAttempts = 1;
        private Predicate<Throwable> retryOn = TRANSIENT_FAILURE;
        private Duration initialBackoff = DEFAULT_INITIAL_BACKOFF;
        private Duration maxBackoff = DEFAULT_MAX_BACKOFF;
        private String label;
        private CommitPosition notBefore;
        private boolean deferrable;
        private Boolean resolveCommitOutcome;

        private Builder() {
        }

        /**
         * Sets the propagation (default {@link Propagation#REQUIRED}).
         *
         * @param propagation what to do when a transaction is, or is not, running
         * @return this builder
         */
        public Builder propagation(Propagation propagation) {
            this.propagation = Objects.requireNonNull(propagation, "propagation");
            return this;
        }

        /**
         * Sets the isolation level (default: the database's, normally READ COMMITTED). A call that joins a running
         * transaction with another isolation level fails, naming both.
         *
         * @param isolation the level
         * @return this builder
         */
        public Builder isolation(Isolation isolation) {
            this.isolation = Objects.requireNonNull(isolation, "isolation");
            return this;
        }

        /**
         * Makes the transaction read-only, or explicitly read-write (default: the database's access mode). A call
         * that joins a running transaction with the other access mode fails, naming both.
         *
         * @param readOnly {@code true} for read-only
         * @return this builder
         */
        public Builder readOnly(boolean readOnly) {
            this.readOnly = readOnly;
            return this;
        }

        /**
         * Makes a SERIALIZABLE read-only transaction DEFERRABLE (default {@code false}): it may wait when it begins
         * (until no serializable transaction that could conflict with it is running) and then runs on a snapshot that
         * can never fail with a serialization failure and costs the other serializable transactions nothing to track.
         * For long reports and backups under SERIALIZABLE. Only with {@code isolation(SERIALIZABLE)} and
         * {@code readOnly(true)}, which {@link #build()} checks; PostgreSQL ignores it otherwise.
         *
         * @param deferrable whether to wait for a safe snapshot
         * @return this builder
         */
        public Builder deferrable(boolean deferrable) {
            this.deferrable = deferrable;
            return this;
        }

        /**
         * Whether a COMMIT whose connection fails while it is in flight is resolved by asking the server (default: as
         * the manager's {@link SessionManager.Builder#resolveCommitOutcomes(boolean)} says). When on, a read-write
         * transaction learns its transaction id just before COMMIT (one more round trip, in the same transaction);
         * if the connection then fails during COMMIT, a fresh connection asks PostgreSQL's {@code pg_xact_status}
         * (ending the old backend first when it still holds the transaction open) within the time left to the
         * deadline. The caller gets the real outcome: the callback's result when the server committed, a retryable
         * failure when it rolled back, and {@link CommitOutcomeUnknownException} only when the server could not be
         * asked in time. A read-only transaction never pays for it: it has nothing to lose.
         *
         * @param resolve whether to ask the server
         * @return this builder
         */
        public Builder resolveCommitOutcome(boolean resolve) {
            this.resolveCommitOutcome = resolve;
            return this;
        }

        /**
         * Sets the time the whole transaction may take, retries and backoff included, counted from the call. The
         * database enforces it: {@code statement_timeout} and {@code lock_timeout} are set locally to the time left
         * when the transaction begins and again before a statement whenever they have fallen behind it, but never
         * longer than the connection's own (from its role, its database, the URL or {@code connectionInitSql}) or
         * than those the callback sets itself with {@code SET LOCAL} (after which each statement first reads what is
         * in force, a round trip of its own); the waits for a pooled connection and for the network end at the
         * deadline too. A transaction that runs past it is rolled back with a {@link TransactionTimeoutException}; a
         * lock timeout or cancellation that is not the deadline's (the connection's own limit included) reaches the
         * caller as the callback threw it. A transaction begun inside this one ({@link Propagation#REQUIRES_NEW}),
         * which this one waits for, ends by this deadline too, or by its own where that passes first.
         *
         * @param deadline from 1 millisecond to 24 hours
         * @return this builder
         */
        public Builder deadline(Duration deadline) {
            Objects.requireNonNull(deadline, "deadline");
            if (deadline.toMillis() < 1 || deadline.compareTo(Duration.ofHours(24)) > 0) {
                throw new IllegalArgumentException("deadline must be between 1 ms and 24 hours, but was " + deadline);
            }
            this.deadline = deadline;
            return this;
        }

        /**
         * Sets how many times the transaction may run, the first included (default 1: no retry). A failure that
         * {@link #retryOn(Predicate)} accepts rolls the transaction back and runs the callback again in a new one,
         * after a backoff, while attempts and the deadline allow. <b>The callback must be safe to run more than
         * once.</b>
         *
         * @param maxAttempts from 1 to {@value TransactionOptions#MAX_ATTEMPTS}
         * @return this builder
         */
        public Builder maxAttempts(int maxAttempts) {
            if (maxAttempts < 1 || maxAttempts > MAX_ATTEMPTS) {
                throw new IllegalArgumentException("maxAttempts must be between 1 and " + MAX_ATTEMPTS + ", but was "
                        + maxAttempts);
            }
            this.maxAttempts = maxAttempts;
            return this;
        }

        /**
         * Sets which failures are retried (default {@link TransactionOptions#isTransientFailure}: serialization
         * failures, deadlocks, connections lost before COMMIT, and statements prepared before DDL changed their
         * result).
         * {@link CommitOutcomeUnknownException} is never retried, whatever the predicate says.
         *
         * @param retryOn the rule
         * @return this builder
         */
        public Builder retryOn(Predicate<Throwable> retryOn) {
            this.retryOn = Objects.requireNonNull(retryOn, "retryOn");
            return this;
        }

        /**
         * Sets the backoff between attempts: "full jitter", a random pause between zero and
         * {@code min(max, initial * 2^(attempt - 1))} (defaults 10 ms and 1 s).
         *
         * @param initial the cap of the first pause, at least 1 millisecond
         * @param max     the cap of every pause, at least {@code initial}
         * @return this builder
         */
        public Builder backoff(Duration initial, Duration max) {
            Objects.requireNonNull(initial, "initial");
            Objects.requireNonNull(max, "max");
            if (initial.toMillis() < 1) {
                throw new IllegalArgumentException("backoff initial must be at least 1 ms, but was " + initial);
            }
            if (max.compareTo(initial) < 0) {
                throw new IllegalArgumentException("backoff max must be at least initial (" + initial.toMillis()
                        + " ms), but was " + max.toMillis() + " ms");
            }
            this.initialBackoff = initial;
            this.maxBackoff = max;
            return this;
        }

        /**
         * Labels the transaction, for error messages and logs.
         *
         * @param label 1 to {@value TransactionOptions#MAX_LABEL_LENGTH} printable ASCII characters
         * @return this builder
         */
        public Builder label(String label) {
            PrintableAscii.require(label, "label", MAX_LABEL_LENGTH, "");
            this.label = label;
            return this;
        }

        /**
         * Makes a read-only transaction that runs on a read replica wait until the replica has replayed the commit at
         * {@code position}, so that it sees that commit (read-your-writes): the manager checks the replica's replay
         * position before the transaction begins and, while it is behind, checks again for up to the manager's
         * {@linkplain SessionManager.Builder#replicaCatchUpTimeout(java.time.Duration) catch-up timeout} (never past
         * the deadline); then the transaction runs on the primary instead. Has no effect on a transaction that runs on
         * the primary anyway (it sees every commit) or that joins a running one.
         *
         * @param position where the commit to see stands, typically from {@link SessionManager#lastCommitPosition()}
         * @return this builder
         */
        public Builder notBefore(CommitPosition position) {
            this.notBefore = Objects.requireNonNull(position, "position");
            return this;
        }

        /**
         * Builds the options.
         *
         * @return immutable options
         * @throws IllegalStateException when the settings cannot work together
         */
        public TransactionOptions build() {
            if (deferrable && (isolation != Isolation.SERIALIZABLE || !Boolean.TRUE.equals(readOnly))) {
                throw new IllegalStateException("deferrable(true) needs isolation(SERIALIZABLE) and readOnly(true),"
                        + " but the isolation is " + (isolation == null ? "the database's" : isolation)
                        + " and the access mode " + (readOnly == null ? "the database's"
                                : readOnly ? "read-only" : "read-write")
                        + "; PostgreSQL would ignore DEFERRABLE");
            }
            if (propagation == Propagation.MANDATORY && maxAttempts > 1) {
                throw new IllegalStateException("maxAttempts " + maxAttempts + " cannot work with MANDATORY, which"
                        + " always joins a running transaction; only the transaction that begins is retried");
            }
            return new TransactionOptions(this);
        }
    }
}
